import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { drainStatusFrames, framesOf, placeTestOrder, takeMessages, testContext, useEngineEnv } from './support/engine';
import { purgeQueues, resource, sqsClient } from './support/stack';
import type { EngineContext } from '../../lib/engine';
import type { OrderFrame } from '../../lib/notify/frames';
import { RequestError } from '../../lib/errors';
import { TERMINAL_STATUSES } from '../../lib/orders/state-machine';

/*
 * `cancel` and `orders` (PROTOCOL.md v2) against DynamoDB Local and the SQS emulator: the listing pages the owner's
 * indexes (byOwner, openByOwner), the cancel is one write conditional on seq, and races the execution's own first
 * write (pending -> routing) safely.
 */
useEngineEnv();
const { executeOrderMessage } = await import('../../lib/orders/execute-order');
const { cancelOrder } = await import('../../lib/orders/cancel');
const { listOrders } = await import('../../lib/orders/list-orders');
const { advance } = await import('../../lib/orders/outcomes');

const sqs = sqsClient();
const ordersUrl = resource('OrdersQueue').url as string;
let ctx: EngineContext;

beforeAll(() => {
  ctx = testContext();
});
beforeEach(() => purgeQueues(sqs));
afterAll(() => sqs.destroy());

const newOwner = (): string => `list-${randomUUID()}`;

const refusal = async (run: () => Promise<unknown>): Promise<RequestError> => {
  try {
    await run();
  } catch (error) {
    if (error instanceof RequestError) return error;
    throw error;
  }
  throw new Error('expected a RequestError');
};

/** Every page of a listing, in order. */
const allPages = async (owner: string, status: 'open' | 'closed' | 'all', limit: number): Promise<OrderFrame[][]> => {
  const pages: OrderFrame[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const page = await listOrders(ctx, { owner, request: { status, limit, ...(cursor ? { cursor } : {}) } });
    pages.push(page.orders);
    if (page.cursor === null) return pages;
    cursor = page.cursor;
  }
  throw new Error('the listing never ended');
};

const placeMany = async (owner: string, count: number, over: (i: number) => Record<string, unknown> = () => ({})): Promise<string[]> => {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 10) {
    const batch = Array.from({ length: Math.min(10, count - start) }, (_, k) => placeTestOrder(ctx, over(start + k), owner));
    ids.push(...(await Promise.all(batch)));
  }
  return ids;
};

const newestFirst = (ids: string[]): string[] => [...ids].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));

/**
 * Runs an order's execution and a cancel of it: for a third of the orders at the same instant (the race), for a third
 * the cancel first and for a third the execution first (so that both outcomes occur, whatever the race's timing on
 * this machine). Resolves to whether the cancel won, and the cancel's NOT_CANCELLABLE status otherwise.
 */
const raceCancel = async (
  i: number,
  execute: () => Promise<unknown>,
  cancel: () => Promise<unknown>,
): Promise<{ cancelled: boolean; refusedWith?: string | undefined; raced: boolean }> => {
  const cancelled = (): Promise<{ cancelled: boolean; refusedWith?: string | undefined }> =>
    cancel().then(
      () => ({ cancelled: true }),
      (error: unknown) => {
        if (error instanceof RequestError && error.code === 'NOT_CANCELLABLE') return { cancelled: false, refusedWith: error.issues[0]?.message };
        throw error;
      },
    );
  if (i % 3 === 0) return { ...(await Promise.all([execute(), cancelled()]))[1], raced: true };
  if (i % 3 === 1) {
    const outcome = await cancelled();
    await execute();
    return { ...outcome, raced: false };
  }
  await execute();
  return { ...(await cancelled()), raced: false };
};

