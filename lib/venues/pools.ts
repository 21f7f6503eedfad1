import { VenueError } from '../errors';
import { findPair, type Dex, type Market, type PairConfig, type PoolsSnapshot, type VenuePool } from './market';
import * as ammV4 from './raydium-amm-v4';
import * as cpmm from './raydium-cpmm';
import * as dlmm from './meteora-dlmm';
import type { SwapDirection } from './types';
import type { OrderSpec } from './route';
import { isCreatedAt, launchOf, poolOfLaunch, type LaunchSpec } from './launched';

/* The venues behind one interface: quoting a pool of any kind, for routing (the quote) and for landing (the fill). */

export function dexOf(pool: VenuePool): Dex {
  return pool.kind === 'meteora-dlmm' ? 'meteora' : 'raydium';
}

function reservesOf(pool: ammV4.AmmV4Pool | cpmm.CpmmPool, direction: SwapDirection): [bigint, bigint] {
  const base = pool.kind === 'raydium-amm-v4' ? pool.coinReserve : pool.reserve0;
  const quote = pool.kind === 'raydium-amm-v4' ? pool.pcReserve : pool.reserve1;
  return direction === 'baseToQuote' ? [base, quote] : [quote, base];
}

/** Output had the net input filled at the pre-trade spot price (fees excluded). */
export function idealOut(pool: VenuePool, direction: SwapDirection, netIn: bigint): bigint {
  if (netIn <= 0n) return 0n;
  if (pool.kind === 'meteora-dlmm') {
    const p = dlmm.spotPriceQ64(pool);
    return direction === 'baseToQuote' ? (netIn * p) >> 64n : (netIn << 64n) / p;
  }
  const [rin, rout] = reservesOf(pool, direction);
  return (netIn * rout) / rin;
}

export interface SingleQuote {
  amountOut: bigint;
  feeAmount: bigint;
  netIn: bigint;
}

/** Full single quote; returns undefined when the venue cannot fill (insufficient liquidity / zero output). */
export function quoteOne(pool: VenuePool, amountIn: bigint, direction: SwapDirection, nowSec: number): SingleQuote | undefined {
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
export function quoteAscending(pool: VenuePool, amounts: bigint[], direction: SwapDirection, nowSec: number): bigint[] {
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

export function resolvePair(order: OrderSpec): { pair: PairConfig; direction: SwapDirection } {
  const found = findPair(order.tokenIn, order.tokenOut);
  if (!found) {
    throw new VenueError('NO_ROUTE', `no pool for ${order.tokenIn.symbol} -> ${order.tokenOut.symbol}`, { retryable: false });
  }
  return found;
}

export function snapshotFor(market: Market, pair: PairConfig, atMs: number): PoolsSnapshot {
  const snap = market.poolsAt(pair.id, atMs);
  if (!snap) throw new VenueError('NO_ROUTE', `no pool for ${pair.id}`, { retryable: false });
  return snap;
}


/** The pools an order can trade on at atMs: the seeded market's pair (both venues), or a launched token's one pool. */
export interface PairPools {
  pairId: string;
  direction: SwapDirection;
  pools: VenuePool[];
  /** Set for a launched token's pool. */
  launch?: LaunchSpec;
}

/** The launch whose pool trades this pair: the launched token against the launch's quote token. */
export function launchPairOf(order: Pick<OrderSpec, 'tokenIn' | 'tokenOut'>): { launch: LaunchSpec; direction: SwapDirection } | undefined {
  const out = launchOf(order.tokenOut);
  if (out && out.quoteToken === order.tokenIn.symbol && !launchOf(order.tokenIn)) return { launch: out, direction: 'quoteToBase' };
  const inn = launchOf(order.tokenIn);
  if (inn && inn.quoteToken === order.tokenOut.symbol && !launchOf(order.tokenOut)) return { launch: inn, direction: 'baseToQuote' };
  return undefined;
}

export function poolsFor(market: Market, order: OrderSpec, atMs: number): PairPools {
  const launched = launchPairOf(order);
  if (launched) {
    const { launch, direction } = launched;
    const pairId = `${launch.symbol}/${launch.quoteToken}`;
    if (!isCreatedAt(launch, atMs)) {
      throw new VenueError('NO_ROUTE', `no pool for ${pairId} yet: it is created at ${new Date(launch.createdAtMs).toISOString()}`, { retryable: false });
    }
    return { pairId, direction, pools: [poolOfLaunch(launch)], launch };
  }
  const { pair, direction } = resolvePair(order);
  const snap = snapshotFor(market, pair, atMs);
  return { pairId: pair.id, direction, pools: [snap.raydium, snap.meteora] };
}
