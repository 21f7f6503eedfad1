import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { drainStatusFrames, framesOf, placeTestOrder, takeMessages, testContext, bySeq } from './support/engine';
import { purgeQueues, resource, sqsClient } from './support/stack';
import type { EngineContext } from '../../lib/engine';
import { executeOrderMessage } from '../../lib/orders/execute-order';
import { Watcher } from '../../lib/orders/watcher';
import { routeOrder } from '../../lib/routing';
import { resolveToken, type Token } from '../../lib/tokens';
import type { OrderSpec } from '../../lib/venues/route';
import type { OrderFrame } from '../../lib/notify/frames';
import { planLaterCrossing } from '../support/market-crossing';

/*
 * Limit orders against DynamoDB Local and the queues, the watcher run tick by tick. The market is a pure function of
 * the seed and the clock, so a test finds, from the same market the engine prices on, a time ahead at which the price
 * has moved past a limit, and runs the engine at that time (an engine context with a clock that far ahead).
 */
const sqs = sqsClient();
const ordersUrl = (): string => resource('OrdersQueue').url as string;
const USDC = resolveToken('USDC') as Token;
const SOL = resolveToken('SOL') as Token;
const spec: OrderSpec = { side: 'buy', tokenIn: USDC, tokenOut: SOL, amountIn: 25_000_000n, slippageBps: 100 };
const priceAt = (tMs: number): number => Number(routeOrder(spec, tMs).route.price);

let ctx: EngineContext;
/** A limit order that rests now and that the market reaches later (a buy when it falls, a sell when it rises). */
let resting: ReturnType<typeof planLaterCrossing>;
/** The engine at the time the market has gone 0.4 % past the price now, in the order's favour. */
let reached: EngineContext;
let limitBelowNow: string;

beforeAll(() => {
  ctx = testContext();
  const nowMs = Date.now();
  resting = planLaterCrossing(nowMs);
  reached = testContext(() => Date.now() + (resting.reachedAtMs - nowMs));
  // A buy limit far below the market: it rests whatever the market does during the test.
  limitBelowNow = (priceAt(nowMs) * 0.5).toFixed(2);
});
// Earlier files leave messages behind (the sweeper's tests requeue every order other files left pending): each test
// starts from empty queues, and takes every message to find its own.
beforeEach(() => purgeQueues(sqs));
afterAll(() => sqs.destroy());

/**
 * Executes every queued message of `orderId` (others are left to their tests), with the engine `at`. The delivery's
 * deadline is on the engine's clock, as the handler computes it: a wall-clock deadline under an engine set hours ahead
 * would read as passed, and the execution would give the order back at `submitted` before its landing.
 */
const executeQueued = async (at: EngineContext, orderId: string): Promise<number> => {
  const messages = (await takeMessages(sqs, ordersUrl(), Number.MAX_SAFE_INTEGER)).filter((m) => (JSON.parse(m.body) as { orderId: string }).orderId === orderId);
  for (const m of messages) await executeOrderMessage(at, { messageId: m.messageId, body: m.body, receiveCount: 1, deadlineMs: at.now() + 25_000 });
  return messages.length;
};

const statusesOf = (frames: OrderFrame[]): string[] => bySeq(frames).map((f) => f.status);

