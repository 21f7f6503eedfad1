import { ChainError, VenueError } from '../errors';
import { formatFixed, formatUiAmount, type Token } from '../tokens';
import { slotAt } from '../chain/clock';
import { findPair, getMarket, type Dex, type Market, type PairConfig, type PoolsSnapshot, type VenuePool } from '../venues/market';
import * as ammV4 from '../venues/raydium-amm-v4';
import * as cpmm from '../venues/raydium-cpmm';
import * as dlmm from '../venues/meteora-dlmm';
import type { SwapDirection } from '../venues/types';

export interface OrderSpec {
  side: 'buy' | 'sell';
  tokenIn: Token;
  tokenOut: Token;
  amountIn: bigint;
  /** Integer basis points, 1..5000 (PROTOCOL.md: 0 < slippage% <= 50). */
  slippageBps: number;
}

export interface VenueQuote {
  dex: Dex;
  poolId: string;
  amountOut: bigint;
  feeAmount: bigint;
  priceImpactPct: string;
  price: string;
}

export interface RouteLeg {
  dex: Dex;
  percent: number;
  amountIn: bigint;
  amountOut: bigint;
}

export interface Route {
  dex: string;
  amountIn: bigint;
  amountOut: bigint;
  minAmountOut: bigint;
  price: string;
  priceImpactPct: string;
  legs: RouteLeg[];
}

export interface RoutingResult {
  quotes: VenueQuote[];
  route: Route;
  contextSlot: number;
  quotedAtMs: number;
}

