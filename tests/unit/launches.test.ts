import { describe, expect, it } from 'vitest';
import bs58 from 'bs58';
import { resolveToken, type Token } from '../../lib/tokens';
import { routeOrder } from '../../lib/routing';
import { executeRouteAt } from '../../lib/chain/landing';
import { InMemoryLaunchStore, LaunchBook, launchEntry, openAtMs, launchesOfHour, poolCreationOf, scheduledLaunches, type MockLaunchRequest } from '../../lib/chain/launches';
import { InMemoryLedger, MockCluster, buildSignedTransaction } from '../../lib/chain/cluster';
import { mockProfile } from '../../lib/chain/profile';
import { Market } from '../../lib/venues/market';
import { tokenOfLaunch, type LaunchSpec } from '../../lib/venues/launched';
import { orderSpecOf, type OrderSpec } from '../../lib/venues/route';
import { RAYDIUM_AMM_V4_PROGRAM_ID, METEORA_DLMM_PROGRAM_ID } from '../../lib/venues/types';
import { launchedTokensOf, validateExecute } from '../../lib/orders/request';
import { validateLaunchesRequest } from '../../lib/orders/launches';

const tok = (s: string): Token => resolveToken(s) as Token;
const USDC = tok('USDC');
const SOL = tok('SOL');
const T0 = Date.UTC(2026, 11, 2, 12);
const HOUR = 3_600_000;
const market = new Market('launch-test');

const book = (now: () => number, seed = 'launch-test') => new LaunchBook({ seed, store: new InMemoryLaunchStore(), now });

async function launchNow(dex: 'raydium' | 'meteora', overrides: Partial<MockLaunchRequest> = {}, at = T0): Promise<LaunchSpec> {
  return book(() => at).mockLaunch({ symbol: 'NEWT', dex, quoteToken: 'USDC', price: '0.001', openInSeconds: 10, ...overrides });
}

const buy = (launch: LaunchSpec, usdc: bigint): OrderSpec => ({ side: 'buy', tokenIn: USDC, tokenOut: tokenOfLaunch(launch), amountIn: usdc * 1_000_000n, slippageBps: 100 });

describe('the launch schedule', () => {
  it('is a pure function of the seed and the clock: the same launches for the same seed, others for another seed', () => {
    const a = scheduledLaunches('seed-a', T0, T0 + 6 * HOUR);
    const again = scheduledLaunches('seed-a', T0, T0 + 6 * HOUR);
    const b = scheduledLaunches('seed-b', T0, T0 + 6 * HOUR);
    expect(again).toEqual(a);
    expect(b.map((l) => l.mint)).not.toEqual(a.map((l) => l.mint));
    // A window's launches are the hours' launches: computing hour by hour gives the same list.
    const byHour = [0, 1, 2, 3, 4, 5].flatMap((h) => launchesOfHour('seed-a', Math.floor(T0 / HOUR) + h)).sort((x, y) => x.announcedAtMs - y.announcedAtMs);
    expect(byHour).toEqual(a);
  });

  it('has a few launches every hour, each announced, then created, then opened, on a token of its own', () => {
    for (let h = 0; h < 48; h++) {
      const hour = Math.floor(T0 / HOUR) + h;
      const launches = launchesOfHour('solana-order-engine', hour);
      expect(launches.length).toBeGreaterThanOrEqual(2);
      expect(launches.length).toBeLessThanOrEqual(4);
      for (const l of launches) {
        expect(l.announcedAtMs).toBeGreaterThanOrEqual(hour * HOUR);
        expect(l.announcedAtMs).toBeLessThan((hour + 1) * HOUR);
        expect(l.createdAtMs).toBeGreaterThan(l.announcedAtMs);
        expect(l.openTime * 1000).toBeGreaterThan(l.createdAtMs);
        expect(bs58.decode(l.mint)).toHaveLength(32);
        expect(bs58.decode(l.poolId)).toHaveLength(32);
        expect(resolveToken(l.symbol)).toBeUndefined();
        expect(['USDC', 'SOL']).toContain(l.quoteToken);
        expect(BigInt(l.baseAmount) > 0n).toBe(true);
      }
    }
  });
});