describe('orders: the caller\'s orders, newest first, from the indexes', () => {
  it('pages 120 orders 50 at a time: each listed exactly once, newest first; another account never listed', async () => {
    const owner = newOwner();
    const other = newOwner();
    // Some with a clientOrderId: their guard items share the table and must never be listed.
    const ids = await placeMany(owner, 120, (i) => (i % 3 === 0 ? { clientOrderId: `c-${i}` } : {}));
    const othersIds = await placeMany(other, 5, (i) => ({ clientOrderId: `c-${i}` }));
    await purgeQueues(sqs, ['OrdersQueue', 'StatusQueue']);

    const pages = await allPages(owner, 'all', 50);
    expect(pages.map((page) => page.length)).toEqual([50, 50, 20]);
    const listed = pages.flat().map((frame) => frame.orderId);
    expect(listed).toEqual(newestFirst(ids));
    expect(listed.filter((id) => othersIds.includes(id))).toEqual([]);
    // Each is its latest frame.
    for (const frame of pages.flat()) expect(frame).toMatchObject({ type: 'order', status: 'pending', seq: 1 });
    expect(pages.flat().filter((frame) => frame.clientOrderId !== undefined)).toHaveLength(40);

    const othersListing = (await allPages(other, 'all', 100)).flat().map((frame) => frame.orderId);
    expect(othersListing).toEqual(newestFirst(othersIds));

    // A page exactly as long as what is left ends with cursor null, not an empty page after it.
    const exact = await allPages(other, 'all', 5);
    expect(exact.map((page) => page.length)).toEqual([5]);
  }, 120_000);

  it('status open lists the non-terminal orders, closed the terminal ones; a cursor is its caller\'s and status\'s', async () => {
    const owner = newOwner();
    const ids = await placeMany(owner, 30);
    const cancelled = ids.filter((_, i) => i % 3 === 0);
    for (const orderId of cancelled) await cancelOrder(ctx, { owner, request: { orderId } });
    await purgeQueues(sqs, ['OrdersQueue', 'StatusQueue']);

    const open = (await allPages(owner, 'open', 7)).flat();
    expect(open.map((f) => f.orderId)).toEqual(newestFirst(ids.filter((id) => !cancelled.includes(id))));
    expect(open.every((f) => f.status === 'pending')).toBe(true);
    const closed = (await allPages(owner, 'closed', 4)).flat();
    expect(closed.map((f) => f.orderId)).toEqual(newestFirst(cancelled));
    expect(closed.every((f) => f.status === 'cancelled')).toBe(true);
    expect((await allPages(owner, 'all', 100)).flat().map((f) => f.orderId)).toEqual(newestFirst(ids));

    const first = await listOrders(ctx, { owner, request: { status: 'open', limit: 5 } });
    expect(first.cursor).not.toBeNull();
    const foreign = await refusal(() => listOrders(ctx, { owner: newOwner(), request: { status: 'open', limit: 5, cursor: first.cursor as string } }));
    expect(foreign.code).toBe('VALIDATION_FAILED');
    expect(foreign.issues[0]?.path).toBe('cursor');
    const otherStatus = await refusal(() => listOrders(ctx, { owner, request: { status: 'closed', limit: 5, cursor: first.cursor as string } }));
    expect(otherStatus.issues[0]?.path).toBe('cursor');
  }, 60_000);

  it('an account without orders gets an empty page and no cursor', async () => {
    await expect(listOrders(ctx, { owner: newOwner(), request: { status: 'all', limit: 50 } })).resolves.toEqual({ type: 'orders', orders: [], cursor: null });
  });

  it('a page whose frames would not fit the WebSocket frame is cut short and the cursor goes on from there', async () => {
    const owner = newOwner();
    const ids = await placeMany(owner, 12);
    await purgeQueues(sqs, ['OrdersQueue', 'StatusQueue']);
    const frameBytes = Buffer.byteLength(JSON.stringify((await ctx.orders.get(ids[0] as string))?.lastFrame));
    // Room for about 4 frames beside the envelope.
    const maxBytes = 1_024 + frameBytes * 4 + 20;
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await listOrders(ctx, { owner, request: { status: 'all', limit: 100, ...(cursor ? { cursor } : {}) }, maxBytes });
      expect(page.orders.length).toBeGreaterThan(0);
      expect(page.orders.length).toBeLessThanOrEqual(4);
      seen.push(...page.orders.map((f) => f.orderId));
      if (page.cursor === null) break;
      cursor = page.cursor;
    }
    expect(seen).toEqual(newestFirst(ids));
  }, 60_000);
});

