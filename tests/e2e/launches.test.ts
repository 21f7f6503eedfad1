import { afterAll, afterEach, describe, expect, it } from 'vitest';
import bs58 from 'bs58';
import { TestClient, statuses, type AnyFrame } from './support/ws-client';
import { e2e, ordersStillOpen } from './support/stack';
import type { OrderFrame } from '../../lib/notify/frames';

/*
 * Pool launches on the mock chain (PROTOCOL.md v2 `launches`, `mockLaunch`), through a running stack: a launch made on
 * demand is listed; a market order on its pair fails on chain before the pool opens (the program refuses the swap, the
 * fee is paid) and confirms after it. The stack runs with MOCK_TEST_HOOKS (tests/e2e/support/spawn-stack.ts).
 */

const open: TestClient[] = [];
const connect = async (account = 'carol'): Promise<TestClient> => {
  const client = await TestClient.connect(e2e().wsUrl, e2e().keys[account]);
  open.push(client);
  return client;
};

afterAll(async () => {
  expect(await ordersStillOpen()).toEqual([]);
}, 40_000);

afterEach(async () => {
  const stray = await Promise.all(open.map((client) => client.strayFrames()));
  await Promise.all(open.splice(0).map((client) => client.close()));
  expect(stray.flat()).toEqual([]);
});

// Symbols are taken once per stack: each test run makes its own.
const symbol = (): string => `T${Math.random().toString(36).slice(2, 8).toUpperCase()}`;

type LaunchEntry = { symbol: string; mint: string; decimals: number; dex: string; quoteToken: string; openTime: string; poolId: string | null };

const mockLaunch = async (client: TestClient, request: Record<string, unknown>): Promise<LaunchEntry> => {
  client.send({ action: 'mockLaunch', ...request });
  const frame = await client.next();
  expect(frame.type).toBe('launches');
  const launches = frame.launches as LaunchEntry[];
  expect(launches).toHaveLength(1);
  return launches[0] as LaunchEntry;
};

const execute = async (client: TestClient, request: Record<string, unknown>): Promise<OrderFrame[]> => {
  client.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', amount: '5', slippage: 5, ...request });
  const pending = (await client.next((f) => f.type === 'order' && f.status === 'pending')) as unknown as OrderFrame;
  return [pending, ...(await client.orderFrames(pending.orderId))];
};

describe('launches', () => {
  it('mockLaunch answers its launches entry, and launches lists it with its pool', async () => {
    const client = await connect();
    const name = symbol();
    const before = Date.now();
    const entry = await mockLaunch(client, { symbol: name, dex: 'meteora', quoteToken: 'SOL', price: '0.00001', openInSeconds: 30 });
    expect(entry).toMatchObject({ symbol: name, decimals: 6, dex: 'meteora', quoteToken: 'SOL' });
    expect(bs58.decode(entry.mint)).toHaveLength(32);
    expect(bs58.decode(entry.poolId ?? '')).toHaveLength(32);
    const openMs = Date.parse(entry.openTime);
    expect(openMs).toBeGreaterThanOrEqual(before + 30_000 - 1_000);
    expect(openMs).toBeLessThanOrEqual(Date.now() + 31_000);

    client.send({ action: 'launches' });
    const listed = await client.next();
    expect(listed.type).toBe('launches');
    expect((listed.launches as LaunchEntry[]).find((l) => l.symbol === name)).toEqual(entry);

    // A symbol is taken once.
    client.send({ action: 'mockLaunch', symbol: name, dex: 'raydium', quoteToken: 'USDC', price: '1', openInSeconds: 0 });
    expect(await client.nextError()).toMatchObject({ code: 'VALIDATION_FAILED', action: 'mockLaunch', details: [{ path: 'symbol' }] });
  });

  it.each(['raydium', 'meteora'] as const)('%s: a market order on a launched pair fails on chain before the pool opens, paying its fee, and confirms once it is open', async (dex) => {
    const client = await connect();
    const name = symbol();
    const entry = await mockLaunch(client, { symbol: name, dex, quoteToken: 'USDC', price: '0.001', openInSeconds: 8, ...(dex === 'meteora' ? { liquidity: '100' } : {}) });

    // The quote names the one new pool: thin, so 5 USDC already moves its price (the DLMM one crosses a few of its bins).
    client.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: name, amount: '5' });
    const quote = (await client.next()) as AnyFrame & { quotes: { dex: string; priceImpactPct: string }[] };
    expect(quote.type).toBe('quote');
    expect(quote.quotes.map((q) => q.dex)).toEqual([dex]);
    expect(Number(quote.quotes[0]?.priceImpactPct)).toBeGreaterThan(0.0001);

    const early = await execute(client, { tokenOut: name });
    expect(Date.now()).toBeLessThan(Date.parse(entry.openTime));
    expect(statuses(early)).toEqual(['pending', 'routing', 'building', 'submitted', 'failed']);
    const failed = early.at(-1) as OrderFrame;
    expect(failed.meta.error).toMatchObject({ code: 'POOL_NOT_OPEN' });
    expect(failed.meta).toMatchObject({ txHash: (early[3] as OrderFrame).meta.txHash });
    expect((failed.meta.fees as { baseLamports: number }).baseLamports).toBe(5_000);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(entry.openTime) - Date.now() + 200)));
    // By mint this time: the same token.
    const late = await execute(client, { tokenOut: entry.mint });
    expect(statuses(late)).toEqual(['pending', 'routing', 'building', 'submitted', 'confirmed']);
    expect((late[0] as OrderFrame).meta.order).toMatchObject({ tokenOut: name });
    const confirmed = late.at(-1) as OrderFrame;
    // About 5 / 0.001 = 5,000 tokens, less the fee (0.25 % on AMM v4, 1 % on the DLMM launch pool) and the price impact.
    expect(Number(confirmed.meta.amountOut)).toBeGreaterThan(4_800);
    expect(Number(confirmed.meta.amountOut)).toBeLessThan(5_000);
  }, 60_000);

  it('an order for a pair with neither a pool nor a launch is refused at once', async () => {
    const client = await connect();
    client.send({ action: 'execute', side: 'sell', tokenIn: 'WIF', tokenOut: 'PYTH', amount: '1', clientOrderId: 'no-route-1' });
    expect(await client.nextError()).toMatchObject({ code: 'NO_ROUTE', action: 'execute', clientOrderId: 'no-route-1' });
    client.send({ action: 'execute', type: 'snipe', side: 'buy', tokenIn: 'USDC', tokenOut: 'NOSUCHLAUNCH', amount: '1' });
    expect(await client.nextError()).toMatchObject({ code: 'UNKNOWN_TOKEN' });
  });
});
