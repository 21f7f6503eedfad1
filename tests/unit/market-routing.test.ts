import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { resolveToken, type Token } from '../../lib/tokens';
import { quotesToWire, routeOrder } from '../../lib/routing';
import { executeRouteAt } from '../../lib/chain/landing';
import { formatPrice, minAmountOutFor, routeToWire, type OrderSpec } from '../../lib/venues/route';
import { Market, PAIRS, type PoolsSnapshot } from '../../lib/venues/market';
import { VenueError } from '../../lib/errors';
import type { DlmmPool } from '../../lib/venues/meteora-dlmm';
import { DLMM_DEFAULT_PARAMS } from '../../lib/venues/meteora-dlmm';

const tok = (s: string): Token => resolveToken(s) as Token;
const SOL = tok('SOL');
const USDC = tok('USDC');
const T0 = Date.UTC(2026, 10, 25, 10);

describe('market price process', () => {
  it('is a pure function of (seed, pair, t): separate instances (processes) agree', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 10 }), fc.constantFrom(...PAIRS.map((p) => p.id)), (dt, pair) => {
        const a = new Market('seed-x');
        const b = new Market('seed-x');
        expect(a.referencePrice(pair, T0 + dt)).toBe(b.referencePrice(pair, T0 + dt));
        expect(a.poolsAt(pair, T0 + dt)).toEqual(b.poolsAt(pair, T0 + dt));
      }),
      { numRuns: 50 },
    );
  });

  it('different seeds give different paths; the price moves but stays plausible', () => {
    const a = new Market('a');
    const b = new Market('b');
    expect(a.referencePrice('SOL/USDC', T0)).not.toBe(b.referencePrice('SOL/USDC', T0));
    const p0 = a.referencePrice('SOL/USDC', T0);
    const p1 = a.referencePrice('SOL/USDC', T0 + 1_000);
    expect(p1).not.toBe(p0);
    expect(Math.abs(Math.log(p1 / p0))).toBeLessThan(0.005);
    expect(p0).toBeGreaterThan(100);
    expect(p0).toBeLessThan(220);
  });

  it('1 s volatility is about 0.03% for SOL/USDC (dex-realism.md §7.2)', () => {
    const m = new Market('vol');
    let sum = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const t = T0 + i * 7_919;
      const r = Math.log(m.referencePrice('SOL/USDC', t + 1000) / m.referencePrice('SOL/USDC', t));
      sum += r * r;
    }
    const sigma = Math.sqrt(sum / n);
    expect(sigma).toBeGreaterThan(0.0002);
    expect(sigma).toBeLessThan(0.0004);
  });

  it('constant-product pools track the venue price and keep k; the DLMM active bin follows it', () => {
    const m = new Market('track');
    for (const dt of [0, 60_000, 3_600_000]) {
      const snap = m.poolsAt('SOL/USDC', T0 + dt) as PoolsSnapshot;
      const r = snap.raydium;
      if (r.kind !== 'raydium-amm-v4') throw new Error('expected AMM v4');
      const uiPrice = (Number(r.pcReserve) / Number(r.coinReserve)) * 1e3;
      expect(uiPrice / m.venuePrice('SOL/USDC', 'raydium', snap.tickMs)).toBeCloseTo(1, 6);
      const k = Number(r.coinReserve) * Number(r.pcReserve);
      expect(k / (20_000e9 * 3_000_000e6 * (150 / 150))).toBeCloseTo(1, 6);
      const dl = snap.meteora;
      const binUi = 1.001 ** dl.activeId * 1e3;
      const venue = m.venuePrice('SOL/USDC', 'meteora', snap.tickMs);
      expect(binUi <= venue * (1 + 1e-9) && venue < binUi * 1.001 * (1 + 1e-9)).toBe(true);
    }
  });
});

const orderArb = fc.record({
  side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
  ui: fc.integer({ min: 1, max: 2_000_000 }),
  dt: fc.integer({ min: 0, max: 10 ** 9 }),
  bps: fc.integer({ min: 1, max: 5000 }),
});

function orderOf(side: 'buy' | 'sell', ui: number, bps: number): OrderSpec {
  // buy: spend USDC for SOL; sell: sell SOL for USDC. ui is in USDC-ish size; scale SOL to match.
  return side === 'buy'
    ? { side, tokenIn: USDC, tokenOut: SOL, amountIn: BigInt(ui) * 10n ** 6n, slippageBps: bps }
    : { side, tokenIn: SOL, tokenOut: USDC, amountIn: (BigInt(ui) * 10n ** 9n) / 150n, slippageBps: bps };
}

