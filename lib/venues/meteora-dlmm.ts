import { VenueError } from '../errors';
import { METEORA_DLMM_PROGRAM_ID, type SwapDirection } from './types';

/** Fee rates are in units of 1e-9; dex-realism.md §2.3 (FEE_PRECISION). */
export const DLMM_FEE_PRECISION = 1_000_000_000n;
/** total fee = min(base + variable, 10%); dex-realism.md §2.3 (MAX_FEE_RATE). */
export const DLMM_MAX_FEE_RATE = 100_000_000n;
/** Bin price step and protocol share are in basis points; dex-realism.md §2.2, §2.3. */
const BASIS_POINT_MAX = 10_000;
/** Each bin crossed adds 10000 to the volatility accumulator; dex-realism.md §2.3. */
const VA_PER_BIN = 10_000;
/** Variable fee divisor: ceil(vfc * (va * binStep)^2 / 1e11); dex-realism.md §2.3. */
const VARIABLE_FEE_DIVISOR = 100_000_000_000n;
/** Anchor codes; dex-realism.md §2.4. */
export const DLMM_ERRORS = {
  exceededAmountSlippageTolerance: 6003,
  pairInsufficientLiquidity: 6012,
  invalidBinId: 6001,
  // MeteoraAg/dlmm-sdk idls/dlmm.json errors: PoolDisabled (a swap before the pair's activation point).
  poolDisabled: 6042,
} as const;
export const DLMM_PROGRAM_ID = METEORA_DLMM_PROGRAM_ID;

export interface DlmmParams {
  binStep: number;
  baseFactor: number;
  /** Seconds. */
  filterPeriod: number;
  /** Seconds. */
  decayPeriod: number;
  reductionFactor: number;
  variableFeeControl: number;
  maxVolatilityAccumulator: number;
  /** Basis points of the fee that go to the protocol (max 2500, §2.3). */
  protocolShare: number;
}

/** SDK test preset, dex-realism.md §2.3: binStep 10, baseFactor 10000, filter 30 s, decay 600 s, reduction 5000, vfc 40000, maxVA 350000. */
export const DLMM_DEFAULT_PARAMS: DlmmParams = Object.freeze({
  binStep: 10,
  baseFactor: 10_000,
  filterPeriod: 30,
  decayPeriod: 600,
  reductionFactor: 5_000,
  variableFeeControl: 40_000,
  maxVolatilityAccumulator: 350_000,
  // dex-realism.md §2.3 gives only the 25% cap; 5% is an assumption.
  protocolShare: 500,
});

export interface DlmmVolatility {
  volatilityAccumulator: number;
  volatilityReference: number;
  indexReference: number;
  /** Unix seconds on the mock clock. */
  lastUpdateTimestamp: number;
}

export interface DlmmPool {
  kind: 'meteora-dlmm';
  id: string;
  params: DlmmParams;
  v: DlmmVolatility;
  activeId: number;
  /** binX[i] / binY[i] hold the liquidity of bin minBinId + i, in base units of X (base) and Y (quote). */
  minBinId: number;
  binX: bigint[];
  binY: bigint[];
}

// ---------------------------------------------------------------------------------------------------------------
// Bin prices in Q64.64, as held on chain (§2.2), computed in Q128 so the rounding is deterministic and tiny.

// dex-realism.md §2.2: bin prices are held on chain in Q64.64.
const Q64 = 64n;
const Q128 = 128n;
const ONE_Q128 = 1n << Q128;
const priceCache = new Map<number, Map<number, bigint>>();

function powQ128(base: bigint, exp: number): bigint {
  let result = ONE_Q128;
  let b = base;
  let n = exp;
  while (n > 0) {
    if (n & 1) result = (result * b) >> Q128;
    b = (b * b) >> Q128;
    n = Math.floor(n / 2);
  }
  return result;
}