describe('limit orders', () => {
  it('a limit buy placed above the market fills at once, never resting', async () => {
    const orderId = await placeTestOrder(ctx, { type: 'limit', limitPrice: (priceAt(Date.now()) * 1.05).toFixed(2) }, 'acct-limit-1');
    expect(await executeQueued(ctx, orderId)).toBe(1);
    const order = await ctx.orders.get(orderId);
    expect(order?.status).toBe('confirmed');
    expect(order?.history?.map((f) => f.status)).toEqual(['pending', 'routing', 'building', 'submitted', 'confirmed']);
    expect(Number(order?.lastFrame.meta.executedPrice)).toBeLessThanOrEqual(Number(order?.request.limitPrice));
  });

  it('a limit order the market has not reached rests open, is left alone by the watcher, and fills when the market gets there', async () => {
    const { order } = resting;
    const orderId = await placeTestOrder(ctx, { type: 'limit', ...order }, 'acct-limit-2');
    await executeQueued(ctx, orderId);
    const rested = await ctx.orders.get(orderId);
    expect(rested?.status).toBe('open');
    expect(rested?.restKey).toBe(order.side === 'buy' ? 'limit#SOL/USDC#acquire' : 'limit#SOL/USDC#dispose');
    expect(rested?.openShard).toBeUndefined();
    const trigger = rested?.lastFrame.meta.trigger as Record<string, unknown>;
    expect(trigger).toMatchObject({ type: 'limit', limitPrice: order.limitPrice });
    if (order.side === 'buy') expect(Number(trigger.lastPrice)).toBeGreaterThan(Number(order.limitPrice));
    else expect(Number(trigger.lastPrice)).toBeLessThan(Number(order.limitPrice));

    // Now: the price is above the limit. Nothing triggers, nothing is written.
    expect((await new Watcher(ctx).tick()).triggered).not.toContain(orderId);
    expect((await ctx.orders.get(orderId))?.seq).toBe(rested?.seq);

    // Later, the market has gone past the limit: the watcher enqueues it and the execution fills it.
    expect((await new Watcher(reached).tick()).triggered).toContain(orderId);
    expect(await executeQueued(reached, orderId)).toBe(1);
    const filled = await ctx.orders.get(orderId);
    expect(filled?.status).toBe('confirmed');
    expect(filled?.history?.map((f) => f.status)).toEqual(['pending', 'open', 'routing', 'building', 'submitted', 'confirmed']);
    const executedPrice = Number(filled?.lastFrame.meta.executedPrice);
    if (order.side === 'buy') expect(executedPrice).toBeLessThanOrEqual(Number(order.limitPrice));
    else expect(executedPrice).toBeGreaterThanOrEqual(Number(order.limitPrice));
    expect(filled?.restKey).toBeUndefined();
    expect(filled?.restShard).toBeUndefined();
    // The route's minAmountOut was held to the limit: the amount at the limit price (a buy: in / limit; a sell: in x limit).
    const building = filled?.history?.find((f) => f.status === 'building');
    const minOut = Number((building?.meta.route as { minAmountOut: string }).minAmountOut);
    const atLimit = order.side === 'buy' ? Number(order.amount) / Number(order.limitPrice) : Number(order.amount) * Number(order.limitPrice);
    expect(minOut).toBeGreaterThanOrEqual(atLimit * (1 - 1e-9));
    // Frames went out in order with no gap.
    const frames = framesOf(await drainStatusFrames(sqs), orderId);
    expect(statusesOf(frames)).toEqual(['open', 'routing', 'building', 'submitted', 'confirmed']);
  });

  it('a triggered order whose landing fails on price goes back to open with lastError, then fills on the next trigger', async () => {
    const orderId = await placeTestOrder(
      ctx,
      { type: 'limit', limitPrice: (priceAt(Date.now()) * 1.05).toFixed(2), mockFailures: { '1': 'SLIPPAGE_EXCEEDED' } },
      'acct-limit-3',
    );
    await executeQueued(ctx, orderId);
    const missed = await ctx.orders.get(orderId);
    expect(missed?.status).toBe('open');
    expect(missed?.attempt).toBe(2);
    expect(missed?.priceMisses).toBe(1);
    expect((missed?.lastFrame.meta.lastError as { code: string }).code).toBe('SLIPPAGE_EXCEEDED');
    expect(missed?.restKey).toBe('limit#SOL/USDC#acquire');

    expect((await new Watcher(ctx).tick()).triggered).toContain(orderId);
    await executeQueued(ctx, orderId);
    const filled = await ctx.orders.get(orderId);
    expect(filled?.status).toBe('confirmed');
    expect(filled?.attempt).toBe(2);
    expect(filled?.history?.map((f) => `${f.status}#${f.attempt}`)).toEqual([
      'pending#1', 'routing#1', 'building#1', 'submitted#1', 'open#2', 'routing#2', 'building#2', 'submitted#2', 'confirmed#2',
    ]);
  });

  it('a resting order ends expired at expiresAt, and the watcher leaves an unexpired one resting', async () => {
    const expiresAt = new Date(Date.now() + 2_000).toISOString();
    const orderId = await placeTestOrder(ctx, { type: 'limit', limitPrice: limitBelowNow, expiresAt }, 'acct-limit-4');
    await executeQueued(ctx, orderId);
    expect((await ctx.orders.get(orderId))?.status).toBe('open');
    expect((await new Watcher(ctx).tick()).expired).not.toContain(orderId);

    const afterExpiry = testContext(() => Date.now() + 3_000);
    expect((await new Watcher(afterExpiry).tick()).expired).toContain(orderId);
    const expired = await ctx.orders.get(orderId);
    expect(expired?.status).toBe('expired');
    expect(expired?.lastFrame.meta).toEqual({ expiresAt });
    expect(expired?.restShard).toBeUndefined();
    // Ended once: a second tick finds nothing to do.
    expect((await new Watcher(afterExpiry).tick()).expired).not.toContain(orderId);
  });

  it('an order whose message arrives after its expiry ends expired without executing', async () => {
    const expiresAt = new Date(Date.now() + 1_000).toISOString();
    const orderId = await placeTestOrder(ctx, { type: 'limit', limitPrice: (priceAt(Date.now()) * 1.05).toFixed(2), expiresAt }, 'acct-limit-5');
    await executeQueued(testContext(() => Date.now() + 2_000), orderId);
    const order = await ctx.orders.get(orderId);
    expect(order?.history?.map((f) => f.status)).toEqual(['pending', 'open', 'expired']);
    expect(order?.tx).toBeUndefined();
  });
});
