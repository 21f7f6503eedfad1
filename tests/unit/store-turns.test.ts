import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreTurns } from '../../lib/accounts/store-turns';
import { queueForAdmission } from '../../lib/accounts/admission';
import { parseConfig } from '../../lib/config';
import type { EngineContext } from '../../lib/engine';
import { RequestError, UnavailableError } from '../../lib/errors';

/*
 * Turns at the store (lib/accounts/store-turns.ts): a bounded number of requests write at once, the others wait,
 * served round-robin across accounts, so that one account's flood does not queue ahead of another account's request.
 */

/** A request that runs until the test ends it. */
interface Held {
  started: boolean;
  finish: () => void;
  done: Promise<unknown>;
}

const hold = (turns: StoreTurns, account: string, log: string[], label: string, options: { beforeWaiting?: () => () => void } = {}): Held => {
  let finish: () => void = () => undefined;
  const held: Held = { started: false, finish: () => finish(), done: Promise.resolve() };
  held.done = turns.run(
    account,
    () =>
      new Promise<void>((resolve) => {
        held.started = true;
        log.push(label);
        finish = resolve;
      }),
    options,
  );
  held.done.catch(() => undefined);
  return held;
};

/** Lets the promise chains of started and finished requests settle. */
const settle = async (): Promise<void> => {
  for (let n = 0; n < 5; n++) await Promise.resolve();
};

const turns = (capacity: number, overrides: Partial<{ waitBudgetMs: number; maxWaiting: number }> = {}) =>
  new StoreTurns({ capacity, waitBudgetMs: 1_000, maxWaiting: 100, ...overrides });

describe('turns at the store', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs up to its capacity at once; the next starts when one ends', async () => {
    const store = turns(2);
    const log: string[] = [];
    const [a, b, c] = [hold(store, 'alice', log, 'a'), hold(store, 'alice', log, 'b'), hold(store, 'bob', log, 'c')];
    await settle();
    expect([a.started, b.started, c.started]).toEqual([true, true, false]);
    expect(store.load()).toEqual({ running: 2, waiting: { bob: 1 } });
    a.finish();
    await settle();
    expect(c.started).toBe(true);
    b.finish();
    c.finish();
    await Promise.all([a.done, b.done, c.done]);
    expect(store.load()).toEqual({ running: 0, waiting: {} });
  });

  it("serves waiting accounts in turn: another account's request does not wait behind a flood that came first", async () => {
    const store = turns(1);
    const log: string[] = [];
    const first = hold(store, 'flooder', log, 'f0');
    const flood = [1, 2, 3].map((n) => hold(store, 'flooder', log, `f${n}`));
    const victim = hold(store, 'victim', log, 'v');
    await settle();
    for (const request of [first, ...flood]) {
      request.finish();
      await settle();
      victim.finish();
      await settle();
    }
    await Promise.all([first.done, ...flood.map((request) => request.done), victim.done]);
    // First come, first served within the flooder's queue; the victim's one request is next after the flooder's first.
    expect(log).toEqual(['f0', 'f1', 'v', 'f2', 'f3']);
  });

  it('a request that waited out the budget is UNAVAILABLE, nothing recorded; its place in the queue is gone', async () => {
    const store = turns(1, { waitBudgetMs: 1_000 });
    const log: string[] = [];
    const running = hold(store, 'alice', log, 'running');
    const waiting = hold(store, 'bob', log, 'waiting');
    const refused = waiting.done.then(
      () => undefined,
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(1_000);
    const error = await refused;
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: 500, recorded: 'no' });
    expect(store.load()).toEqual({ running: 1, waiting: {} });
    running.finish();
    await running.done;
    expect(waiting.started).toBe(false);
    expect(store.load()).toEqual({ running: 0, waiting: {} });
  });

  it('a request that fails gives its turn back', async () => {
    const store = turns(1);
    await expect(store.run('alice', () => Promise.reject(new Error('store down')))).rejects.toThrow('store down');
    await expect(store.run('alice', () => Promise.resolve('next'))).resolves.toBe('next');
    expect(store.load()).toEqual({ running: 0, waiting: {} });
  });

  it('beforeWaiting may refuse a request (it is not queued), and is told once when a wait ends, either way', async () => {
    const store = turns(1, { waitBudgetMs: 1_000 });
    const log: string[] = [];
    const running = hold(store, 'alice', log, 'running');
    await expect(
      store.run('alice', () => Promise.resolve(), {
        beforeWaiting: () => {
          throw new RequestError('RATE_LIMITED', 'over the limit', [], { retryAfterMs: 20 });
        },
      }),
    ).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(store.load().waiting).toEqual({});

    const ended: string[] = [];
    const served = hold(store, 'alice', log, 'served', { beforeWaiting: () => () => ended.push('served') });
    const timedOut = hold(store, 'bob', log, 'timed out', { beforeWaiting: () => () => ended.push('timed out') });
    await settle();
    expect(ended).toEqual([]);
    running.finish();
    await settle();
    expect(ended).toEqual(['served']);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(timedOut.done).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(ended).toEqual(['served', 'timed out']);
    served.finish();
    await served.done;
  });

  it("an account with maxWaiting requests waiting has its next one refused at once; another account's still waits", async () => {
    const store = turns(1, { maxWaiting: 2 });
    const log: string[] = [];
    const running = hold(store, 'alice', log, 'running');
    const queued = [hold(store, 'alice', log, 'q1'), hold(store, 'alice', log, 'q2')];
    await expect(store.run('alice', () => Promise.resolve())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const other = hold(store, 'bob', log, 'bob');
    expect(store.load().waiting).toEqual({ alice: 2, bob: 1 });
    for (const request of [running, ...queued, other]) {
      request.finish();
      await settle();
    }
    for (const request of [running, ...queued, other]) request.finish();
    await Promise.all([running.done, ...queued.map((request) => request.done), other.done]);
    expect(log).toEqual(['running', 'q1', 'bob', 'q2']);
  });
});

