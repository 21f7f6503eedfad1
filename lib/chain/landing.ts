import { ChainError } from '../errors';
import { getMarket, type Dex, type Market, type VenuePool } from '../venues/market';
import * as ammV4 from '../venues/raydium-amm-v4';
import * as cpmm from '../venues/raydium-cpmm';
import * as dlmm from '../venues/meteora-dlmm';
import { quoteOne, resolvePair, snapshotFor } from '../venues/pools';
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