describe('a launched pool', () => {
  for (const dex of ['raydium', 'meteora'] as const) {
    it(`${dex}: a swap landing before the open time fails as the program refuses it; at the open time it fills`, async () => {
      const launch = await launchNow(dex);
      const order = buy(launch, 10n);
      // Quoted before it opens, as it will trade (the pool and its reserves exist).
      const { route } = routeOrder(order, T0 + 1_000, market);
      expect(route.dex).toBe(dex);
      const early = executeRouteAt(order, route, launch.openTime * 1000 - 1, market);
      expect(early.ok).toBe(false);
      if (!early.ok) {
        expect(early.error.code).toBe('POOL_NOT_OPEN');
        const details = early.error.details as { programId: string; customCode: number; hex: string; log: string[] };
        expect(details.programId).toBe(dex === 'raydium' ? RAYDIUM_AMM_V4_PROGRAM_ID : METEORA_DLMM_PROGRAM_ID);
        // raydium-amm AmmError::InvalidStatus = 22; DLMM PoolDisabled = 6042.
        expect(details.customCode).toBe(dex === 'raydium' ? 22 : 6042);
        expect(details.log.at(-1)).toBe(`Program ${details.programId} failed: custom program error: ${details.hex}`);
      }
      const open = executeRouteAt(order, route, launch.openTime * 1000, market);
      expect(open).toMatchObject({ ok: true });
      if (open.ok) expect(open.amountOut).toBe(route.amountOut);
    });

    it(`${dex}: is quoted by the venue math alone, with a price impact that grows with the size`, async () => {
      const launch = await launchNow(dex);
      const impacts: number[] = [];
      const prices: number[] = [];
      // DLMM fills within a bin at one price (about 167 USDC a bin here): the sizes cross more and more bins.
      for (const usdc of [1n, 500n, 2_000n, 5_000n]) {
        const result = routeOrder(buy(launch, usdc), T0 + 1_000, market);
        expect(result.quotes.map((q) => q.dex)).toEqual([dex]);
        expect(result.route.legs).toEqual([expect.objectContaining({ dex, percent: 100 })]);
        impacts.push(Number(result.route.priceImpactPct));
        prices.push(Number(result.route.price));
      }
      for (let i = 1; i < impacts.length; i++) {
        expect(impacts[i]).toBeGreaterThan(impacts[i - 1] as number);
        expect(prices[i]).toBeGreaterThan(prices[i - 1] as number);
      }
      // A thin pool (10,000 USDC deep): 5,000 USDC moves the price by tens of percent, 1 USDC hardly at all.
      expect(impacts[3]).toBeGreaterThan(0.1);
      expect(impacts[0]).toBeLessThan(0.01);
      // Around the launch price (fees included: 0.25 % on AMM v4, 1 % base on the DLMM launch bin step).
      expect(prices[0]).toBeGreaterThan(0.00099);
      expect(prices[0]).toBeLessThan(0.00103);
    });
  }

  it('a swap in a landed transaction fails on chain before the open time and is charged its fee', async () => {
    const launch = await launchNow('raydium', { openInSeconds: 60 });
    let now = T0 + 1_000;
    const cluster = new MockCluster({ ledger: new InMemoryLedger(), profile: mockProfile('fast'), seed: 'launch-test', now: () => now, sleep: async () => {}, marketSeed: 'launch-test' });
    const order = buy(launch, 10n);
    const { route } = routeOrder(order, now, market);
    const tx = buildSignedTransaction({ orderId: 'snipe-1', attempt: 1, order, route, blockhash: cluster.getLatestBlockhash(), computeBudget: { computeUnitLimit: 200_000, microLamportsPerCu: 1_000 } });
    // The transaction carries the pool it goes through, so any process can re-price its landing.
    expect(tx.launch).toEqual(launch);
    const sent = await cluster.sendTransaction(JSON.parse(JSON.stringify(tx)) as typeof tx);
    now += 10_000;
    const outcome = await cluster.awaitOutcome(sent.signature, now);
    expect(outcome.state).toBe('failed');
    if (outcome.state === 'failed') {
      expect(outcome.error.code).toBe('POOL_NOT_OPEN');
      expect(outcome.fees.baseLamports).toBe(5_000);
      expect(outcome.feeLamports).toBe(outcome.fees.baseLamports + outcome.fees.priorityLamports);
      expect(outcome.fees.priorityLamports).toBeGreaterThan(0);
    }
  });

  it('a stored order names its launched token by symbol and carries the launch: any process rebuilds the same order', async () => {
    const launch = await launchNow('meteora');
    const spec = orderSpecOf({ side: 'buy', tokenIn: 'USDC', tokenOut: 'NEWT', amountIn: '1000000', slippageBps: 50, launch: JSON.parse(JSON.stringify(launch)) as LaunchSpec });
    expect(spec?.tokenOut).toMatchObject({ symbol: 'NEWT', mint: launch.mint, decimals: 6, launch });
    expect(orderSpecOf({ side: 'buy', tokenIn: 'USDC', tokenOut: 'NEWT', amountIn: '1000000', slippageBps: 50 })).toBeUndefined();
  });

  it('no pool before its creation: routing says NO_ROUTE', () => {
    const [launch] = scheduledLaunches('launch-test', T0, T0 + HOUR) as [LaunchSpec];
    const order: OrderSpec = { side: 'buy', tokenIn: tok(launch.quoteToken), tokenOut: tokenOfLaunch(launch), amountIn: 1_000_000n, slippageBps: 100 };
    expect(() => routeOrder(order, launch.createdAtMs - 1, market)).toThrow(expect.objectContaining({ code: 'NO_ROUTE' }));
    expect(routeOrder(order, launch.createdAtMs, market).route.amountOut > 0n).toBe(true);
  });
});

