import { VenueError } from '../errors';
import { ceilDiv, RAYDIUM_AMM_V4_PROGRAM_ID, type SwapDirection } from './types';

/** Swap fee 25/10000 of gross input, dex-realism.md §1.2 (on-chain Fees::initialize). */
export const AMM_V4_SWAP_FEE_NUMERATOR = 25n;
export const AMM_V4_SWAP_FEE_DENOMINATOR = 10_000n;
/** Protocol PnL share: 12% of the fee, 88% stays with LPs; dex-realism.md §1.2. */
export const AMM_V4_PNL_NUMERATOR = 12n;
export const AMM_V4_PNL_DENOMINATOR = 100n;
/** Statuses that allow swaps: Initialized, SwapOnly, WaitingTrade; dex-realism.md §1.2. */
const SWAP_STATUSES = new Set([1, 6, 7]);
/** Custom error codes by enum position; dex-realism.md §1.2. */
export const AMM_V4_ERRORS = { exceededSlippage: 30, invalidStatus: 22, invalidInput: 29, insufficientFunds: 40 } as const;
export const AMM_V4_PROGRAM_ID = RAYDIUM_AMM_V4_PROGRAM_ID;

export interface AmmV4Pool {
  kind: 'raydium-amm-v4';
  id: string;
  /** Effective reserves: vault balances minus accrued protocol PnL (§1.2), so quoting from them is exact. */
  coinReserve: bigint;
  pcReserve: bigint;
  status: number;
  /** Unix seconds; status 7 (WaitingTrade) opens here. */
  openTime: number;
}

export interface AmmV4Quote {
  amountIn: bigint;
  amountOut: bigint;
  /** Total swap fee, in input base units. */
  feeAmount: bigint;
  lpFee: bigint;
  protocolFee: bigint;
  /** Input that reaches the curve (amountIn - feeAmount). */
  netIn: bigint;
  reserveIn: bigint;
  reserveOut: bigint;
}

export function quote(pool: AmmV4Pool, amountIn: bigint, direction: SwapDirection, nowSec?: number): AmmV4Quote {
  if (!SWAP_STATUSES.has(pool.status) || (pool.status === 7 && nowSec !== undefined && nowSec < pool.openTime)) {
    throw new VenueError('POOL_NOT_TRADABLE', `AMM v4 pool ${pool.id} status ${pool.status} does not allow swaps`, {
      details: { programId: AMM_V4_PROGRAM_ID, customCode: AMM_V4_ERRORS.invalidStatus },
    });
  }
  if (amountIn <= 0n) throw new VenueError('INVALID_INPUT', 'amountIn must be positive');
  const baseIn = direction === 'baseToQuote';
  const reserveIn = baseIn ? pool.coinReserve : pool.pcReserve;
  const reserveOut = baseIn ? pool.pcReserve : pool.coinReserve;
  const feeAmount = ceilDiv(amountIn * AMM_V4_SWAP_FEE_NUMERATOR, AMM_V4_SWAP_FEE_DENOMINATOR);
  const netIn = amountIn - feeAmount;
  const amountOut = (reserveOut * netIn) / (reserveIn + netIn);
  const protocolFee = (feeAmount * AMM_V4_PNL_NUMERATOR) / AMM_V4_PNL_DENOMINATOR;
  return { amountIn, amountOut, feeAmount, lpFee: feeAmount - protocolFee, protocolFee, netIn, reserveIn, reserveOut };
}

/** Hot-path variant for the router: output only, no allocation. Same rounding as quote(). */
export function amountOutFast(reserveIn: bigint, reserveOut: bigint, amountIn: bigint): bigint {
  const netIn = amountIn - (amountIn * AMM_V4_SWAP_FEE_NUMERATOR + AMM_V4_SWAP_FEE_DENOMINATOR - 1n) / AMM_V4_SWAP_FEE_DENOMINATOR;
  return (reserveOut * netIn) / (reserveIn + netIn);
}

/** State after the swap: the LP fee stays in the reserve, the protocol share is excluded (§1.2, §7.2). */
export function apply(pool: AmmV4Pool, amountIn: bigint, direction: SwapDirection, nowSec?: number): AmmV4Pool {
  const q = quote(pool, amountIn, direction, nowSec);
  if (q.amountOut <= 0n) throw new VenueError('INVALID_INPUT', 'swap produces no output');
  const inAfter = q.reserveIn + amountIn - q.protocolFee;
  const outAfter = q.reserveOut - q.amountOut;
  return direction === 'baseToQuote'
    ? { ...pool, coinReserve: inAfter, pcReserve: outAfter }
    : { ...pool, coinReserve: outAfter, pcReserve: inAfter };
}
