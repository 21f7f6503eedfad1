import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { placeTestOrder, takeMessages, testContext } from './support/engine';
import { purgeQueues, queueDepth, resource, sqsClient } from './support/stack';
import type { EngineContext } from '../../lib/engine';

import { executeOrderMessage } from '../../lib/orders/execute-order';
import { FIRST_PENDING_STALE_AFTER_MS, resumeOpenOrders, runSweeper, sweepFirstPending, sweepStaleOrders } from '../../lib/orders/sweep';

const sqs = sqsClient();
const ordersUrl = (): string => resource('OrdersQueue').url as string;
let ctx: EngineContext;
/** The same engine eleven minutes later: past SWEEP_STALE_AFTER_SECONDS (600). */
let later: EngineContext;
/** The same engine just past FIRST_PENDING_STALE_AFTER_MS. */
let soon: EngineContext;

beforeAll(() => {
  ctx = testContext();
  later = testContext(() => Date.now() + 11 * 60_000);
  soon = testContext(() => Date.now() + FIRST_PENDING_STALE_AFTER_MS + 1_000);
});
beforeEach(() => purgeQueues(sqs));
// The sweeps requeue every order that earlier files left pending: leave no such message to the files that follow.
afterAll(async () => {
  await purgeQueues(sqs);
  sqs.destroy();
});

const placeAndLoseMessage = async (): Promise<{ orderId: string; messageId: string; body: string }> => {
  const orderId = await placeTestOrder(ctx, {}, 'acct-sweep');
  const [message] = await takeMessages(sqs, ordersUrl(), 1);
  return { orderId, messageId: message!.messageId, body: message!.body };
};

describe('sweeper: the backstop for an order whose message was lost', () => {
  it('enqueues again an order that stopped moving, and the order then completes', async () => {
    const { orderId } = await placeAndLoseMessage();
    expect((await queueDepth(sqs, ordersUrl())).total).toBe(0);

    // Not stale yet: nothing happens now.
    expect((await sweepStaleOrders(ctx)).requeued).not.toContain(orderId);

    const { requeued } = await sweepStaleOrders(later);
    expect(requeued).toContain(orderId);
    // Both sweeps also requeued what earlier test files left at their first pending: drain the queue to find ours.
    const messages = await takeMessages(sqs, ordersUrl(), Number.MAX_SAFE_INTEGER);
    const mine = messages.find((m) => JSON.parse(m.body).orderId === orderId);
    expect(mine).toBeDefined();
    expect(mine).toBeDefined();

    const outcome = await executeOrderMessage(ctx, { messageId: mine!.messageId, body: mine!.body, receiveCount: 1, deadlineMs: Date.now() + 25_000 });
    expect(outcome).toEqual({ kind: 'done' });
    const order = await ctx.orders.get(orderId);
    expect(order?.status).toBe('confirmed');
    expect(order?.openShard).toBeUndefined();
  });

  it('leaves terminal orders alone: a finished order leaves the index', async () => {
    const { orderId, messageId, body } = await placeAndLoseMessage();
    await executeOrderMessage(ctx, { messageId, body, receiveCount: 1, deadlineMs: Date.now() + 25_000 });
    expect((await ctx.orders.get(orderId))?.status).toBe('confirmed');
    expect((await sweepStaleOrders(later)).requeued).not.toContain(orderId);
  });
});

describe('watchdog: an order recorded but never enqueued starts within seconds', () => {
  it('enqueues an order still at its first pending once FIRST_PENDING_STALE_AFTER_MS has passed, not before', async () => {
    const { orderId } = await placeAndLoseMessage();
    expect((await sweepFirstPending(ctx)).requeued).not.toContain(orderId);
    const { requeued } = await sweepFirstPending(soon);
    expect(requeued).toContain(orderId);
    // Both sweeps also requeued what earlier test files left at their first pending: drain the queue to find ours.
    const messages = await takeMessages(sqs, ordersUrl(), Number.MAX_SAFE_INTEGER);
    const mine = messages.find((m) => JSON.parse(m.body).orderId === orderId);
    expect(mine).toBeDefined();
    const outcome = await executeOrderMessage(ctx, { messageId: mine!.messageId, body: mine!.body, receiveCount: 1, deadlineMs: Date.now() + 25_000 });
    expect(outcome).toEqual({ kind: 'done' });
    expect((await ctx.orders.get(orderId))?.status).toBe('confirmed');
  });

  it('leaves an order that has moved past its first pending to the stale sweep', async () => {
    const { orderId, messageId, body } = await placeAndLoseMessage();
    await executeOrderMessage(ctx, { messageId, body, receiveCount: 1, deadlineMs: Date.now() + 25_000 });
    expect((await sweepFirstPending(soon)).requeued).not.toContain(orderId);
  });

  it('a scheduled invocation sweeps once, then watches every 5 s until its time is nearly spent', async () => {
    let remaining = 60_000;
    const sleeps: number[] = [];
    await runSweeper(ctx, {
      remainingMs: () => remaining,
      sleep: async (ms) => {
        sleeps.push(ms);
        remaining -= ms;
      },
    });
    // Looks at 60, 55, ..., 10 s remaining (11 looks, 10 pauses): it stops once a pause and the 8 s margin no longer fit.
    expect(sleeps).toHaveLength(10);
    expect(sleeps.every((ms) => ms === 5_000)).toBe(true);
  });
});

describe('resume: after a whole-stack restart every open order is taken up at once', () => {
  it('enqueues every non-terminal order, however recent, and no terminal one', async () => {
    const open = await placeAndLoseMessage();
    const done = await placeAndLoseMessage();
    await executeOrderMessage(ctx, { messageId: done.messageId, body: done.body, receiveCount: 1, deadlineMs: Date.now() + 25_000 });
    const { requeued } = await resumeOpenOrders(ctx);
    expect(requeued).toContain(open.orderId);
    expect(requeued).not.toContain(done.orderId);
    expect((await queueDepth(sqs, ordersUrl())).total).toBe(requeued.length);
  });
});