describe('pool creation events', () => {
  it('Raydium AMM v4 initialize2: open_time, init_pc_amount, init_coin_amount, and the ray_log InitLog', async () => {
    const launch = await launchNow('raydium');
    const event = poolCreationOf('launch-test', launch);
    expect(event).toMatchObject({
      dex: 'raydium',
      program: '675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8',
      instruction: 'initialize2',
      poolId: launch.poolId,
      mints: [launch.mint, USDC.mint],
      openTime: new Date(launch.openTime * 1000).toISOString(),
      args: { open_time: launch.openTime, init_pc_amount: '10000000000', init_coin_amount: launch.baseAmount },
    });
    expect(bs58.decode(event.signature)).toHaveLength(64);
    expect(event.slot).toBeGreaterThan(300_000_000);
    const rayLog = event.logs.find((line) => line.startsWith('Program log: ray_log: '))?.slice('Program log: ray_log: '.length) ?? '';
    const bytes = Buffer.from(rayLog, 'base64');
    // bincode InitLog: u8, u64, u8, u8, u64, u64, u64, u64, [u8; 32].
    expect(bytes).toHaveLength(1 + 8 + 1 + 1 + 8 * 4 + 32);
    expect(bytes.readBigUInt64LE(1)).toBe(BigInt(launch.openTime));
    expect([bytes[9], bytes[10]]).toEqual([6, 6]);
    expect(bytes.readBigUInt64LE(27)).toBe(10_000_000_000n);
    expect(bytes.readBigUInt64LE(35)).toBe(BigInt(launch.baseAmount));
  });

  it('Meteora DLMM LbPairCreate: lb_pair, bin_step, token_x, token_y, with the activation point', async () => {
    const launch = await launchNow('meteora', { quoteToken: 'SOL', price: '0.000002' });
    const event = poolCreationOf('launch-test', launch);
    expect(event).toMatchObject({
      dex: 'meteora',
      program: 'LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo',
      event: { name: 'LbPairCreate', lb_pair: launch.poolId, bin_step: 100, token_x: launch.mint, token_y: SOL.mint },
      args: { active_id: launch.activeId, bin_step: 100, activation_type: 1, activation_point: launch.openTime },
      mints: [launch.mint, SOL.mint],
    });
    const data = Buffer.from(event.logs.find((line) => line.startsWith('Program data: '))?.slice('Program data: '.length) ?? '', 'base64');
    expect([...data.subarray(0, 8)]).toEqual([185, 74, 252, 125, 27, 215, 188, 111]);
    expect(bs58.encode(data.subarray(8, 40))).toBe(launch.poolId);
    expect(data.readUInt16LE(40)).toBe(100);
    expect(bs58.encode(data.subarray(42, 74))).toBe(launch.mint);
    expect(bs58.encode(data.subarray(74, 106))).toBe(SOL.mint);
  });
});

