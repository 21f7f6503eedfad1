import { ChainError } from '../errors';
import { getMarket, type Dex, type Market, type VenuePool } from '../venues/market';
import * as ammV4 from '../venues/raydium-amm-v4';
import * as cpmm from '../venues/raydium-cpmm';
import * as dlmm from '../venues/meteora-dlmm';
import { dexOf, poolsFor, quoteOne } from '../venues/pools';
import { isOpenAt, type LaunchSpec } from '../venues/launched';
import { formatPrice, minAmountOutFor, type OrderSpec, type Route, type RouteLeg } from '../venues/route';

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

/**
 * A swap on a launched pool before its open time, refused by the program:
 * - Raydium AMM v4: raydium-io/raydium-amm program/src/processor.rs process_swap_base_in (and the other swaps): a pool
 *   in status WaitingTrade whose `pool_open_time` is still ahead of the clock's unix_timestamp returns
 *   AmmError::InvalidStatus, the 23rd variant of program/src/error.rs ("Invalid status."), custom error 22 = 0x16.
 * - Meteora DLMM: the program's source is not public; the SDK's own quote (MeteoraAg/dlmm-sdk commons/src/quote.rs
 *   validate_swap_activation) refuses a swap before `activation_point` as "Pair is disabled", and the program's IDL
 *   (idls/dlmm.json, lb_clmm 0.12.0) names that error PoolDisabled, 6042 = 0x179a ("Pool disabled").
 */
function notOpenFailure(launch: LaunchSpec): ProgramFailure {
  if (launch.dex === 'raydium') {
    return { programId: ammV4.AMM_V4_PROGRAM_ID, customCode: ammV4.AMM_V4_ERRORS.invalidStatus, name: 'InvalidStatus', message: 'Invalid status.', anchor: false };
  }
  return { programId: dlmm.DLMM_PROGRAM_ID, customCode: dlmm.DLMM_ERRORS.poolDisabled, name: 'PoolDisabled', message: 'Pool disabled', anchor: true };
}

/** Program logs in the real runtime format (dex-realism.md §3.5 Anchor format; §1.2 AMM v4 log line). */
function programLogs(f: ProgramFailure): string[] {
  const hex = `0x${f.customCode.toString(16)}`;
  const body = f.anchor
    ? `Program log: AnchorError occurred. Error Code: ${f.name}. Error Number: ${f.customCode}. Error Message: ${f.message}.`
    : `Program log: Error: ${f.message}`;
  return [`Program ${f.programId} invoke [1]`, body, `Program ${f.programId} failed: custom program error: ${hex}`];
}

function chainFailure(code: 'SLIPPAGE_EXCEEDED' | 'INSUFFICIENT_LIQUIDITY' | 'POOL_NOT_OPEN', f: ProgramFailure, ix: number, extra: Record<string, unknown>): ChainError {
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
  const { direction, pools, launch } = poolsFor(market, order, atMs);
  const nowSec = Math.floor(atMs / 1000);
  const filled: { dex: Dex; amountIn: bigint; amountOut: bigint }[] = [];
  let total = 0n;
  let lastPool: VenuePool = pools[0] as VenuePool;
  for (let i = 0; i < route.legs.length; i++) {
    const leg = route.legs[i] as RouteLeg;
    const pool = pools.find((p) => dexOf(p) === leg.dex);
    if (!pool) throw new ChainError('INVALID_TRANSACTION', `no ${leg.dex} pool for this pair`, { retryable: false });
    lastPool = pool;
    if (launch && !isOpenAt(launch, atMs)) {
      return {
        ok: false,
        error: chainFailure('POOL_NOT_OPEN', notOpenFailure(launch), FIRST_SWAP_IX + i, {
          dex: leg.dex,
          poolId: pool.id,
          openTime: new Date(launch.openTime * 1000).toISOString(),
        }),
      };
    }
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
