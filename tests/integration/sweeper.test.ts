import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { placeTestOrder, takeMessages, testContext } from './support/engine';
import { purgeQueues, queueDepth, resource, sqsClient } from './support/stack';
import type { EngineContext } from '../../lib/orders/context';

import { executeOrderMessage } from '../../lib/orders/execute-order';
import { sweepStaleOrders } from '../../lib/orders/sweep';

const sqs = sqsClient();
const ordersUrl = (): string => resource('OrdersQueue').url as string;
let ctx: EngineContext;
/** The same engine eleven minutes later: past SWEEP_STALE_AFTER_SECONDS (600). */
let later: EngineContext;

beforeAll(() => {
  ctx = testContext();
  later = testContext(() => Date.now() + 11 * 60_000);
});
beforeEach(() => purgeQueues(sqs));
afterAll(() => sqs.destroy());

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
    const messages = await takeMessages(sqs, ordersUrl(), requeued.length);
    const mine = messages.find((m) => JSON.parse(m.body).orderId === orderId);
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
