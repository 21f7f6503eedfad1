import { formatFixed, formatUiAmount, resolveToken, type Token } from '../tokens';
import type { Dex } from './market';
import { tokenOfLaunch, type LaunchSpec } from './launched';

/*
 * An order as the venues see it, the route that fills it, and the route's one codec: in memory (bigint base units),
 * stored (decimal strings in base units: JSON- and DynamoDB-safe) and on the wire (PROTOCOL.md: UI units).
 * Routing builds routes, the chain lands them, the orders store and show them: all three meet here, below each of them.
 */

export interface OrderSpec {
  side: 'buy' | 'sell';
  tokenIn: Token;
  tokenOut: Token;
  amountIn: bigint;
  /** Integer basis points, 1..5000 (PROTOCOL.md: 0 < slippage% <= 50). */
  slippageBps: number;
}

/**
 * An order as stored (token symbols, amount as a base-unit decimal string), or undefined when a token is not listed.
 * A launched token is not in the list: the stored order (or transaction) carries its launch, pool included.
 */
export const orderSpecOf = (stored: {
  side: 'buy' | 'sell';
  tokenIn: string;
  tokenOut: string;
  amountIn: string;
  slippageBps: number;
  launch?: LaunchSpec | undefined;
}): OrderSpec | undefined => {
  const resolve = (symbol: string) => resolveToken(symbol) ?? (stored.launch?.symbol === symbol ? tokenOfLaunch(stored.launch) : undefined);
  const tokenIn = resolve(stored.tokenIn);
  const tokenOut = resolve(stored.tokenOut);
  if (!tokenIn || !tokenOut) return undefined;
  return { side: stored.side, tokenIn, tokenOut, amountIn: BigInt(stored.amountIn), slippageBps: stored.slippageBps };
};

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

const BPS = 10_000n;
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

// ---------------------------------------------------------------------------------------------------------------
// Codec

/** A Route with amounts as decimal strings in base units: JSON/DynamoDB-safe. */
export interface StoredRoute {
  dex: string;
  amountIn: string;
  amountOut: string;
  minAmountOut: string;
  price: string;
  priceImpactPct: string;
  legs: { dex: Dex; percent: number; amountIn: string; amountOut: string }[];
}

export function storeRoute(route: Route): StoredRoute {
  return {
    dex: route.dex,
    amountIn: route.amountIn.toString(),
    amountOut: route.amountOut.toString(),
    minAmountOut: route.minAmountOut.toString(),
    price: route.price,
    priceImpactPct: route.priceImpactPct,
    legs: route.legs.map((l) => ({ dex: l.dex, percent: l.percent, amountIn: l.amountIn.toString(), amountOut: l.amountOut.toString() })),
  };
}

export function loadRoute(stored: StoredRoute): Route {
  return {
    dex: stored.dex,
    amountIn: BigInt(stored.amountIn),
    amountOut: BigInt(stored.amountOut),
    minAmountOut: BigInt(stored.minAmountOut),
    price: stored.price,
    priceImpactPct: stored.priceImpactPct,
    legs: stored.legs.map((l): RouteLeg => ({ dex: l.dex, percent: l.percent, amountIn: BigInt(l.amountIn), amountOut: BigInt(l.amountOut) })),
  };
}

export interface WireRoute {
  dex: string;
  amountIn: string;
  amountOut: string;
  minAmountOut: string;
  price: string;
  legs: { dex: Dex; percent: number; amountIn: string; amountOut: string }[];
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