describe('cancel', () => {
  it('cancels a pending order: one conditional write to cancelled, its frame published, its message then dropped', async () => {
    const owner = newOwner();
    const orderId = await placeTestOrder(ctx, {}, owner);
    const [message] = await takeMessages(sqs, ordersUrl, 1);
    await drainStatusFrames(sqs);

    // placeTestOrder subscribes connection conn-test: it gets the frame from the order's stream.
    const cancelled = await cancelOrder(ctx, { owner, request: { orderId }, connectionId: 'conn-test' });
    expect(cancelled.deliveredToCaller).toBe(true);
    expect(cancelled.frame).toMatchObject({ type: 'order', orderId, status: 'cancelled', seq: 2, attempt: 1, meta: { reason: 'client' } });
    const stored = await ctx.orders.get(orderId);
    expect(stored?.status).toBe('cancelled');
    expect(stored?.history?.map((f) => f.status)).toEqual(['pending', 'cancelled']);
    expect(stored?.openOwner).toBeUndefined();
    expect(stored?.openShard).toBeUndefined();
    expect(framesOf(await drainStatusFrames(sqs), orderId)).toEqual([cancelled.frame]);

    // The execution finds it terminal: nothing is routed or sent.
    await expect(executeOrderMessage(ctx, { messageId: message!.messageId, body: message!.body, receiveCount: 1, deadlineMs: Date.now() + 25_000 })).resolves.toEqual({ kind: 'done' });
    const after = await ctx.orders.get(orderId);
    expect(after?.seq).toBe(2);
    expect(after?.tx).toBeUndefined();
    expect(framesOf(await drainStatusFrames(sqs), orderId)).toEqual([]);

    // Again: it is terminal now.
    const again = await refusal(() => cancelOrder(ctx, { owner, request: { orderId } }));
    expect(again.code).toBe('NOT_CANCELLABLE');
    expect(again.issues).toEqual([{ path: 'status', message: 'cancelled' }]);
  });

  it('by clientOrderId; a connection that does not follow the order gets the frame as the answer', async () => {
    const owner = newOwner();
    const orderId = await placeTestOrder(ctx, { clientOrderId: 'to-cancel' }, owner);
    const cancelled = await cancelOrder(ctx, { owner, request: { clientOrderId: 'to-cancel' }, connectionId: 'another-connection' });
    expect(cancelled.deliveredToCaller).toBe(false);
    expect(cancelled.frame).toMatchObject({ orderId, clientOrderId: 'to-cancel', status: 'cancelled' });
  });

  it("another account's order, an unknown id or clientOrderId: NOT_FOUND, and the order is untouched", async () => {
    const owner = newOwner();
    const orderId = await placeTestOrder(ctx, { clientOrderId: 'mine' }, owner);
    const intruder = newOwner();
    for (const request of [{ orderId }, { clientOrderId: 'mine' }]) {
      const error = await refusal(() => cancelOrder(ctx, { owner: intruder, request }));
      expect(error.code).toBe('NOT_FOUND');
    }
    const unknownId = await refusal(() => cancelOrder(ctx, { owner, request: { orderId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' } }));
    expect(unknownId.code).toBe('NOT_FOUND');
    expect(unknownId.issues[0]?.path).toBe('orderId');
    const unknownClient = await refusal(() => cancelOrder(ctx, { owner, request: { clientOrderId: 'never-used' } }));
    expect(unknownClient.code).toBe('NOT_FOUND');
    expect(unknownClient.issues[0]?.path).toBe('clientOrderId');
    expect((await ctx.orders.get(orderId))?.status).toBe('pending');
  });

  it('a cancel whose write landed but whose answer was lost (a timeout) is recognised on the retry, its frame published once', async () => {
    const owner = newOwner();
    const flaky = testContext();
    const orderId = await placeTestOrder(flaky, {}, owner);
    await purgeQueues(sqs, ['OrdersQueue']);
    await drainStatusFrames(sqs);
    const transition = flaky.orders.transition.bind(flaky.orders);
    let calls = 0;
    flaky.orders.transition = async (params) => {
      calls++;
      const written = await transition(params);
      if (calls === 1) throw Object.assign(new Error('socket timed out after the write'), { name: 'TimeoutError' });
      return written;
    };
    const cancelled = await cancelOrder(flaky, { owner, request: { orderId }, connectionId: 'conn-test' });
    expect(calls).toBe(2); // the retry lost to the first try's own write
    expect(cancelled.frame).toMatchObject({ orderId, status: 'cancelled', seq: 2, meta: { reason: 'client' } });
    const stored = await ctx.orders.get(orderId);
    expect(stored?.history?.map((f) => f.status)).toEqual(['pending', 'cancelled']);
    // Published by the recovery (the first try's publish never ran): the subscribers get it exactly once.
    expect(framesOf(await drainStatusFrames(sqs), orderId)).toEqual([cancelled.frame]);
  });

  it('an order that moved on to routing is NOT_CANCELLABLE, with its status', async () => {
    const owner = newOwner();
    const orderId = await placeTestOrder(ctx, {}, owner);
    const order = await ctx.orders.get(orderId);
    await advance(ctx, order!, 'routing', { meta: {} });
    const error = await refusal(() => cancelOrder(ctx, { owner, request: { orderId } }));
    expect(error.code).toBe('NOT_CANCELLABLE');
    expect(error.issues).toEqual([{ path: 'status', message: 'routing' }]);
    expect((await ctx.orders.get(orderId))?.status).toBe('routing');
  });

  it('races the execution 50 times: each order ends exactly once, cancelled without ever routing or routed without being cancelled', async () => {
    const owner = newOwner();
    const ids = await placeMany(owner, 50);
    const messages = await takeMessages(sqs, ordersUrl, 50);
    expect(messages).toHaveLength(50);
    const byOrder = new Map(messages.map((m) => [(JSON.parse(m.body) as { orderId: string }).orderId, m]));
    const outcomes = await Promise.all(
      ids.map(async (orderId, i) => {
        const message = byOrder.get(orderId)!;
        const cancel = await raceCancel(
          i,
          () => executeOrderMessage(ctx, { messageId: message.messageId, body: message.body, receiveCount: 1, deadlineMs: Date.now() + 25_000 }),
          () => cancelOrder(ctx, { owner, request: { orderId } }),
        );
        return { orderId, cancel };
      }),
    );
    let cancelledCount = 0;
    for (const { orderId, cancel } of outcomes) {
      const order = await ctx.orders.get(orderId);
      const statuses = order?.history?.map((f) => f.status) ?? [];
      // Seqs 1..n without a gap, exactly one terminal frame, and it is the last.
      expect(order?.history?.map((f) => f.seq)).toEqual(statuses.map((_, k) => k + 1));
      expect(statuses.filter((s) => TERMINAL_STATUSES.has(s)), orderId).toHaveLength(1);
      expect(TERMINAL_STATUSES.has(order!.status)).toBe(true);
      if (cancel.cancelled) {
        cancelledCount++;
        expect(statuses, orderId).toEqual(['pending', 'cancelled']);
        expect(order?.tx).toBeUndefined();
      } else {
        expect(statuses, orderId).toContain('routing');
        expect(statuses, orderId).not.toContain('cancelled');
        expect(['routing', 'building', 'submitted', 'confirmed', 'failed']).toContain(cancel.refusedWith);
      }
    }
    expect(cancelledCount).toBeGreaterThan(0);
    expect(cancelledCount).toBeLessThan(50);
    const raced = outcomes.filter((o) => o.cancel.raced);
    console.info(`pending cancel vs execution, ${raced.length} true races: ${raced.filter((o) => o.cancel.cancelled).length} cancelled`);
  }, 120_000);
});

// Cancel racing a resting order's trigger: tests/integration/cancel-trigger-race.test.ts.
