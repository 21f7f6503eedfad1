import { formatFixed, formatUiAmount } from '../tokens';
import { slotAt } from '../chain/clock';
import { getMarket, type Dex, type Market, type VenuePool } from '../venues/market';
import { dexOf, idealOut, poolsFor, quoteAscending, quoteOne, type SingleQuote } from '../venues/pools';
import { formatPrice, minAmountOutFor, type OrderSpec, type Route, type RouteLeg } from '../venues/route';
import { VenueError } from '../errors';

export interface VenueQuote {
  dex: Dex;
  poolId: string;
  amountOut: bigint;
  feeAmount: bigint;
  priceImpactPct: string;
  price: string;
}

export interface RoutingResult {
  quotes: VenueQuote[];
  route: Route;
  contextSlot: number;
  quotedAtMs: number;
}

/** Split search granularity: 10% steps (dex-realism.md §7.3 "split routing ... e.g. 10% steps"). */
const SPLIT_STEPS = 10;

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
// Routing

export function routeOrder(order: OrderSpec, atMs: number, market: Market = getMarket()): RoutingResult {
  const { pairId, direction, pools, launch } = poolsFor(market, order, atMs);
  if (order.amountIn <= 0n) throw new VenueError('INVALID_INPUT', 'amountIn must be positive');
  /*
   * A launched pool that is not open yet is quoted as it will trade at its open time (the pool and its reserves exist):
   * the program itself refuses a swap landing before then (lib/chain/landing.ts).
   */
  const nowSec = launch ? Math.max(Math.floor(atMs / 1000), launch.openTime) : Math.floor(atMs / 1000);
  const first = pools[0] as VenuePool;
  const second = pools[1];
  const amountIn = order.amountIn;

  // legA[i] = amountIn * i/10 goes to pools[0], the rest to pools[1]; both lists are ascending for the DLMM walk.
  const aAmounts = new Array<bigint>(SPLIT_STEPS + 1);
  const bAmounts = new Array<bigint>(SPLIT_STEPS + 1);
  for (let i = 0; i <= SPLIT_STEPS; i++) {
    const a = (amountIn * BigInt(i)) / BigInt(SPLIT_STEPS);
    aAmounts[i] = a;
    bAmounts[SPLIT_STEPS - i] = amountIn - a;
  }
  const aOut = quoteAscending(first, aAmounts, direction, nowSec);
  // One pool only (a launched token's): the other side of every split cannot fill.
  const bOut = second ? quoteAscending(second, bAmounts, direction, nowSec) : bAmounts.map((b) => (b > 0n ? -1n : 0n));

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
    throw new VenueError('INSUFFICIENT_LIQUIDITY', `no venue can fill ${formatUiAmount(amountIn, order.tokenIn)} ${order.tokenIn.symbol} on ${pairId}`, {
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
    [first, aIn, aOut[bestI] as bigint, percentA, singles[0]],
    [second, bIn, bOut[SPLIT_STEPS - bestI] as bigint, 100 - percentA, singles[1]],
  ] as const) {
    if (legIn <= 0n || !pool) continue;
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

