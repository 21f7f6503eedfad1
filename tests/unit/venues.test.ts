import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as amm from '../../lib/venues/raydium-amm-v4';
import * as cpmm from '../../lib/venues/raydium-cpmm';
import * as dlmm from '../../lib/venues/meteora-dlmm';
import { VenueError } from '../../lib/errors';

const ammPool = (coin: bigint, pc: bigint): amm.AmmV4Pool => ({ kind: 'raydium-amm-v4', id: 'p', coinReserve: coin, pcReserve: pc, status: 6, openTime: 0 });
const cpPool = (r0: bigint, r1: bigint, rate = 2500n): cpmm.CpmmPool => ({
  kind: 'raydium-cpmm',
  id: 'c',
  reserve0: r0,
  reserve1: r1,
  tradeFeeRate: rate,
  protocolFeeRate: 120_000n,
  fundFeeRate: 40_000n,
  openTime: 0,
});

describe('Raydium AMM v4 (dex-realism.md §1.2)', () => {
  it('golden vector: 1 SOL into 20,000 SOL / 3,000,000 USDC -> 149.617537 USDC', () => {
    const pool = ammPool(20_000n * 10n ** 9n, 3_000_000n * 10n ** 6n);
    const q = amm.quote(pool, 10n ** 9n, 'baseToQuote');
    expect(q.amountOut).toBe(149_617_537n);
    expect(q.feeAmount).toBe(2_500_000n); // ceil(1e9 * 25 / 10000)
    expect(q.protocolFee).toBe(300_000n); // 12% of the fee
    expect(q.lpFee).toBe(2_200_000n);
  });

  it('rounds the fee up', () => {
    expect(amm.quote(ammPool(10n ** 12n, 10n ** 12n), 1n, 'baseToQuote').feeAmount).toBe(1n);
    expect(amm.quote(ammPool(10n ** 12n, 10n ** 12n), 401n, 'baseToQuote').feeAmount).toBe(2n);
  });

  it('apply keeps k non-decreasing and excludes the protocol fee from reserves', () => {
    const pool = ammPool(20_000n * 10n ** 9n, 3_000_000n * 10n ** 6n);
    const after = amm.apply(pool, 10n ** 9n, 'baseToQuote');
    expect(after.coinReserve).toBe(pool.coinReserve + 10n ** 9n - 300_000n);
    expect(after.pcReserve).toBe(pool.pcReserve - 149_617_537n);
    expect(after.coinReserve * after.pcReserve >= pool.coinReserve * pool.pcReserve).toBe(true);
  });

  it('refuses swaps in a non-swappable status', () => {
    expect(() => amm.quote({ ...ammPool(10n, 10n), status: 2 }, 1n, 'baseToQuote')).toThrow(VenueError);
  });

  it('properties: out < reserveOut, monotone in input, positive fee', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1_000n, max: 10n ** 18n }),
        fc.bigInt({ min: 1_000n, max: 10n ** 18n }),
        fc.bigInt({ min: 1n, max: 10n ** 18n }),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.boolean(),
        (r0, r1, a, d, baseIn) => {
          const dir = baseIn ? 'baseToQuote' : 'quoteToBase';
          const pool = ammPool(r0, r1);
          const q = amm.quote(pool, a, dir);
          const reserveOut = baseIn ? r1 : r0;
          expect(q.amountOut < reserveOut).toBe(true);
          expect(q.feeAmount > 0n).toBe(true);
          expect(amm.quote(pool, a + d, dir).amountOut >= q.amountOut).toBe(true);
          expect(amm.amountOutFast(baseIn ? r0 : r1, reserveOut, a)).toBe(q.amountOut);
        },
      ),
    );
  });
});

describe('Raydium CPMM (dex-realism.md §1.3)', () => {
  it('computes fee over 1e6 with protocol 12% / fund 4% of the fee', () => {
    const pool = cpPool(20_000n * 10n ** 9n, 3_000_000n * 10n ** 6n);
    const q = cpmm.quote(pool, 10n ** 9n, 'baseToQuote');
    expect(q.feeAmount).toBe(2_500_000n);
    expect(q.protocolFee).toBe(300_000n);
    expect(q.fundFee).toBe(100_000n);
    expect(q.amountOut).toBe(149_617_537n); // same curve and fee rate as the AMM v4 vector
    const after = cpmm.apply(pool, 10n ** 9n, 'baseToQuote');
    expect(after.reserve0).toBe(pool.reserve0 + 10n ** 9n - 400_000n);
  });

  it('supports other fee tiers', () => {
    const q = cpmm.quote(cpPool(10n ** 12n, 10n ** 12n, 100n), 10n ** 6n, 'quoteToBase');
    expect(q.feeAmount).toBe(100n);
  });

  it('properties: out < reserveOut, monotone, positive fee', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1_000n, max: 10n ** 18n }),
        fc.bigInt({ min: 1_000n, max: 10n ** 18n }),
        fc.bigInt({ min: 1n, max: 10n ** 18n }),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.constantFrom(100n, 2500n, 10_000n),
        (r0, r1, a, d, rate) => {
          const pool = cpPool(r0, r1, rate);
          const q = cpmm.quote(pool, a, 'baseToQuote');
          expect(q.amountOut < r1).toBe(true);
          expect(q.feeAmount > 0n).toBe(true);
          expect(cpmm.quote(pool, a + d, 'baseToQuote').amountOut >= q.amountOut).toBe(true);
        },
      ),
    );
  });
});

