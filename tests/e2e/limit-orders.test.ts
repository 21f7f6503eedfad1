import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TestClient, seqs, statuses, type AnyFrame } from './support/ws-client';
import { e2e, ordersStillOpen, transactionsOf } from './support/stack';
import type { OrderFrame } from '../../lib/notify/frames';
import { DEFAULT_MOCK_SEED } from '../../lib/config';
import { setMarketSeed } from '../../lib/venues/market';
import { routeOrder } from '../../lib/routing';
import { resolveToken, type Token } from '../../lib/tokens';
import { firstPlannable, PLAN_AGAIN_FOR_MS, planCrossing, STEP_MS, type Crossing } from '../support/market-crossing';

/*
 * Limit orders against the running stack, triggered by its own watcher on the real clock. The market is a pure
 * function of the seed and the clock, so the test reads the next minutes of the same market the engine prices on
 * (the stack runs with the default seed) and picks a limit the price is above now and falls to later (or, for a sell,
 * is below now and rises to): the order must rest, then fill when the market gets there, by itself.
 */
setMarketSeed(DEFAULT_MOCK_SEED);

/** How far ahead a limit's crossing is looked for from a start time. */
const CROSSING_HORIZON_MS = 120_000;

const clients: TestClient[] = [];
const connect = async (account: string): Promise<TestClient> => {
  const client = await TestClient.connect(e2e().wsUrl, e2e().keys[account]);
  clients.push(client);
  return client;
};

afterAll(async () => {
  expect(await ordersStillOpen()).toEqual([]);
}, 40_000);

afterEach(async () => {
  const stray = await Promise.all(clients.map((client) => client.strayFrames()));
  await Promise.all(clients.splice(0).map((client) => client.close()));
  expect(stray.flat()).toEqual([]);
});

const USDC = resolveToken('USDC') as Token;
const SOL = resolveToken('SOL') as Token;
let counter = 0;
const limitOrder = (overrides: Record<string, unknown>) => ({
  action: 'execute',
  type: 'limit',
  slippage: 1,
  clientOrderId: `e2e-limit-${Date.now()}-${counter++}`,
  ...overrides,
});

const frameOf = (frames: AnyFrame[], status: string): OrderFrame => frames.find((f) => f.status === status) as unknown as OrderFrame;

describe('limit orders on the running stack', () => {
  it('a limit buy above the market fills at once, without resting', async () => {
    const client = await connect('alice');
    const price = Number(routeOrder({ side: 'buy', tokenIn: USDC, tokenOut: SOL, amountIn: 25_000_000n, slippageBps: 100 }, Date.now()).route.price);
    const request = limitOrder({ side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '25', limitPrice: (price * 1.05).toFixed(2) });
    client.send(request);
    const pending = (await client.next((f) => f.clientOrderId === request.clientOrderId)) as unknown as OrderFrame;
    const frames = [pending, ...(await client.orderFrames(pending.orderId))];
    expect(statuses(frames)).toEqual(['pending', 'routing', 'building', 'submitted', 'confirmed']);
    expect(pending.meta.order).toMatchObject({ type: 'limit', limitPrice: String(Number((price * 1.05).toFixed(2))) });
  });

  it('a limit order the market has not reached rests open, then fills by itself when the market gets there', async () => {
    // Planned from now: the market must not be at the limit at the placement either (a plan from 1 s later left that
    // second unchecked, and an order placed while the market was past its limit filled at once instead of resting).
    // In a calm stretch of the market no candidate has a plan from now: the first start time that has one, up to two
    // minutes on (firstPlannable), is waited for, and the order is placed then.
    const planned = firstPlannable(Date.now(), (startMs) => planCrossing(startMs, { horizonMs: CROSSING_HORIZON_MS }));
    expect(planned, 'the seeded market crosses some limit within two minutes of one of the start times tried').toBeDefined();
    const { startMs, crossing } = planned as { startMs: number; crossing: Crossing };
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startMs - Date.now())));
    const { order, crossesAtMs } = crossing;
    const client = await connect('bob');
    const request = limitOrder({ ...order });
    client.send(request);
    const pending = (await client.next((f) => f.clientOrderId === request.clientOrderId)) as unknown as OrderFrame;
    const opened = (await client.next((f) => f.orderId === pending.orderId)) as unknown as OrderFrame;
    expect(opened.status).toBe('open');
    expect(opened.meta.trigger).toMatchObject({ type: 'limit', limitPrice: String(Number(order.limitPrice)) });
    expect(Date.now()).toBeLessThan(crossesAtMs);

    const rest = await client.orderFrames(pending.orderId, crossesAtMs - Date.now() + 30_000);
    const frames = [pending, opened, ...rest];
    expect(statuses(frames)).toEqual(['pending', 'open', 'routing', 'building', 'submitted', 'confirmed']);
    expect(seqs(frames)).toEqual([1, 2, 3, 4, 5, 6]);
    const routing = frameOf(frames, 'routing');
    // Not before the market got there (to the sampling step and a slot).
    expect(Date.parse(routing.at)).toBeGreaterThanOrEqual(crossesAtMs - STEP_MS - 400);
    const executed = Number(frameOf(frames, 'confirmed').meta.executedPrice);
    if (order.side === 'buy') expect(executed).toBeLessThanOrEqual(Number(order.limitPrice));
    else expect(executed).toBeGreaterThanOrEqual(Number(order.limitPrice));
    expect(await transactionsOf(pending.orderId)).toBe(1);
    console.info(`limit trigger latency (price reached -> routing): ${Date.parse(routing.at) - crossesAtMs} ms`);
  }, PLAN_AGAIN_FOR_MS + CROSSING_HORIZON_MS + 60_000);

  it('a resting order ends expired at expiresAt, within seconds', async () => {
    const client = await connect('carol');
    const expiresAtMs = Date.now() + 3_000;
    const request = limitOrder({ side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '10', limitPrice: '1', expiresAt: new Date(expiresAtMs).toISOString() });
    client.send(request);
    const pending = (await client.next((f) => f.clientOrderId === request.clientOrderId)) as unknown as OrderFrame;
    const frames = [pending, ...(await client.orderFrames(pending.orderId, 20_000))];
    expect(statuses(frames)).toEqual(['pending', 'open', 'expired']);
    const expired = frameOf(frames, 'expired');
    expect(expired.meta).toEqual({ expiresAt: new Date(expiresAtMs).toISOString() });
    expect(Date.parse(expired.at)).toBeGreaterThanOrEqual(expiresAtMs);
    expect(await transactionsOf(pending.orderId)).toBe(0);
    console.info(`expiry lag (expiresAt -> expired): ${Date.parse(expired.at) - expiresAtMs} ms`);
  });
});