/** price(id) = (1 + binStep/1e4)^id per base unit of X, in Q64.64 (Y base units per X base unit). */
export function binPriceQ64(binStep: number, binId: number): bigint {
  let byStep = priceCache.get(binStep);
  if (!byStep) {
    byStep = new Map();
    priceCache.set(binStep, byStep);
  }
  const hit = byStep.get(binId);
  if (hit !== undefined) return hit;
  const base = ((BigInt(BASIS_POINT_MAX + binStep)) << Q128) / BigInt(BASIS_POINT_MAX);
  const pos = powQ128(base, Math.abs(binId));
  const q128 = binId >= 0 ? pos : (ONE_Q128 * ONE_Q128) / pos;
  const price = q128 >> Q64;
  if (price <= 0n) throw new VenueError('INVALID_BIN', `bin ${binId} price underflows Q64.64`);
  byStep.set(binId, price);
  return price;
}

/** Price per lamport = UI price x 10^(decY - decX); dex-realism.md §2.2. */
export function pricePerLamportFromUi(uiPrice: number, decimalsX: number, decimalsY: number): number {
  return uiPrice * 10 ** (decimalsY - decimalsX);
}

/** binId = floor(log(pricePerLamport) / log(1 + binStep/1e4)), the SDK's getBinIdFromPrice rounding down (§2.2). */
export function binIdFromPricePerLamport(pricePerLamport: number, binStep: number): number {
  return Math.floor(Math.log(pricePerLamport) / Math.log(1 + binStep / BASIS_POINT_MAX));
}

export function uiPriceOfBin(binStep: number, binId: number, decimalsX: number, decimalsY: number): number {
  return (1 + binStep / BASIS_POINT_MAX) ** binId * 10 ** (decimalsX - decimalsY);
}

// ---------------------------------------------------------------------------------------------------------------
// Fees and the volatility accumulator (§2.3).

export function baseFeeRate(p: DlmmParams): bigint {
  return BigInt(p.baseFactor) * BigInt(p.binStep) * 10n;
}

export function variableFeeRate(p: DlmmParams, volatilityAccumulator: number): bigint {
  if (p.variableFeeControl === 0) return 0n;
  const x = BigInt(volatilityAccumulator) * BigInt(p.binStep);
  const num = BigInt(p.variableFeeControl) * x * x;
  return (num + VARIABLE_FEE_DIVISOR - 1n) / VARIABLE_FEE_DIVISOR;
}

export function totalFeeRate(p: DlmmParams, volatilityAccumulator: number): bigint {
  const total = baseFeeRate(p) + variableFeeRate(p, volatilityAccumulator);
  return total > DLMM_MAX_FEE_RATE ? DLMM_MAX_FEE_RATE : total;
}

/** Reference update, once at swap start (§2.3 step 1). */
export function refreshReferences(pool: DlmmPool, nowSec: number): { volatilityReference: number; indexReference: number } {
  const { v, params } = pool;
  const elapsed = nowSec - v.lastUpdateTimestamp;
  if (elapsed >= params.filterPeriod) {
    const volatilityReference =
      elapsed < params.decayPeriod ? Math.floor((v.volatilityAccumulator * params.reductionFactor) / BASIS_POINT_MAX) : 0;
    return { volatilityReference, indexReference: pool.activeId };
  }
  return { volatilityReference: v.volatilityReference, indexReference: v.indexReference };
}

function accumulatorAt(pool: DlmmPool, ref: { volatilityReference: number; indexReference: number }, binId: number): number {
  const va = ref.volatilityReference + Math.abs(ref.indexReference - binId) * VA_PER_BIN;
  return Math.min(va, pool.params.maxVolatilityAccumulator);
}

// ---------------------------------------------------------------------------------------------------------------
// Swap walk (§2.4).

export interface DlmmBinFill {
  binId: number;
  amountInNet: bigint;
  fee: bigint;
  protocolFee: bigint;
  amountOut: bigint;
  feeRate: bigint;
  volatilityAccumulator: number;
}

export interface DlmmQuote {
  amountIn: bigint;
  amountOut: bigint;
  feeAmount: bigint;
  protocolFee: bigint;
  lpFee: bigint;
  /** Last bin the walk filled from (the new active bin after apply). */
  endBinId: number;
  startBinId: number;
  fills: DlmmBinFill[];
  volatilityAccumulator: number;
  volatilityReference: number;
  indexReference: number;
}

