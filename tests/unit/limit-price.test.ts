import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { boundedMinAmountOut, formatLimitPrice, limitReached, minAmountOutForLimit, parseLimitPrice } from '../../lib/orders/limit-price';
import { resolveToken, type Token } from '../../lib/tokens';
import { formatPrice, orderSpecOf, type OrderSpec } from '../../lib/venues/route';
import { ALL_LIMIT_KEYS, candidateRange, EXPIRY_SHARDS, expiryShardOf, limitFloorOf, restingIndexOf, SNIPE_KEY, triggerMeta } from '../../lib/orders/resting';
import { Market } from '../../lib/venues/market';
import { RequestError } from '../../lib/errors';

const USDC = resolveToken('USDC') as Token;
const SOL = resolveToken('SOL') as Token;
const BONK = resolveToken('BONK') as Token;

/** a/b <= c/d for positive integers, exactly. */
const ratioLte = (a: bigint, b: bigint, c: bigint, d: bigint): boolean => a * d <= c * b;
const pow10 = (n: number): bigint => 10n ** BigInt(n);

describe('limit price', () => {
  it('parses numbers and decimal strings exactly and spells them canonically', () => {
    expect(formatLimitPrice(parseLimitPrice('150.50'))).toBe('150.5');
    expect(formatLimitPrice(parseLimitPrice(150))).toBe('150');
    expect(formatLimitPrice(parseLimitPrice('0.00002'))).toBe('0.00002');
    expect(formatLimitPrice(parseLimitPrice(2e-5))).toBe('0.00002');
    expect(parseLimitPrice('1e3')).toEqual({ num: 1000n, scale: 0 });
  });

  it('refuses zero, negatives and garbage, naming limitPrice', () => {
    for (const bad of ['0', '-1', 'abc', '', 0, -5, Number.NaN]) {
      try {
        parseLimitPrice(bad as string | number);
        expect.unreachable(`accepted ${String(bad)}`);
      } catch (error) {
        expect(error).toBeInstanceOf(RequestError);
        expect((error as RequestError).issues[0]?.path).toBe('limitPrice');
      }
    }
  });

  it('a buy of SOL with 150 USDC at limit 150 needs at least 1 SOL out; at the boundary it triggers, one lamport short it does not', () => {
    const order = { side: 'buy' as const, tokenIn: USDC, tokenOut: SOL, amountIn: 150_000_000n };
    const floor = minAmountOutForLimit(order, parseLimitPrice('150'));
    expect(floor).toBe(1_000_000_000n);
    expect(limitReached(1_000_000_000n, floor)).toBe(true);
    expect(limitReached(999_999_999n, floor)).toBe(false);
    // The route's price at the boundary is exactly the limit (PROTOCOL.md: a buy triggers when price <= limitPrice).
    expect(formatPrice('buy', USDC, SOL, order.amountIn, floor)).toBe('150');
  });

  it('a sell of 2 SOL at limit 150 needs at least 300 USDC out; at the boundary it triggers, one base unit short it does not', () => {
    const order = { side: 'sell' as const, tokenIn: SOL, tokenOut: USDC, amountIn: 2_000_000_000n };
    const floor = minAmountOutForLimit(order, parseLimitPrice('150'));
    expect(floor).toBe(300_000_000n);
    expect(limitReached(300_000_000n, floor)).toBe(true);
    expect(limitReached(299_999_999n, floor)).toBe(false);
  });

  it('minAmountOut from limitPrice never gives a worse price than the limit, and is the least output that does not', () => {
    const tokens = [USDC, SOL, BONK];
    fc.assert(
      fc.property(
        fc.constantFrom('buy', 'sell'),
        fc.constantFrom(...tokens),
        fc.constantFrom(...tokens),
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.integer({ min: 0, max: 12 }),
        (side, tokenIn, tokenOut, amountIn, num, scale) => {
          const limit = { num, scale };
          const out = minAmountOutForLimit({ side, tokenIn, tokenOut, amountIn }, limit);
          // Prices in UI units as exact ratios: in/out for a buy must be <= limit; out/in for a sell must be >= limit.
          const inUi = [amountIn, pow10(tokenIn.decimals)] as const;
          const limitUi = [num, pow10(scale)] as const;
          const holds = (o: bigint): boolean => {
            const outUi = [o, pow10(tokenOut.decimals)] as const;
            return side === 'buy'
              ? o > 0n && ratioLte(inUi[0] * outUi[1], inUi[1] * outUi[0], limitUi[0], limitUi[1])
              : ratioLte(limitUi[0], limitUi[1], outUi[0] * inUi[1], outUi[1] * inUi[0]);
          };
          expect(holds(out)).toBe(true);
          if (out > 0n) expect(holds(out - 1n)).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the landing floor is the stricter of slippage and limit', () => {
    expect(boundedMinAmountOut(100n, 120n)).toBe(120n);
    expect(boundedMinAmountOut(100n, 80n)).toBe(100n);
    expect(boundedMinAmountOut(100n, undefined)).toBe(100n);
  });
});

describe('resting index', () => {
  const request = (over: Record<string, unknown>) => ({ type: 'limit' as const, side: 'buy' as const, tokenIn: 'USDC', tokenOut: 'SOL', amountIn: '1', slippageBps: 100, limitPrice: '150', ...over });

  it('puts every order of a pair in base-price terms: acquiring SOL at 150 and selling USDC for SOL at 1/150 share a key and price', () => {
    expect(restingIndexOf(request({}))).toEqual({ restKey: 'limit#SOL/USDC#acquire', restPx: 150 });
    const sellUsdc = restingIndexOf(request({ side: 'sell', tokenIn: 'USDC', tokenOut: 'SOL', limitPrice: String(1 / 150) }));
    expect(sellUsdc?.restKey).toBe('limit#SOL/USDC#acquire');
    expect(sellUsdc?.restPx).toBeCloseTo(150, 9);
  });

  it('disposing of the base token, by selling it or by buying the quote with it, is the other key', () => {
    expect(restingIndexOf(request({ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC' }))).toEqual({ restKey: 'limit#SOL/USDC#dispose', restPx: 150 });
    const buyUsdc = restingIndexOf(request({ side: 'buy', tokenIn: 'SOL', tokenOut: 'USDC', limitPrice: String(1 / 150) }));
    expect(buyUsdc?.restKey).toBe('limit#SOL/USDC#dispose');
    expect(buyUsdc?.restPx).toBeCloseTo(150, 9);
  });

  it('a market order is not indexed', () => {
    expect(restingIndexOf({ side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amountIn: '1', slippageBps: 100 })).toBeUndefined();
  });
});

describe('resting orders: snipes, unknown pairs, the watcher filter and the open frame', () => {
  const launch = {
    symbol: 'LNCH',
    mint: 'So11111111111111111111111111111111111111112',
    decimals: 6,
    dex: 'raydium' as const,
    quoteToken: 'USDC',
    poolId: '58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2',
    announcedAtMs: 1_000,
    createdAtMs: 2_000,
    openTime: 1_767_225_600,
    price: '0.01',
    baseAmount: '1000000',
    quoteAmount: '1000',
    source: 'schedule' as const,
  };
  const limit = (over: Record<string, unknown>) => ({ type: 'limit' as const, side: 'buy' as const, tokenIn: 'USDC', tokenOut: 'SOL', amountIn: '1', slippageBps: 100, limitPrice: '150', ...over });

  it('a snipe rests on the one snipe key at its pool open time, and not at all without its launch', () => {
    expect(restingIndexOf({ ...limit({}), type: 'snipe', launch })).toEqual({ restKey: SNIPE_KEY, restPx: launch.openTime });
    expect(restingIndexOf({ ...limit({}), type: 'snipe' })).toBeUndefined();
  });

  it('a limit order without a limit price, or on tokens the market has no pair for, has nothing to watch', () => {
    expect(restingIndexOf(limit({ limitPrice: undefined }))).toBeUndefined();
    expect(restingIndexOf(limit({ tokenOut: 'NOPE' }))).toBeUndefined();
    expect(restingIndexOf(limit({ tokenIn: 'USDC', tokenOut: 'USDC' }))).toBeUndefined();
  });

  it('the watcher filter asks acquire keys from 2 % under the lower venue price, dispose keys up to 2 % over the higher one', () => {
    const market = new Market('resting-filter');
    const nowMs = Date.UTC(2026, 11, 2);
    const prices = [market.venuePrice('SOL/USDC', 'raydium', nowMs), market.venuePrice('SOL/USDC', 'meteora', nowMs)];
    expect(candidateRange(market, 'SOL/USDC', 'acquire', nowMs)).toEqual({ from: Math.min(...prices) * 0.98 });
    expect(candidateRange(market, 'SOL/USDC', 'dispose', nowMs)).toEqual({ to: Math.max(...prices) * 1.02 });
  });

  it('every pair of the market has its acquire and dispose keys, each once', () => {
    const keys = ALL_LIMIT_KEYS.map((k) => k.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain('limit#SOL/USDC#acquire');
    expect(keys).toContain('limit#SOL/USDC#dispose');
  });

  it("the open frame's trigger names the limit, the expiry and the last check; a snipe's adds its launch", () => {
    const check = { lastPrice: '151.2', atMs: Date.UTC(2026, 11, 2, 12) };
    expect(triggerMeta(limit({ expiresAtMs: Date.UTC(2026, 11, 3) }), check)).toEqual({
      type: 'limit',
      limitPrice: '150',
      expiresAt: '2026-12-03T00:00:00.000Z',
      lastPrice: '151.2',
      lastCheckedAt: '2026-12-02T12:00:00.000Z',
    });
    const snipe = triggerMeta({ ...limit({ limitPrice: undefined }), type: 'snipe', launch }, { lastPrice: null, atMs: check.atMs });
    expect(snipe).toMatchObject({ type: 'snipe', limitPrice: null, lastPrice: null, launch: { symbol: 'LNCH', mint: launch.mint, openTime: new Date(launch.openTime * 1000).toISOString() } });
  });

  it('an order without a limit has no landing floor', () => {
    const market = limit({ limitPrice: undefined });
    const spec = orderSpecOf(market);
    expect(spec).toBeDefined();
    expect(limitFloorOf(market, spec as OrderSpec)).toBeUndefined();
    expect(limitFloorOf(limit({}), spec as OrderSpec)).toBeGreaterThan(0n);
  });

  it('spreads orders over the expiry shards by the last character of their id, always the same shard for one id', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `01JABCDEFGHJKMNPQRSTVWXY${'0123456789ABCDEFGHJKMNPQRSTVWXYZ'[i % 32]}`);
    const shards = new Set(ids.map(expiryShardOf));
    expect(shards.size).toBe(EXPIRY_SHARDS);
    for (const id of ids) expect(expiryShardOf(id)).toBe(expiryShardOf(id));
  });
});