describe('the launch book', () => {
  it('mockLaunch: listed by launches, found by symbol and mint, its creation event found for the pair; a symbol is taken once', async () => {
    let now = T0;
    const launches = new LaunchBook({ seed: 'launch-test', store: new InMemoryLaunchStore(), now: () => now });
    const launch = await launches.mockLaunch({ symbol: 'NEWT', dex: 'raydium', quoteToken: 'USDC', price: '0.001', openInSeconds: 2 });
    expect(launch.openTime).toBe(Math.ceil((T0 + 2_000) / 1000));
    expect(launchEntry(launch, now)).toEqual({ symbol: 'NEWT', mint: launch.mint, decimals: 6, dex: 'raydium', quoteToken: 'USDC', openTime: new Date(launch.openTime * 1000).toISOString(), poolId: launch.poolId });
    expect((await launches.launches()).map((l) => l.symbol)).toContain('NEWT');
    expect(await launches.launchFor('newt')).toEqual(launch);
    expect(await launches.launchFor(launch.mint)).toEqual(launch);
    expect((await launches.tokenFor('NEWT'))?.launch).toEqual(launch);
    expect(await launches.poolCreatedFor('USDC', 'NEWT')).toMatchObject({ poolId: launch.poolId, instruction: 'initialize2' });
    expect(await launches.poolCreatedFor(launch.mint, 'USDC')).toMatchObject({ poolId: launch.poolId });
    expect(await launches.poolCreatedFor('SOL', 'NEWT')).toBeUndefined();
    // For an order that carries its launch: no look-up.
    expect(launches.creationOf(launch)).toEqual(await launches.poolCreatedFor('USDC', 'NEWT'));
    expect(launches.creationOf(launch, launch.createdAtMs - 1)).toBeUndefined();
    expect(openAtMs(launch)).toBe(launch.openTime * 1000);
    await expect(launches.mockLaunch({ symbol: 'newt', dex: 'meteora', quoteToken: 'USDC', price: '1', openInSeconds: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(launches.mockLaunch({ symbol: 'SOL', dex: 'meteora', quoteToken: 'USDC', price: '1', openInSeconds: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(launches.mockLaunch({ symbol: 'ABCD', dex: 'meteora', quoteToken: 'JUP', price: '1', openInSeconds: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // Listed for a while after its creation, then no longer (but still resolvable for orders on its pair).
    now = T0 + 31 * 60_000;
    expect((await launches.launches()).map((l) => l.symbol)).not.toContain('NEWT');
    expect(await launches.launchFor('NEWT')).toEqual(launch);
  });

  it('scheduled launches: announced ones are listed with no pool until their creation, never before their announcement', async () => {
    const [launch] = scheduledLaunches('launch-test', T0, T0 + HOUR) as [LaunchSpec];
    let now = launch.announcedAtMs - 1;
    const launches = book(() => now);
    expect(await launches.launchFor(launch.symbol)).toBeUndefined();
    now = launch.announcedAtMs;
    const listed = (await launches.launches()).find((l) => l.mint === launch.mint);
    expect(listed).toEqual(launch);
    expect(launchEntry(launch, now).poolId).toBeNull();
    expect(await launches.poolCreatedFor(launch.quoteToken, launch.symbol)).toBeUndefined();
    now = launch.createdAtMs;
    expect(launchEntry(launch, now).poolId).toBe(launch.poolId);
    expect(await launches.poolCreatedFor(launch.quoteToken, launch.mint)).toMatchObject({ poolId: launch.poolId, slot: expect.any(Number) });
  });

  it('a launch another process stored is seen after a miss, without waiting for the cache to expire', async () => {
    const store = new InMemoryLaunchStore();
    let now = T0;
    const reader = new LaunchBook({ seed: 'launch-test', store, now: () => now, cacheMs: 60_000 });
    const writer = new LaunchBook({ seed: 'launch-test', store, now: () => now });
    expect(await reader.launchFor('ZORP')).toBeUndefined();
    await writer.mockLaunch({ symbol: 'ZORP', dex: 'meteora', quoteToken: 'SOL', price: '0.00001', openInSeconds: 1 });
    now += 300;
    expect((await reader.launchFor('ZORP'))?.symbol).toBe('ZORP');
  });
});

describe('orders on launched tokens: validation', () => {
  it('execute resolves a launched token looked up beforehand (by symbol or mint); a snipe names one; a pair with no pool and no launch is NO_ROUTE at once', async () => {
    const launches = book(() => T0);
    const launch = await launches.mockLaunch({ symbol: 'NEWT', dex: 'raydium', quoteToken: 'USDC', price: '0.001', openInSeconds: 5 });
    const body = { action: 'execute', type: 'snipe', side: 'buy', tokenIn: 'USDC', tokenOut: launch.mint, amount: '10', limitPrice: '0.002' };
    const launched = await launchedTokensOf(body, launches);
    expect([...launched.keys()]).toEqual([launch.mint]);
    const order = validateExecute(body, { testHooks: false, nowMs: T0, launched });
    expect(order).toMatchObject({ type: 'snipe', tokenOut: { symbol: 'NEWT', mint: launch.mint, launch }, amountIn: 10_000_000n });
    // Without the look-up the name is unknown, as before launches existed.
    expect(() => validateExecute(body, { testHooks: false, nowMs: T0 })).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOKEN' }));
    // A market order on the launched pair is accepted too; on the wrong quote token it has no route.
    const bySymbol = { action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'newt', amount: '1' };
    expect(validateExecute(bySymbol, { testHooks: false, launched: await launchedTokensOf(bySymbol, launches) }).tokenOut.symbol).toBe('NEWT');
    const wrongQuote = { ...bySymbol, tokenIn: 'SOL' };
    const wrongQuoteTokens = await launchedTokensOf(wrongQuote, launches);
    expect(() => validateExecute(wrongQuote, { testHooks: false, launched: wrongQuoteTokens })).toThrow(expect.objectContaining({ code: 'NO_ROUTE' }));
    // Listed tokens with no pool between them: refused at once, whatever the type.
    expect(() => validateExecute({ action: 'execute', side: 'sell', tokenIn: 'WIF', tokenOut: 'PYTH', amount: '1' }, { testHooks: false })).toThrow(
      expect.objectContaining({ code: 'NO_ROUTE', retryable: false }),
    );
    // A snipe on a pair that already trades on the seeded market is not a snipe.
    expect(() => validateExecute({ action: 'execute', type: 'snipe', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '1' }, { testHooks: false, nowMs: T0 })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });

  it('mockLaunch is an unknown action without test hooks; with them its fields are checked', () => {
    const body = { action: 'mockLaunch', symbol: 'NEWT', dex: 'raydium', quoteToken: 'USDC', price: '0.001', openInSeconds: 2 };
    expect(() => validateLaunchesRequest(body, { testHooks: false })).toThrow(expect.objectContaining({ code: 'UNKNOWN_ACTION' }));
    expect(validateLaunchesRequest(body, { testHooks: true })).toEqual({ ...body });
    expect(() => validateLaunchesRequest({ ...body, dex: 'orca' }, { testHooks: true })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(() => validateLaunchesRequest({ ...body, price: '0' }, { testHooks: true })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(() => validateLaunchesRequest({ ...body, extra: 1 }, { testHooks: true })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(validateLaunchesRequest({ action: 'launches' }, { testHooks: false })).toEqual({ action: 'launches' });
    expect(() => validateLaunchesRequest({ action: 'launches', symbol: 'X' }, { testHooks: false })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});
