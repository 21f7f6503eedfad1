import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TestClient, seqs, statuses } from './support/ws-client';
import { e2e, ordersStillOpen, transactionsOf } from './support/stack';
import type { OrderFrame } from '../../lib/notify/frames';

/*
 * Sniper orders (PROTOCOL.md v2 `snipe`) on the running stack: armed before a launch opens, a snipe rests `open`, the
 * watcher hands it to the snipes queue just before the open time, and it executes in the first slot at or after it.
 * Launches are made on demand with the test hook `mockLaunch` (the stack runs with MOCK_TEST_HOOKS).
 */
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

const symbol = (): string => `S${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
type LaunchEntry = { symbol: string; mint: string; dex: string; openTime: string; poolId: string | null };

const mockLaunch = async (client: TestClient, request: Record<string, unknown>): Promise<LaunchEntry> => {
  client.send({ action: 'mockLaunch', ...request });
  const frame = await client.next((f) => f.type === 'launches');
  return (frame.launches as LaunchEntry[])[0] as LaunchEntry;
};

const snipe = async (client: TestClient, request: Record<string, unknown>): Promise<OrderFrame> => {
  client.send({ action: 'execute', type: 'snipe', side: 'buy', tokenIn: 'USDC', amount: '5', slippage: 5, ...request });
  return (await client.next((f) => f.type === 'order' && f.status === 'pending')) as unknown as OrderFrame;
};

describe('snipe orders', () => {
  it('armed before the launch opens, a snipe rests open and fills after the open time, not before', async () => {
    const client = await connect('dave');
    const launch = await mockLaunch(client, { symbol: symbol(), dex: 'raydium', quoteToken: 'USDC', price: '0.001', openInSeconds: 6 });
    const openMs = Date.parse(launch.openTime);
    const pending = await snipe(client, { tokenOut: launch.symbol });
    const opened = (await client.next((f) => f.orderId === pending.orderId)) as unknown as OrderFrame;
    expect(opened.status).toBe('open');
    expect(opened.meta.trigger).toMatchObject({ type: 'snipe', launch: { symbol: launch.symbol, mint: launch.mint, openTime: launch.openTime } });
    expect(Date.now()).toBeLessThan(openMs);

    const frames = [pending, opened, ...(await client.orderFrames(pending.orderId, 40_000))];
    expect(statuses(frames)).toEqual(['pending', 'open', 'routing', 'building', 'submitted', 'confirmed']);
    expect(seqs(frames)).toEqual([1, 2, 3, 4, 5, 6]);
    const routing = frames[2] as OrderFrame;
    expect(Date.parse(routing.at)).toBeGreaterThanOrEqual(openMs);
    // The creation event that armed it: Raydium AMM v4 initialize2 of this launch's pool.
    expect(routing.meta.pool).toMatchObject({
      dex: 'raydium',
      program: '675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8',
      instruction: 'initialize2',
      poolId: launch.poolId,
      mints: [launch.mint, 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v'],
      openTime: launch.openTime,
    });
    const confirmed = frames.at(-1) as OrderFrame;
    // About 5 / 0.001 = 5,000 tokens, less the fee and the thin pool's price impact.
    expect(Number(confirmed.meta.amountOut)).toBeGreaterThan(4_900);
    expect(Number(confirmed.meta.amountOut)).toBeLessThan(5_000);
    expect(await transactionsOf(pending.orderId)).toBe(1);
    console.info(`snipe: open time -> routing ${Date.parse(routing.at) - openMs} ms, -> confirmed ${Date.parse(confirmed.at) - openMs} ms`);
  }, 60_000);

  it('a snipe whose limitPrice the new pool cannot give sends nothing and ends expired', async () => {
    const client = await connect('erin');
    const launch = await mockLaunch(client, { symbol: symbol(), dex: 'meteora', quoteToken: 'USDC', price: '0.001', openInSeconds: 3 });
    const expiresAt = new Date(Date.parse(launch.openTime) + 4_000).toISOString();
    const pending = await snipe(client, { tokenOut: launch.mint, limitPrice: '0.0005', expiresAt });
    const frames = [pending, ...(await client.orderFrames(pending.orderId, 30_000))];
    expect(statuses(frames)).toEqual(['pending', 'open', 'expired']);
    expect(await transactionsOf(pending.orderId)).toBe(0);
  }, 60_000);
});