describe('queueForAdmission: the requests waiting ahead count against the bucket', () => {
  // 5 orders/s (one per 200 ms), burst 3; messages unlimited so that only the order bucket decides.
  const config = parseConfig({
    ORDERS_TABLE: 'orders',
    CONNECTIONS_TABLE: 'connections',
    ACCOUNTS_TABLE: 'accounts',
    LEDGER_TABLE: 'ledger',
    LIMITS_TABLE: 'limits',
    ORDERS_QUEUE_NAME: 'orders',
    SNIPES_QUEUE_NAME: 'snipes',
    STATUS_QUEUE_NAME: 'status.fifo',
    LIMIT_ORDERS_PER_SECOND: '5',
    LIMIT_ORDERS_BURST: '3',
    LIMIT_MESSAGES_PER_SECOND: '0',
  });
  const ctx = { config, now: () => 1_764_000_000_000 } as unknown as EngineContext;

  it('admits to the queue as many as the burst holds, refuses the next RATE_LIMITED with the wait, and forgets those that left', () => {
    const owner = `queue-${Math.random()}`;
    const params = { owner, connectionId: 'conn-1', charge: 'order' as const };
    const waiting = [queueForAdmission(ctx, params), queueForAdmission(ctx, params), queueForAdmission(ctx, params)];
    let refused: unknown;
    try {
      queueForAdmission(ctx, params);
    } catch (error) {
      refused = error;
    }
    // Three waiting would take the bucket 600 ms ahead; its tolerance is 400 ms: the fourth waits 200 ms.
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 200 });
    // Quotes are another bucket: not refused for the orders waiting.
    expect(() => queueForAdmission(ctx, { ...params, charge: 'quote' })()).not.toThrow();
    // One left the queue (its turn came, or it gave up), twice: counted once. Room for one again, not two.
    waiting[0]?.();
    waiting[0]?.();
    const again = queueForAdmission(ctx, params);
    expect(() => queueForAdmission(ctx, params)).toThrow(RequestError);
    for (const release of [again, ...waiting]) release();
    expect(() => queueForAdmission(ctx, params)()).not.toThrow();
  });
});