describe('routing', () => {
  const market = new Market('routing-tests');

  it('properties: route >= every venue, split >= best single, minOut <= out, legs sum to the input', () => {
    fc.assert(
      fc.property(orderArb, ({ side, ui, dt, bps }) => {
        const order = orderOf(side, ui, bps);
        let result;
        try {
          result = routeOrder(order, T0 + dt, market);
        } catch (e) {
          expect((e as VenueError).code).toBe('INSUFFICIENT_LIQUIDITY');
          return;
        }
        const { route, quotes } = result;
        for (const q of quotes) expect(route.amountOut >= q.amountOut).toBe(true);
        expect(route.minAmountOut <= route.amountOut).toBe(true);
        expect(route.minAmountOut).toBe((route.amountOut * BigInt(10_000 - bps)) / 10_000n);
        expect(route.legs.reduce((s, l) => s + l.amountIn, 0n)).toBe(order.amountIn);
        expect(route.legs.reduce((s, l) => s + l.amountOut, 0n)).toBe(route.amountOut);
        expect(route.legs.reduce((s, l) => s + l.percent, 0)).toBe(100);
        if (route.legs.length > 1) {
          expect(route.dex).toBe('meteora+raydium');
          for (const q of quotes) expect(route.amountOut > q.amountOut).toBe(true);
        }
        expect(Number(route.priceImpactPct)).toBeGreaterThanOrEqual(0);
        expect(Number(route.priceImpactPct)).toBeLessThan(1);
      }),
      { numRuns: 300 },
    );
  });

  it('small orders go to the DLMM (lower fee), very large ones split (dex-realism.md §7.2)', () => {
    const small = routeOrder(orderOf('buy', 10, 100), T0, market);
    expect(small.route.dex).toBe('meteora');
    expect(small.quotes).toHaveLength(2);
    const large = routeOrder(orderOf('buy', 400_000, 100), T0, market);
    expect(large.route.dex).toBe('meteora+raydium');
  });

  it('picks the lower price for a buy and the higher price for a sell when venues differ', () => {
    // A market where Raydium is cheaper for SOL (buy) and the DLMM pays more for SOL (sell).
    class Fixed extends Market {
      override poolsAt(pairId: string, tMs: number): PoolsSnapshot | undefined {
        const real = super.poolsAt(pairId, tMs);
        if (!real) return undefined;
        const width = 201;
        const activeId = -1899; // UI ~149.86
        const binX = Array.from({ length: width }, (_, i) => (i >= 100 ? 10n ** 13n : 0n)); // X (SOL) above
        const binY = Array.from({ length: width }, (_, i) => (i <= 100 ? 10n ** 12n : 0n)); // Y (USDC) below
        const meteora: DlmmPool = {
          kind: 'meteora-dlmm',
          id: 'dlmm',
          params: { ...DLMM_DEFAULT_PARAMS, binStep: 10 },
          v: { volatilityAccumulator: 0, volatilityReference: 0, indexReference: activeId, lastUpdateTimestamp: Math.floor(tMs / 1000) },
          activeId,
          minBinId: activeId - 100,
          binX,
          binY,
        };
        // Raydium at UI 140: cheaper SOL for buyers, worse for sellers than the DLMM at ~150.
        return { ...real, raydium: { kind: 'raydium-amm-v4', id: 'amm', coinReserve: 20_000n * 10n ** 9n, pcReserve: 2_800_000n * 10n ** 6n, status: 6, openTime: 0 }, meteora };
      }
    }
    const m = new Fixed('fixed');
    const buy = routeOrder(orderOf('buy', 100, 100), T0, m);
    expect(buy.route.dex).toBe('raydium');
    const buyPrices = buy.quotes.map((q) => Number(q.price));
    expect(Number(buy.route.price)).toBe(Math.min(...buyPrices));
    const sell = routeOrder(orderOf('sell', 100, 100), T0, m);
    expect(sell.route.dex).toBe('meteora');
    const sellPrices = sell.quotes.map((q) => Number(q.price));
    expect(Number(sell.route.price)).toBe(Math.max(...sellPrices));
  });

  it('throws NO_ROUTE for an unknown pair', () => {
    const order: OrderSpec = { side: 'buy', tokenIn: tok('WIF'), tokenOut: tok('JTO'), amountIn: 1n, slippageBps: 50 };
    expect(() => routeOrder(order, T0, market)).toThrow(expect.objectContaining({ code: 'NO_ROUTE', retryable: false }));
  });

  it('throws INSUFFICIENT_LIQUIDITY when no venue can fill', () => {
    // Constant-product pools can always pay something, so drain-proof only when the Raydium pool is dust.
    class Dust extends Market {
      override poolsAt(pairId: string, tMs: number): PoolsSnapshot | undefined {
        const real = super.poolsAt(pairId, tMs);
        return real && { ...real, raydium: { kind: 'raydium-amm-v4', id: 'dust', coinReserve: 1n, pcReserve: 1n, status: 6, openTime: 0 } };
      }
    }
    expect(() => routeOrder(orderOf('buy', 100_000_000, 100), T0, new Dust('dust'))).toThrow(
      expect.objectContaining({ code: 'INSUFFICIENT_LIQUIDITY', retryable: false }),
    );
  });

  it('routes every configured pair in both directions', () => {
    for (const pair of PAIRS) {
      const base = tok(pair.base);
      const quote = tok(pair.quote);
      const sell = routeOrder({ side: 'sell', tokenIn: base, tokenOut: quote, amountIn: 10n ** BigInt(base.decimals), slippageBps: 100 }, T0, market);
      const buy = routeOrder({ side: 'buy', tokenIn: quote, tokenOut: base, amountIn: 10n ** BigInt(quote.decimals), slippageBps: 100 }, T0, market);
      expect(sell.route.amountOut > 0n && buy.route.amountOut > 0n).toBe(true);
    }
  });

  it('wire shapes are decimal strings in UI units with PROTOCOL prices', () => {
    const order = orderOf('buy', 100, 100);
    const result = routeOrder(order, T0, market);
    const wire = routeToWire(result.route, order);
    expect(wire.amountIn).toBe('100');
    expect(Object.keys(wire).sort()).toEqual(['amountIn', 'amountOut', 'dex', 'legs', 'minAmountOut', 'price']);
    expect(Number(wire.price)).toBeCloseTo(100 / Number(wire.amountOut), 6);
    const quotes = quotesToWire(result, order);
    expect(Object.keys(quotes[0] ?? {}).sort()).toEqual(['amountOut', 'dex', 'feeAmount', 'price', 'priceImpactPct']);
    expect(result.contextSlot).toBeGreaterThan(300_000_000);
  });

  it('formatPrice: buy = in/out, sell = out/in, exact bigint decimals', () => {
    expect(formatPrice('buy', USDC, SOL, 150_000_000n, 1_000_000_000n)).toBe('150');
    expect(formatPrice('sell', SOL, USDC, 2_000_000_000n, 300_500_000n)).toBe('150.25');
    expect(formatPrice('buy', USDC, SOL, 1n, 3n)).toBe('333.3333333333');
    expect(formatPrice('sell', tok('BONK'), USDC, 100_000n, 23n)).toBe('0.000023');
  });

  it('minAmountOut floors', () => {
    expect(minAmountOutFor(16_198_753n, 50)).toBe(16_117_759n); // floor, Raydium-API style (Jupiter would ceil to ...760)
  });

  it('executeRouteAt: same-time execution fills the quote; a large adverse move fails with the venue error', () => {
    const order = orderOf('buy', 100, 100);
    const { route } = routeOrder(order, T0, market);
    const same = executeRouteAt(order, route, T0, market);
    expect(same).toMatchObject({ ok: true, amountOut: route.amountOut });
    // Find a landing time where the price moved more than the 0.01% tolerance against the buyer.
    const tight = routeOrder({ ...order, slippageBps: 1 }, T0, market);
    let failure;
    for (let dt = 1_000; dt < 3_600_000 && !failure; dt += 7_000) {
      const r = executeRouteAt({ ...order, slippageBps: 1 }, tight.route, T0 + dt, market);
      if (!r.ok) failure = r.error;
    }
    expect(failure?.code).toBe('SLIPPAGE_EXCEEDED');
    expect(failure?.retryable).toBe(false);
    expect(failure?.details).toMatchObject({ programId: 'LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo', customCode: 6003, hex: '0x1773' });
    expect((failure?.details?.log as string[]).join('\n')).toContain('ExceededAmountSlippageTolerance');
  });

  it('AMM v4 slippage failure carries Custom(30) / 0x1e', () => {
    const order: OrderSpec = { side: 'sell', tokenIn: SOL, tokenOut: USDC, amountIn: 10n ** 9n, slippageBps: 100 };
    const { route } = routeOrder(order, T0, market);
    const forcedRoute = { ...route, dex: 'raydium', legs: [{ dex: 'raydium' as const, percent: 100, amountIn: 10n ** 9n, amountOut: route.amountOut * 2n }] };
    const r = executeRouteAt(order, forcedRoute, T0, market);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.details).toMatchObject({ programId: '675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8', customCode: 30, hex: '0x1e' });
  });
});