const BPS = 10_000n;
/** Split search granularity: 10% steps (dex-realism.md §7.3 "split routing ... e.g. 10% steps"). */
const SPLIT_STEPS = 10;
/** PROTOCOL.md: minAmountOut = floor(quoteOut * (1 - s/100)); Raydium-API style floor (dex-realism.md §0 fact 4, §3.3). */
export function minAmountOutFor(amountOut: bigint, slippageBps: number): bigint {
  return (amountOut * (BPS - BigInt(slippageBps))) / BPS;
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

const POW10: bigint[] = Array.from({ length: 60 }, (_, i) => 10n ** BigInt(i));
/** Price precision: the counter token's decimals + 4, widened until at least 8 significant digits show. */
const PRICE_EXTRA_DECIMALS = 4;
const PRICE_MIN_SIGNIFICANT = 8;

function ratioToDecimal(num: bigint, den: bigint, minDecimals: number): string {
  if (den === 0n) return '0';
  let decimals = minDecimals;
  for (;;) {
    // Round half up.
    const scaled = (2n * num * (POW10[decimals] as bigint) + den) / (2n * den);
    const digits = scaled === 0n ? 0 : scaled.toString().length;
    if (digits >= PRICE_MIN_SIGNIFICANT || decimals >= 40 || num === 0n) return formatFixed(scaled, decimals);
    decimals += Math.max(1, PRICE_MIN_SIGNIFICANT - digits);
  }
}

/**
 * PROTOCOL.md price: units of the counter token per one unit of the asset bought or sold.
 * buy (tokenIn is the counter): amountIn / amountOut; sell (tokenOut is the counter): amountOut / amountIn; UI units.
 */
export function formatPrice(side: 'buy' | 'sell', tokenIn: Token, tokenOut: Token, amountIn: bigint, amountOut: bigint): string {
  if (side === 'buy') {
    // (amountIn / 10^decIn) / (amountOut / 10^decOut)
    return ratioToDecimal(amountIn * (POW10[tokenOut.decimals] as bigint), amountOut * (POW10[tokenIn.decimals] as bigint), tokenIn.decimals + PRICE_EXTRA_DECIMALS);
  }
  return ratioToDecimal(amountOut * (POW10[tokenIn.decimals] as bigint), amountIn * (POW10[tokenOut.decimals] as bigint), tokenOut.decimals + PRICE_EXTRA_DECIMALS);
}

// dex-realism.md §7.3: priceImpactPct is a fraction string; 12 decimals resolve a 1 USDC trade's impact.
const IMPACT_DECIMALS = 12;
const IMPACT_SCALE = 10n ** BigInt(IMPACT_DECIMALS);

/** Jupiter semantics (dex-realism.md §7.3): a fraction string, (spot - execution)/spot, fees excluded. */
function impactString(idealOut: bigint, actualOut: bigint): string {
  if (idealOut <= 0n) return '0';
  const scaled = ((idealOut - actualOut) * IMPACT_SCALE) / idealOut;
  return formatFixed(scaled, IMPACT_DECIMALS);
}

// ---------------------------------------------------------------------------------------------------------------
// Venue adapters

function dexOf(pool: VenuePool): Dex {
  return pool.kind === 'meteora-dlmm' ? 'meteora' : 'raydium';
}

function reservesOf(pool: ammV4.AmmV4Pool | cpmm.CpmmPool, direction: SwapDirection): [bigint, bigint] {
  const base = pool.kind === 'raydium-amm-v4' ? pool.coinReserve : pool.reserve0;
  const quote = pool.kind === 'raydium-amm-v4' ? pool.pcReserve : pool.reserve1;
  return direction === 'baseToQuote' ? [base, quote] : [quote, base];
}

/** Output had the net input filled at the pre-trade spot price (fees excluded). */
function idealOut(pool: VenuePool, direction: SwapDirection, netIn: bigint): bigint {
  if (netIn <= 0n) return 0n;
  if (pool.kind === 'meteora-dlmm') {
    const p = dlmm.spotPriceQ64(pool);
    return direction === 'baseToQuote' ? (netIn * p) >> 64n : (netIn << 64n) / p;
  }
  const [rin, rout] = reservesOf(pool, direction);
  return (netIn * rout) / rin;
}

interface SingleQuote {
  amountOut: bigint;
  feeAmount: bigint;
  netIn: bigint;
}

/** Full single quote; returns undefined when the venue cannot fill (insufficient liquidity / zero output). */
function quoteOne(pool: VenuePool, amountIn: bigint, direction: SwapDirection, nowSec: number): SingleQuote | undefined {
  try {
    if (pool.kind === 'raydium-amm-v4') {
      const q = ammV4.quote(pool, amountIn, direction, nowSec);
      return { amountOut: q.amountOut, feeAmount: q.feeAmount, netIn: q.netIn };
    }
    if (pool.kind === 'raydium-cpmm') {
      const q = cpmm.quote(pool, amountIn, direction, nowSec);
      return { amountOut: q.amountOut, feeAmount: q.feeAmount, netIn: q.netIn };
    }
    const q = dlmm.quote(pool, amountIn, direction, nowSec);
    return { amountOut: q.amountOut, feeAmount: q.feeAmount, netIn: q.amountIn - q.feeAmount };
  } catch (error) {
    if (error instanceof VenueError) return undefined;
    throw error;
  }
}

/** Outputs for ascending amounts (-1n = cannot fill). Constant-product pools are cheap; the DLMM walks once. */
function quoteAscending(pool: VenuePool, amounts: bigint[], direction: SwapDirection, nowSec: number): bigint[] {
  if (pool.kind === 'meteora-dlmm') return dlmm.quoteMany(pool, amounts, direction, nowSec).amountOut;
  const [rin, rout] = reservesOf(pool, direction);
  const out = new Array<bigint>(amounts.length);
  if (pool.kind === 'raydium-amm-v4') {
    for (let i = 0; i < amounts.length; i++) {
      const a = amounts[i] as bigint;
      out[i] = a > 0n ? ammV4.amountOutFast(rin, rout, a) : 0n;
    }
  } else {
    for (let i = 0; i < amounts.length; i++) {
      const a = amounts[i] as bigint;
      out[i] = a > 0n ? cpmm.amountOutFast(rin, rout, pool.tradeFeeRate, a) : 0n;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Routing

function resolvePair(order: OrderSpec): { pair: PairConfig; direction: SwapDirection } {
  const found = findPair(order.tokenIn, order.tokenOut);
  if (!found) {
    throw new VenueError('NO_ROUTE', `no pool for ${order.tokenIn.symbol} -> ${order.tokenOut.symbol}`, { retryable: false });
  }
  return found;
}

function snapshotFor(market: Market, pair: PairConfig, atMs: number): PoolsSnapshot {
  const snap = market.poolsAt(pair.id, atMs);
  if (!snap) throw new VenueError('NO_ROUTE', `no pool for ${pair.id}`, { retryable: false });
  return snap;
}

export function routeOrder(order: OrderSpec, atMs: number, market: Market = getMarket()): RoutingResult {
  const { pair, direction } = resolvePair(order);
  if (order.amountIn <= 0n) throw new VenueError('INVALID_INPUT', 'amountIn must be positive');
  const snap = snapshotFor(market, pair, atMs);
  const nowSec = Math.floor(atMs / 1000);
  const pools: [VenuePool, VenuePool] = [snap.raydium, snap.meteora];
  const amountIn = order.amountIn;

  // legA[i] = amountIn * i/10 goes to pools[0], the rest to pools[1]; both lists are ascending for the DLMM walk.
  const aAmounts = new Array<bigint>(SPLIT_STEPS + 1);
  const bAmounts = new Array<bigint>(SPLIT_STEPS + 1);
  for (let i = 0; i <= SPLIT_STEPS; i++) {
    const a = (amountIn * BigInt(i)) / BigInt(SPLIT_STEPS);
    aAmounts[i] = a;
    bAmounts[SPLIT_STEPS - i] = amountIn - a;
  }
  const aOut = quoteAscending(pools[0], aAmounts, direction, nowSec);
  const bOut = quoteAscending(pools[1], bAmounts, direction, nowSec);

  // Single venues first: a split must strictly beat the best single venue to be chosen.
  const singleA = aOut[SPLIT_STEPS] as bigint;
  const singleB = bOut[SPLIT_STEPS] as bigint;
  let bestI = -1;
  let bestOut = 0n;
  if (singleA > 0n && singleA >= singleB) {
    bestI = SPLIT_STEPS;
    bestOut = singleA;
  } else if (singleB > 0n) {
    bestI = 0;
    bestOut = singleB;
  }
  for (let i = 1; i < SPLIT_STEPS; i++) {
    const oa = aOut[i] as bigint;
    const ob = bOut[SPLIT_STEPS - i] as bigint;
    if (oa < 0n || ob < 0n) continue;
    const total = oa + ob;
    if (total > bestOut) {
      bestOut = total;
      bestI = i;
    }
  }
  if (bestI < 0) {
    throw new VenueError('INSUFFICIENT_LIQUIDITY', `no venue can fill ${formatUiAmount(amountIn, order.tokenIn)} ${order.tokenIn.symbol} on ${pair.id}`, {
      retryable: false,
    });
  }

  // Venue quotes (for the routing frame): full amounts with fees and impact.
  const quotes: VenueQuote[] = [];
  const singles: (SingleQuote | undefined)[] = [];
  for (const pool of pools) {
    const q = quoteOne(pool, amountIn, direction, nowSec);
    singles.push(q);
    if (!q || q.amountOut <= 0n) continue;
    quotes.push({
      dex: dexOf(pool),
      poolId: pool.id,
      amountOut: q.amountOut,
      feeAmount: q.feeAmount,
      priceImpactPct: impactString(idealOut(pool, direction, q.netIn), q.amountOut),
      price: formatPrice(order.side, order.tokenIn, order.tokenOut, amountIn, q.amountOut),
    });
  }

  const legs: RouteLeg[] = [];
  let ideal = 0n;
  const aIn = aAmounts[bestI] as bigint;
  const bIn = amountIn - aIn;
  const percentA = bestI * (100 / SPLIT_STEPS);
  for (const [pool, legIn, legOut, percent, single] of [
    [pools[0], aIn, aOut[bestI] as bigint, percentA, singles[0]],
    [pools[1], bIn, bOut[SPLIT_STEPS - bestI] as bigint, 100 - percentA, singles[1]],
  ] as const) {
    if (legIn <= 0n) continue;
    legs.push({ dex: dexOf(pool), percent, amountIn: legIn, amountOut: legOut });
    // Reuse the full quote's net input for a single-venue route; a split leg needs its own fee figure.
    const q = percent === 100 ? single : quoteOne(pool, legIn, direction, nowSec);
    if (q) ideal += idealOut(pool, direction, q.netIn);
  }
  const dex = legs
    .map((l) => l.dex)
    .sort()
    .join('+');
  const route: Route = {
    dex,
    amountIn,
    amountOut: bestOut,
    minAmountOut: minAmountOutFor(bestOut, order.slippageBps),
    price: formatPrice(order.side, order.tokenIn, order.tokenOut, amountIn, bestOut),
    priceImpactPct: impactString(ideal, bestOut),
    legs,
  };
  return { quotes, route, contextSlot: slotAt(atMs), quotedAtMs: atMs };
}

// ---------------------------------------------------------------------------------------------------------------
// Wire shapes (PROTOCOL.md frames: decimal strings in UI units)

export interface WireQuote {
  dex: Dex;
  amountOut: string;
  price: string;
  feeAmount: string;
  priceImpactPct: string;
}

export interface WireRoute {
  dex: string;
  amountIn: string;
  amountOut: string;
  minAmountOut: string;
  price: string;
  legs: { dex: Dex; percent: number; amountIn: string; amountOut: string }[];
}

/** feeAmount is charged on the input, so it is formatted in tokenIn units. */
export function quotesToWire(result: RoutingResult, order: OrderSpec): WireQuote[] {
  return result.quotes.map((q) => ({
    dex: q.dex,
    amountOut: formatUiAmount(q.amountOut, order.tokenOut),
    price: q.price,
    feeAmount: formatUiAmount(q.feeAmount, order.tokenIn),
    priceImpactPct: q.priceImpactPct,
  }));
}

export function routeToWire(route: Route, order: OrderSpec): WireRoute {
  return {
    dex: route.dex,
    amountIn: formatUiAmount(route.amountIn, order.tokenIn),
    amountOut: formatUiAmount(route.amountOut, order.tokenOut),
    minAmountOut: formatUiAmount(route.minAmountOut, order.tokenOut),
    price: route.price,
    legs: route.legs.map((l) => ({
      dex: l.dex,
      percent: l.percent,
      amountIn: formatUiAmount(l.amountIn, order.tokenIn),
      amountOut: formatUiAmount(l.amountOut, order.tokenOut),
    })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Landing: re-price on the pool state at landing time (dex-realism.md §7.3 "never replay the quoted amount", §7.4).

/** Compute-budget instructions precede the swaps, so swap leg i is instruction 2 + i (shape of §6 InstructionError). */
const FIRST_SWAP_IX = 2;

interface ProgramFailure {
  programId: string;
  customCode: number;
  name: string;
  message: string;
  anchor: boolean;
}

function slippageFailure(pool: VenuePool): ProgramFailure {
  // dex-realism.md §7.4 / §4.6: AMM v4 30 (0x1e), CPMM 6005 (0x1775), DLMM 6003 (0x1773).
  if (pool.kind === 'raydium-amm-v4') {
    return { programId: ammV4.AMM_V4_PROGRAM_ID, customCode: ammV4.AMM_V4_ERRORS.exceededSlippage, name: 'ExceededSlippage', message: 'exceeds desired slippage limit', anchor: false };
  }
  if (pool.kind === 'raydium-cpmm') {
    return { programId: cpmm.CPMM_PROGRAM_ID, customCode: cpmm.CPMM_ERRORS.exceededSlippage, name: 'ExceededSlippage', message: 'Exceeds desired slippage limit', anchor: true };
  }
  return { programId: dlmm.DLMM_PROGRAM_ID, customCode: dlmm.DLMM_ERRORS.exceededAmountSlippageTolerance, name: 'ExceededAmountSlippageTolerance', message: 'Exceeded amount slippage tolerance', anchor: true };
}

function liquidityFailure(): ProgramFailure {
  // dex-realism.md §7.2: DLMM PairInsufficientLiquidity 6012.
  return { programId: dlmm.DLMM_PROGRAM_ID, customCode: dlmm.DLMM_ERRORS.pairInsufficientLiquidity, name: 'PairInsufficientLiquidity', message: 'Pair has insufficient liquidity', anchor: true };
}

/** Program logs in the real runtime format (dex-realism.md §3.5 Anchor format; §1.2 AMM v4 log line). */
function programLogs(f: ProgramFailure): string[] {
  const hex = `0x${f.customCode.toString(16)}`;
  const body = f.anchor
    ? `Program log: AnchorError occurred. Error Code: ${f.name}. Error Number: ${f.customCode}. Error Message: ${f.message}.`
    : `Program log: Error: ${f.message}`;
  return [`Program ${f.programId} invoke [1]`, body, `Program ${f.programId} failed: custom program error: ${hex}`];
}

function chainFailure(code: 'SLIPPAGE_EXCEEDED' | 'INSUFFICIENT_LIQUIDITY', f: ProgramFailure, ix: number, extra: Record<string, unknown>): ChainError {
  const hex = `0x${f.customCode.toString(16)}`;
  return new ChainError(code, `${f.name} (custom program error ${hex}) in program ${f.programId}`, {
    retryable: false,
    details: {
      programId: f.programId,
      customCode: f.customCode,
      hex,
      log: programLogs(f),
      instructionError: [ix, { Custom: f.customCode }],
      ...extra,
    },
  });
}

export type ExecutionOutcome =
  | { ok: true; amountOut: bigint; executedPrice: string; legs: { dex: Dex; amountIn: bigint; amountOut: bigint }[] }
  | { ok: false; error: ChainError };

/**
 * Executes a route against the pools as they are at atMs. Each swap instruction carries its own floor (the leg's
 * share of the slippage tolerance) and the route total must reach route.minAmountOut; the first check to fail aborts
 * the transaction with that venue's program error.
 */
export function executeRouteAt(
  order: OrderSpec,
  route: Route,
  atMs: number,
  market: Market = getMarket(),
  options: { forceSlippageFailure?: boolean } = {},
): ExecutionOutcome {
  const { pair, direction } = resolvePair(order);
  const snap = snapshotFor(market, pair, atMs);
  const nowSec = Math.floor(atMs / 1000);
  const filled: { dex: Dex; amountIn: bigint; amountOut: bigint }[] = [];
  let total = 0n;
  let lastPool: VenuePool = snap.raydium;
  for (let i = 0; i < route.legs.length; i++) {
    const leg = route.legs[i] as RouteLeg;
    const pool: VenuePool = leg.dex === 'raydium' ? snap.raydium : snap.meteora;
    lastPool = pool;
    const q = quoteOne(pool, leg.amountIn, direction, nowSec);
    if (!q) {
      return { ok: false, error: chainFailure('INSUFFICIENT_LIQUIDITY', liquidityFailure(), FIRST_SWAP_IX + i, { dex: leg.dex, poolId: pool.id }) };
    }
    const legMin = minAmountOutFor(leg.amountOut, order.slippageBps);
    // A forced failure (test hook, dex-realism.md §7.8) trips the first leg's check whatever the price did.
    if (q.amountOut < legMin || options.forceSlippageFailure === true) {
      return {
        ok: false,
        error: chainFailure('SLIPPAGE_EXCEEDED', slippageFailure(pool), FIRST_SWAP_IX + i, {
          dex: leg.dex,
          poolId: pool.id,
          amountOut: q.amountOut.toString(),
          minAmountOut: legMin.toString(),
          ...(options.forceSlippageFailure === true ? { forced: true } : {}),
        }),
      };
    }
    filled.push({ dex: leg.dex, amountIn: leg.amountIn, amountOut: q.amountOut });
    total += q.amountOut;
  }
  if (total < route.minAmountOut) {
    return {
      ok: false,
      error: chainFailure('SLIPPAGE_EXCEEDED', slippageFailure(lastPool), FIRST_SWAP_IX + route.legs.length - 1, {
        dex: route.dex,
        amountOut: total.toString(),
        minAmountOut: route.minAmountOut.toString(),
      }),
    };
  }
  return { ok: true, amountOut: total, executedPrice: formatPrice(order.side, order.tokenIn, order.tokenOut, route.amountIn, total), legs: filled };
}
