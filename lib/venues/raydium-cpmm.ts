import { VenueError } from '../errors';
import { ceilDiv, RAYDIUM_CPMM_PROGRAM_ID, type SwapDirection } from './types';

/** Fee rates are over 1e6; dex-realism.md §1.3 (FEE_RATE_DENOMINATOR). */
export const CPMM_FEE_RATE_DENOMINATOR = 1_000_000n;
/** AmmConfig[0]: trade 2500 (0.25%), protocol 120000 (12% of fee), fund 40000 (4% of fee); dex-realism.md §1.3. */
export const CPMM_DEFAULT_CONFIG = { tradeFeeRate: 2500n, protocolFeeRate: 120_000n, fundFeeRate: 40_000n } as const;
/** Anchor codes 6000 + position; dex-realism.md §1.3. */
export const CPMM_ERRORS = { notApproved: 6000, exceededSlippage: 6005, zeroTradingTokens: 6006 } as const;
export const CPMM_PROGRAM_ID = RAYDIUM_CPMM_PROGRAM_ID;

export interface CpmmPool {
  kind: 'raydium-cpmm';
  id: string;
  /** Vault balance minus accrued protocol/fund/creator fees (§1.3 point 4). */
  reserve0: bigint;
  reserve1: bigint;
  tradeFeeRate: bigint;
  protocolFeeRate: bigint;
  fundFeeRate: bigint;
  /** Unix seconds; swapping earlier fails NotApproved (6000). */
  openTime: number;
}

export interface CpmmQuote {
  amountIn: bigint;
  amountOut: bigint;
  feeAmount: bigint;
  lpFee: bigint;
  protocolFee: bigint;
  fundFee: bigint;
  netIn: bigint;
  reserveIn: bigint;
  reserveOut: bigint;
}

export function quote(pool: CpmmPool, amountIn: bigint, direction: SwapDirection, nowSec?: number): CpmmQuote {
  if (nowSec !== undefined && nowSec < pool.openTime) {
    throw new VenueError('POOL_NOT_TRADABLE', `CPMM pool ${pool.id} is not open yet`, {
      details: { programId: CPMM_PROGRAM_ID, customCode: CPMM_ERRORS.notApproved },
    });
  }
  if (amountIn <= 0n) throw new VenueError('INVALID_INPUT', 'amountIn must be positive');
  const baseIn = direction === 'baseToQuote';
  const reserveIn = baseIn ? pool.reserve0 : pool.reserve1;
  const reserveOut = baseIn ? pool.reserve1 : pool.reserve0;
  const feeAmount = ceilDiv(amountIn * pool.tradeFeeRate, CPMM_FEE_RATE_DENOMINATOR);
  const protocolFee = (feeAmount * pool.protocolFeeRate) / CPMM_FEE_RATE_DENOMINATOR;
  const fundFee = (feeAmount * pool.fundFeeRate) / CPMM_FEE_RATE_DENOMINATOR;
  const netIn = amountIn - feeAmount;
  const amountOut = (netIn * reserveOut) / (reserveIn + netIn);
  return { amountIn, amountOut, feeAmount, lpFee: feeAmount - protocolFee - fundFee, protocolFee, fundFee, netIn, reserveIn, reserveOut };
}

export function amountOutFast(reserveIn: bigint, reserveOut: bigint, tradeFeeRate: bigint, amountIn: bigint): bigint {
  const netIn = amountIn - (amountIn * tradeFeeRate + CPMM_FEE_RATE_DENOMINATOR - 1n) / CPMM_FEE_RATE_DENOMINATOR;
  return (netIn * reserveOut) / (reserveIn + netIn);
}

/** Protocol and fund fees leave the reserves (they are owed, not LP liquidity); the LP share stays. */
export function apply(pool: CpmmPool, amountIn: bigint, direction: SwapDirection, nowSec?: number): CpmmPool {
  const q = quote(pool, amountIn, direction, nowSec);
  if (q.amountOut <= 0n) {
    throw new VenueError('ZERO_TRADING_TOKENS', 'swap produces no output', {
      details: { programId: CPMM_PROGRAM_ID, customCode: CPMM_ERRORS.zeroTradingTokens },
    });
  }
  const inAfter = q.reserveIn + amountIn - q.protocolFee - q.fundFee;
  const outAfter = q.reserveOut - q.amountOut;
  return direction === 'baseToQuote' ? { ...pool, reserve0: inAfter, reserve1: outAfter } : { ...pool, reserve0: outAfter, reserve1: inAfter };
}
