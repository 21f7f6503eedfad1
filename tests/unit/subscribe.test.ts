import { afterEach, describe, expect, it, vi } from 'vitest';
import { orderWithHistory, replayOf, subscribeToOrder } from '../../lib/orders/subscribe';
import { orderFrame, type OrderFrame } from '../../lib/notify/frames';
import { RequestError, UnavailableError } from '../../lib/errors';
import type { EngineContext } from '../../lib/engine';
import type { OrderItem } from '../../lib/aws/orders-table';

const ORDER_ID = '01JDZ6Q9YB2T3N4M5K6H7G8F9E';
const frameAt = (seq: number, status: OrderFrame['status']): OrderFrame => orderFrame({ orderId: ORDER_ID, status, seq, attempt: 1, atMs: Date.UTC(2026, 11, 2) + seq, meta: {} });
const HISTORY = [frameAt(1, 'pending'), frameAt(2, 'routing'), frameAt(3, 'building'), frameAt(4, 'submitted')];

/** The order as the store returns it: only what subscribe reads. */
const stored = (over: Partial<OrderItem> = {}): OrderItem => ({ orderId: ORDER_ID, owner: 'alice', lastFrame: HISTORY[3], history: HISTORY, ...over }) as OrderItem;

/** An engine whose store and notifier are in memory; `posted` records every frame sent to a connection, in order. */
const engine = (store: { get?: () => Promise<OrderItem | undefined>; addSubscriber?: () => Promise<OrderItem | undefined> }) => {
  const posted: Array<{ connectionId: string; seq: number }> = [];
  const calls: string[] = [];
  const ctx = {
    orders: {
      get: async () => (calls.push('get'), store.get ? store.get() : stored()),
      addSubscriber: async () => (calls.push('addSubscriber'), store.addSubscriber ? store.addSubscriber() : stored()),
    },
    notifier: {
      postDirect: async (_endpoint: string, connectionId: string, frame: OrderFrame) => {
        calls.push(`post ${frame.seq}`);
        posted.push({ connectionId, seq: frame.seq });
      },
    },
  } as unknown as EngineContext;
  return { ctx, posted, calls };
};

const params = { connectionId: 'conn-1', owner: 'alice', endpoint: 'http://127.0.0.1:3001', orderId: ORDER_ID };

const codeOf = async (run: () => Promise<unknown>): Promise<string> => {
  try {
    await run();
  } catch (error) {
    if (error instanceof RequestError || error instanceof UnavailableError) return error.code;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('replayOf', () => {
  it('without fromSeq, the current frame only; with it, the history from that seq on, in seq order', () => {
    expect(replayOf(stored(), undefined).map((f) => f.seq)).toEqual([4]);
    expect(replayOf(stored({ history: [HISTORY[2], HISTORY[0], HISTORY[3], HISTORY[1]] as OrderFrame[] }), 2).map((f) => f.seq)).toEqual([2, 3, 4]);
    expect(replayOf(stored(), 5)).toEqual([]);
  });

  it('an order recorded before the history existed replays its current frame when it is at or after fromSeq', () => {
    expect(replayOf(stored({ history: undefined }), 1).map((f) => f.seq)).toEqual([4]);
    expect(replayOf(stored({ history: [] }), 4).map((f) => f.seq)).toEqual([4]);
    expect(replayOf(stored({ history: undefined }), 5)).toEqual([]);
  });
});

describe('subscribeToOrder', () => {
  it('without fromSeq: subscribes, then sends the state the subscribing write returned', async () => {
    const { ctx, calls, posted } = engine({});
    await subscribeToOrder(ctx, params);
    expect(calls).toEqual(['addSubscriber', 'post 4']);
    expect(posted).toEqual([{ connectionId: 'conn-1', seq: 4 }]);
  });

  it('with fromSeq: the missed frames go out before the subscription exists, and only frames added since after it', async () => {
    const grown = stored({ lastFrame: frameAt(5, 'confirmed'), history: [...HISTORY, frameAt(5, 'confirmed')] });
    const { ctx, calls } = engine({ addSubscriber: async () => grown });
    await subscribeToOrder(ctx, { ...params, fromSeq: 2 });
    expect(calls).toEqual(['get', 'post 2', 'post 3', 'post 4', 'addSubscriber', 'post 5']);
  });

  it("another owner's order and an unknown id are the same NOT_FOUND, with nothing sent and nothing subscribed", async () => {
    for (const store of [{ get: async () => stored({ owner: 'mallory' }) }, { get: async () => undefined }]) {
      const { ctx, calls } = engine(store);
      expect(await codeOf(() => subscribeToOrder(ctx, { ...params, fromSeq: 1 }))).toBe('NOT_FOUND');
      expect(calls).toEqual(['get']);
    }
    const { ctx, posted } = engine({ addSubscriber: async () => undefined });
    expect(await codeOf(() => subscribeToOrder(ctx, params))).toBe('NOT_FOUND');
    expect(posted).toEqual([]);
  });
});

describe('orderWithHistory', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("gives the owner the current frame and every frame from seq 1; anyone else NOT_FOUND", async () => {
    const { ctx } = engine({});
    const out = await orderWithHistory(ctx, { owner: 'alice', orderId: ORDER_ID });
    expect(out.order.seq).toBe(4);
    expect(out.history.map((f) => f.seq)).toEqual([1, 2, 3, 4]);
    expect(await codeOf(() => orderWithHistory(ctx, { owner: 'mallory', orderId: ORDER_ID }))).toBe('NOT_FOUND');
  });

  it('a store that stays throttled past the read budget is UNAVAILABLE; a failure that is not capacity trouble is thrown as it is', async () => {
    // The retries' sleeps and the budget's clock on fake time: the 3 s budget passes at once.
    vi.useFakeTimers();
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    let reads = 0;
    const { ctx } = engine({ get: async () => (reads++, Promise.reject(throttled)) });
    const refused = codeOf(() => orderWithHistory(ctx, { owner: 'alice', orderId: ORDER_ID }));
    await vi.advanceTimersByTimeAsync(3_500);
    expect(await refused).toBe('UNAVAILABLE');
    expect(reads).toBeGreaterThan(1);
    vi.useRealTimers();
    const broken = new TypeError('a bug');
    const { ctx: buggy } = engine({ get: async () => Promise.reject(broken) });
    await expect(orderWithHistory(buggy, { owner: 'alice', orderId: ORDER_ID })).rejects.toBe(broken);
  });
});