/** A DLMM pool with `y` of token Y in each bin at or below `active`, and `x` of X in each bin at or above. */
function dlmmPool(opts: { binStep: number; vfc?: number; active: number; min: number; max: number; x: bigint; y: bigint }): dlmm.DlmmPool {
  const n = opts.max - opts.min + 1;
  const binX: bigint[] = [];
  const binY: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const id = opts.min + i;
    binX.push(id >= opts.active ? opts.x : 0n);
    binY.push(id <= opts.active ? opts.y : 0n);
  }
  return {
    kind: 'meteora-dlmm',
    id: 'd',
    params: { ...dlmm.DLMM_DEFAULT_PARAMS, binStep: opts.binStep, variableFeeControl: opts.vfc ?? 0 },
    v: { volatilityAccumulator: 0, volatilityReference: 0, indexReference: opts.active, lastUpdateTimestamp: 1_000 },
    activeId: opts.active,
    minBinId: opts.min,
    binX,
    binY,
  };
}

describe('Meteora DLMM (dex-realism.md §2.2-2.4)', () => {
  it('golden vector: binStep 10 at UI price 150 SOL/USDC -> active bin -1899', () => {
    const perLamport = dlmm.pricePerLamportFromUi(150, 9, 6);
    expect(perLamport).toBeCloseTo(0.15, 12);
    expect(dlmm.binIdFromPricePerLamport(perLamport, 10)).toBe(-1899);
    expect(dlmm.uiPriceOfBin(10, -1899, 9, 6)).toBeCloseTo(149.86, 2);
  });

  it('Q64.64 bin prices: bin 0 is exactly 1, bin 1 is 1.01 (binStep 100), monotone', () => {
    expect(dlmm.binPriceQ64(100, 0)).toBe(1n << 64n);
    expect(dlmm.binPriceQ64(100, 1)).toBe(((1n << 64n) * 101n) / 100n);
    expect(dlmm.binPriceQ64(10, -1898) > dlmm.binPriceQ64(10, -1899)).toBe(true);
  });

  it('fees: base = baseFactor*binStep*10; variable 0.0004% at va=10000 and 0.49% at 350000; cap 10% (§2.3)', () => {
    const p = { ...dlmm.DLMM_DEFAULT_PARAMS, binStep: 10 };
    expect(dlmm.baseFeeRate(p)).toBe(1_000_000n); // 0.1%
    expect(dlmm.variableFeeRate(p, 10_000)).toBe(4_000n);
    expect(dlmm.variableFeeRate(p, 350_000)).toBe(4_900_000n);
    expect(dlmm.totalFeeRate({ ...p, binStep: 400, baseFactor: 30_000 }, 350_000)).toBe(dlmm.DLMM_MAX_FEE_RATE);
  });

  it('hand-worked 3-bin X->Y swap (binStep 100 = 1%, base fee 1%, no variable fee)', () => {
    // Bins 0, -1, -2 each hold 1000 Y. Swap 2500 X starting at bin 0 (fee rate f = 1e7 / 1e9 = 1%).
    // bin 0, price 1:        needs net ceil(1000/1) = 1000, fee ceil(1000*f/(1-f)) = ceil(10.10) = 11 -> gross 1011; out 1000.
    // bin -1, price 1/1.01:  needs net ceil(1000*1.01) = 1011 (Q64 price rounds down, so 1010.000... rounds up),
    //                        fee ceil(1011*0.01/0.99) = ceil(10.21) = 11 -> gross 1022; out 1000. Remaining 2500-1011-1022 = 467.
    // bin -2, price 1/1.0201: partial: fee ceil(467*0.01) = 5, net 462, out floor(462/1.0201) = floor(452.89) = 452.
    // Total out 2452, fee 27, ends in bin -2.
    const pool = dlmmPool({ binStep: 100, active: 0, min: -5, max: 5, x: 1000n, y: 1000n });
    const q = dlmm.quote(pool, 2500n, 'baseToQuote', 1_000);
    expect(q.fills.map((f) => [f.binId, f.amountInNet, f.fee, f.amountOut])).toEqual([
      [0, 1000n, 11n, 1000n],
      [-1, 1011n, 11n, 1000n],
      [-2, 462n, 5n, 452n],
    ]);
    expect(q.amountOut).toBe(2452n);
    expect(q.feeAmount).toBe(27n);
    expect(q.endBinId).toBe(-2);
    const after = dlmm.apply(pool, 2500n, 'baseToQuote', 1_000);
    expect(after.activeId).toBe(-2);
    expect(after.binY[0 - after.minBinId]).toBe(0n);
    expect(after.binY[-2 - after.minBinId]).toBe(1000n - 452n);
  });

  it('Y->X inside one bin is constant-sum (zero slippage) at the bin price', () => {
    const pool = dlmmPool({ binStep: 100, active: 0, min: -5, max: 5, x: 1000n, y: 1000n });
    const q = dlmm.quote(pool, 500n, 'quoteToBase', 1_000);
    expect(q.feeAmount).toBe(5n);
    expect(q.amountOut).toBe(495n);
  });

  it('volatility accumulator adds 10000 per bin crossed and raises the fee', () => {
    const pool = dlmmPool({ binStep: 10, vfc: 40_000, active: 0, min: -50, max: 50, x: 10n ** 9n, y: 10n ** 9n });
    const q = dlmm.quote(pool, 5n * 10n ** 9n, 'baseToQuote', 1_000);
    expect(q.fills.map((f) => f.volatilityAccumulator)).toEqual(q.fills.map((f) => Math.abs(f.binId) * 10_000));
    const rates = q.fills.map((f) => f.feeRate);
    for (let i = 1; i < rates.length; i++) expect(rates[i]! >= rates[i - 1]!).toBe(true);
  });

  it('reference decays after the filter period and resets after the decay period', () => {
    const pool = dlmmPool({ binStep: 10, vfc: 40_000, active: 0, min: -5, max: 5, x: 1n, y: 1n });
    pool.v = { volatilityAccumulator: 40_000, volatilityReference: 0, indexReference: 4, lastUpdateTimestamp: 1_000 };
    expect(dlmm.refreshReferences(pool, 1_010)).toEqual({ volatilityReference: 0, indexReference: 4 });
    expect(dlmm.refreshReferences(pool, 1_030)).toEqual({ volatilityReference: 20_000, indexReference: 0 });
    expect(dlmm.refreshReferences(pool, 1_600)).toEqual({ volatilityReference: 0, indexReference: 0 });
  });

  it('throws INSUFFICIENT_LIQUIDITY past the last bin', () => {
    const pool = dlmmPool({ binStep: 100, active: 0, min: -2, max: 2, x: 10n, y: 10n });
    expect(() => dlmm.quote(pool, 10_000n, 'baseToQuote', 1_000)).toThrow(expect.objectContaining({ code: 'INSUFFICIENT_LIQUIDITY' }));
    expect(dlmm.quoteMany(pool, [5n, 10_000n], 'baseToQuote', 1_000).amountOut[1]).toBe(-1n);
  });

  it('properties: quoteMany == quote, out <= liquidity, monotone, positive fee', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 10, 100),
        fc.bigInt({ min: 1_000n, max: 10n ** 12n }),
        fc.array(fc.bigInt({ min: 1n, max: 10n ** 13n }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 40_000 }),
        (binStep, liq, raw, baseIn, vfc) => {
          const pool = dlmmPool({ binStep, vfc, active: 0, min: -30, max: 30, x: liq, y: liq });
          const dir = baseIn ? 'baseToQuote' : 'quoteToBase';
          const amounts = [...raw].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          const many = dlmm.quoteMany(pool, amounts, dir, 1_000);
          const totalOut = liq * 31n;
          let prev = 0n;
          amounts.forEach((a, i) => {
            let single: dlmm.DlmmQuote | undefined;
            try {
              single = dlmm.quote(pool, a, dir, 1_000);
            } catch {
              single = undefined;
            }
            if (!single) {
              expect(many.amountOut[i]).toBe(-1n);
              return;
            }
            expect(many.amountOut[i]).toBe(single.amountOut);
            expect(many.feeAmount[i]).toBe(single.feeAmount);
            expect(single.amountOut <= totalOut).toBe(true);
            expect(single.feeAmount > 0n).toBe(true);
            expect(single.amountOut >= prev).toBe(true);
            prev = single.amountOut;
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
