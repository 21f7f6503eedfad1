import { findPair, PAIRS, type Market } from '../venues/market';
import { resolveToken } from '../tokens';
import type { OrderSpec } from '../venues/route';
import type { StoredOrderRequest } from '../aws/orders-table';
import { minAmountOutForLimit, parseLimitPrice } from './limit-price';

/*
 * Where a resting limit order sits in the watcher's index, and the watcher's first, cheap filter.
 *
 * Every order is put in its pair's base-price terms, so one pair has two index keys whatever the order's side and
 * tokens: `acquire` (the order spends the quote token for the base token: it triggers when the base price falls to
 * `restPx` or below) and `dispose` (it triggers when the base price rises to `restPx` or above). A buy of SOL with
 * USDC at 150 and a sell of USDC for SOL at 1/150 land on the same key at the same `restPx`. The watcher queries a
 * key with a range on `restPx` against the venues' price now, so its work grows with the orders near the market, not
 * with every order resting; the exact test (the order's full size through the venue math, lib/orders/limit-price.ts)
 * runs on those candidates only.
 */

export type RestSide = 'acquire' | 'dispose';

export interface RestingIndex {
  restKey: string;
  /** Base price (quote per base, UI units) at which the order triggers; a double: it only selects candidates. */
  restPx: number;
}

export const restKeyOf = (pairId: string, side: RestSide): string => `limit#${pairId}#${side}`;

/**
 * Resting snipes share one key, by their pool's open time (unix seconds) in `restPx`: the watcher asks for the ones
 * opening within SNIPE_LEAD_MS, whichever token they snipe.
 */
export const SNIPE_KEY = 'snipe';

/** The index entry of a resting order, or undefined when there is nothing to watch (a pair the market does not have). */
export const restingIndexOf = (request: StoredOrderRequest): RestingIndex | undefined => {
  if (request.type === 'snipe') return request.launch ? { restKey: SNIPE_KEY, restPx: request.launch.openTime } : undefined;
  if (request.type !== 'limit' || request.limitPrice === undefined) return undefined;
  const tokenIn = resolveToken(request.tokenIn);
  const tokenOut = resolveToken(request.tokenOut);
  const found = tokenIn && tokenOut ? findPair(tokenIn, tokenOut) : undefined;
  if (!found) return undefined;
  const { pair, direction } = found;
  // PROTOCOL.md price convention: the counter token is tokenIn for a buy, tokenOut for a sell.
  const counter = request.side === 'buy' ? request.tokenIn : request.tokenOut;
  const limit = Number(request.limitPrice);
  return {
    restKey: restKeyOf(pair.id, direction === 'quoteToBase' ? 'acquire' : 'dispose'),
    restPx: counter === pair.quote ? limit : 1 / limit,
  };
};

/**
 * How far a venue's quoted price for a full-size order can sit from the venue's marginal price in the order's favour:
 * none (fees and price impact only ever make a fill worse), except the DLMM's bin granularity (at most 0.5 % for the
 * widest bin step the market uses) and the pools' slot-to-slot move before the exact check. 2 % covers both with room.
 */
const CANDIDATE_MARGIN = 0.02;

/** The `restPx` range that can trigger now on one key: `acquire` orders at or above `from`, `dispose` at or below `to`. */
export const candidateRange = (market: Market, pairId: string, side: RestSide, nowMs: number): { from?: number; to?: number } => {
  const prices = (['raydium', 'meteora'] as const).map((dex) => market.venuePrice(pairId, dex, nowMs));
  return side === 'acquire' ? { from: Math.min(...prices) * (1 - CANDIDATE_MARGIN) } : { to: Math.max(...prices) * (1 + CANDIDATE_MARGIN) };
};

/** Every key the watcher may have to look at: two per pair of the market. */
export const ALL_LIMIT_KEYS: readonly { pairId: string; side: RestSide; key: string }[] = PAIRS.flatMap((pair) =>
  (['acquire', 'dispose'] as const).map((side) => ({ pairId: pair.id, side, key: restKeyOf(pair.id, side) })),
);

/** The least output at the order's limit (undefined for an order without one): the trigger test and the landing's floor. */
export const limitFloorOf = (request: StoredOrderRequest, spec: OrderSpec): bigint | undefined =>
  request.limitPrice === undefined ? undefined : minAmountOutForLimit(spec, parseLimitPrice(request.limitPrice));

/**
 * PROTOCOL.md v2 `open` meta: `trigger` {type, limitPrice, expiresAt, lastPrice, lastCheckedAt}; a snipe adds the
 * launch it waits for (`mint`, `openTime`).
 */
export const triggerMeta = (request: StoredOrderRequest, check: { lastPrice: string | null; atMs: number }): Record<string, unknown> => ({
  type: request.type,
  limitPrice: request.limitPrice ?? null,
  expiresAt: new Date(request.expiresAtMs ?? 0).toISOString(),
  lastPrice: check.lastPrice,
  lastCheckedAt: new Date(check.atMs).toISOString(),
  ...(request.type === 'snipe' && request.launch ? { launch: { symbol: request.launch.symbol, mint: request.launch.mint, openTime: new Date(request.launch.openTime * 1000).toISOString() } } : {}),
});

/**
 * The watcher hands a snipe to the snipes queue this long before its pool opens: the execution waits out the rest
 * itself, so that it sends in the first slot at or after the open time rather than a tick and a queue later.
 */
export const SNIPE_LEAD_MS = 2_000;

/** The expiry index's shards: a handful, so that the watcher's per-tick expiry query stays a few requests. */
export const EXPIRY_SHARDS = 4;
export const expiryShardOf = (orderId: string): string => `expiry#${orderId.charCodeAt(orderId.length - 1) % EXPIRY_SHARDS}`;

/** Noted in the watch list by every resting order: the watcher runs its expiry query only once some order has rested. */
export const RESTING_WATCH_KEY = 'resting';