function insufficient(pool: DlmmPool): never {
  throw new VenueError('INSUFFICIENT_LIQUIDITY', `DLMM pool ${pool.id} has no more liquidity in the swap direction`, {
    details: { programId: DLMM_PROGRAM_ID, customCode: DLMM_ERRORS.pairInsufficientLiquidity },
  });
}

/**
 * Input (net of fee) that drains `liquidity` of the output token from a bin at priceQ64, rounded up so that
 * filling it really yields the whole bin.
 */
function maxNetInFor(liquidity: bigint, priceQ64: bigint, baseIn: boolean): bigint {
  if (baseIn) return ((liquidity << Q64) + priceQ64 - 1n) / priceQ64;
  return (liquidity * priceQ64 + (1n << Q64) - 1n) >> Q64;
}

function outFor(netIn: bigint, priceQ64: bigint, baseIn: boolean): bigint {
  return baseIn ? (netIn * priceQ64) >> Q64 : (netIn << Q64) / priceQ64;
}

/** Fee on a bin's fee-exclusive maximum, grossed up so that fee + net = gross (the on-chain compute_fee). */
function grossUpFee(netIn: bigint, feeRate: bigint): bigint {
  const denom = DLMM_FEE_PRECISION - feeRate;
  return (netIn * feeRate + denom - 1n) / denom;
}

export function quote(pool: DlmmPool, amountIn: bigint, direction: SwapDirection, nowSec: number): DlmmQuote {
  if (amountIn <= 0n) throw new VenueError('INVALID_INPUT', 'amountIn must be positive');
  const baseIn = direction === 'baseToQuote';
  const step = baseIn ? -1 : 1;
  const ref = refreshReferences(pool, nowSec);
  const outSide = baseIn ? pool.binY : pool.binX;
  const fills: DlmmBinFill[] = [];
  let remaining = amountIn;
  let amountOut = 0n;
  let feeAmount = 0n;
  let protocolFee = 0n;
  let id = pool.activeId;
  let va = pool.v.volatilityAccumulator;
  for (;;) {
    const idx = id - pool.minBinId;
    if (idx < 0 || idx >= outSide.length) insufficient(pool);
    const liquidity = outSide[idx] ?? 0n;
    va = accumulatorAt(pool, ref, id);
    if (liquidity > 0n) {
      const price = binPriceQ64(pool.params.binStep, id);
      const feeRate = totalFeeRate(pool.params, va);
      const maxNet = maxNetInFor(liquidity, price, baseIn);
      const maxFee = grossUpFee(maxNet, feeRate);
      let net: bigint;
      let fee: bigint;
      let out: bigint;
      if (remaining >= maxNet + maxFee) {
        net = maxNet;
        fee = maxFee;
        out = liquidity;
      } else {
        fee = (remaining * feeRate + DLMM_FEE_PRECISION - 1n) / DLMM_FEE_PRECISION;
        net = remaining - fee;
        out = outFor(net, price, baseIn);
        if (out > liquidity) out = liquidity;
      }
      const pf = (fee * BigInt(pool.params.protocolShare)) / BigInt(BASIS_POINT_MAX);
      fills.push({ binId: id, amountInNet: net, fee, protocolFee: pf, amountOut: out, feeRate, volatilityAccumulator: va });
      remaining -= net + fee;
      amountOut += out;
      feeAmount += fee;
      protocolFee += pf;
      if (remaining === 0n) break;
    }
    id += step;
  }
  return {
    amountIn,
    amountOut,
    feeAmount,
    protocolFee,
    lpFee: feeAmount - protocolFee,
    endBinId: id,
    startBinId: pool.activeId,
    fills,
    volatilityAccumulator: va,
    volatilityReference: ref.volatilityReference,
    indexReference: ref.indexReference,
  };
}

export interface DlmmManyQuote {
  /** -1n where the pool cannot fill that amount. */
  amountOut: bigint[];
  feeAmount: bigint[];
  /** Input net of fees per amount (what would reach the bins), for price impact. */
  netIn: bigint[];
}

/**
 * Quotes several input sizes in ONE walk. A larger swap walks the same bins with the same fee rates as a smaller one
 * (the accumulator depends on the bin index only), so each amount is a prefix of the walk plus a partial last bin.
 * `amounts` must be ascending. Results equal quote() per amount.
 */
export function quoteMany(pool: DlmmPool, amounts: readonly bigint[], direction: SwapDirection, nowSec: number): DlmmManyQuote {
  const n = amounts.length;
  const outs = new Array<bigint>(n);
  const fees = new Array<bigint>(n);
  const nets = new Array<bigint>(n);
  const baseIn = direction === 'baseToQuote';
  const step = baseIn ? -1 : 1;
  const ref = refreshReferences(pool, nowSec);
  const outSide = baseIn ? pool.binY : pool.binX;
  const binStep = pool.params.binStep;
  let k = 0;
  while (k < n && (amounts[k] as bigint) <= 0n) {
    outs[k] = 0n;
    fees[k] = 0n;
    nets[k] = 0n;
    k++;
  }
  let cumIn = 0n;
  let cumOut = 0n;
  let cumFee = 0n;
  let id = pool.activeId;
  while (k < n) {
    // Amounts that ended exactly on the previous bin's boundary need no further bin (quote() stops there too).
    while (k < n && (amounts[k] as bigint) === cumIn) {
      outs[k] = cumOut;
      fees[k] = cumFee;
      nets[k] = cumIn - cumFee;
      k++;
    }
    if (k === n) break;
    const idx = id - pool.minBinId;
    if (idx < 0 || idx >= outSide.length) {
      for (; k < n; k++) {
        outs[k] = -1n;
        fees[k] = -1n;
        nets[k] = -1n;
      }
      break;
    }
    const liquidity = outSide[idx] as bigint;
    if (liquidity > 0n) {
      const price = binPriceQ64(binStep, id);
      const feeRate = totalFeeRate(pool.params, accumulatorAt(pool, ref, id));
      const maxNet = maxNetInFor(liquidity, price, baseIn);
      const maxFee = grossUpFee(maxNet, feeRate);
      const binGross = maxNet + maxFee;
      while (k < n) {
        const rem = (amounts[k] as bigint) - cumIn;
        if (rem >= binGross) break;
        const fee = (rem * feeRate + DLMM_FEE_PRECISION - 1n) / DLMM_FEE_PRECISION;
        const net = rem - fee;
        let out = baseIn ? (net * price) >> Q64 : (net << Q64) / price;
        if (out > liquidity) out = liquidity;
        outs[k] = cumOut + out;
        fees[k] = cumFee + fee;
        nets[k] = (amounts[k] as bigint) - fees[k]!;
        k++;
      }
      cumIn += binGross;
      cumOut += liquidity;
      cumFee += maxFee;
      // An amount that exactly drains this bin ends here: the next loop iteration sees rem === 0 and adds nothing.
    }
    id += step;
  }
  return { amountOut: outs, feeAmount: fees, netIn: nets };
}

/** State after the swap: filled bins move liquidity across, LP fees stay in the bin, the protocol fee leaves. */
export function apply(pool: DlmmPool, amountIn: bigint, direction: SwapDirection, nowSec: number): DlmmPool {
  const q = quote(pool, amountIn, direction, nowSec);
  const baseIn = direction === 'baseToQuote';
  const binX = pool.binX.slice();
  const binY = pool.binY.slice();
  for (const f of q.fills) {
    const i = f.binId - pool.minBinId;
    const credited = f.amountInNet + f.fee - f.protocolFee;
    if (baseIn) {
      binX[i] = (binX[i] ?? 0n) + credited;
      binY[i] = (binY[i] ?? 0n) - f.amountOut;
    } else {
      binY[i] = (binY[i] ?? 0n) + credited;
      binX[i] = (binX[i] ?? 0n) - f.amountOut;
    }
  }
  return {
    ...pool,
    activeId: q.endBinId,
    binX,
    binY,
    v: {
      volatilityAccumulator: q.volatilityAccumulator,
      volatilityReference: q.volatilityReference,
      indexReference: q.indexReference,
      lastUpdateTimestamp: nowSec,
    },
  };
}

/** Spot = active bin price, used for Jupiter-style price impact (§7.3). */
export function spotPriceQ64(pool: DlmmPool): bigint {
  return binPriceQ64(pool.params.binStep, pool.activeId);
}
