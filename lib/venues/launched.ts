import { z } from 'zod';
import type { Token } from '../tokens';
import { AMM_V4_PROGRAM_ID, type AmmV4Pool } from './raydium-amm-v4';
import { binIdFromPricePerLamport, DLMM_DEFAULT_PARAMS, DLMM_PROGRAM_ID, pricePerLamportFromUi, type DlmmPool } from './meteora-dlmm';
import type { Dex } from './market';

/*
 * A launched token's pool: the one new pool a launch creates (Raydium AMM v4 or Meteora DLMM), as plain data.
 *
 * The spec is all a process needs to price the pool at any time, so it travels with what refers to it: a launched
 * token (Token & {launch}) carries it, an order placed on it stores it, a transaction swapping through it records it
 * (as a real transaction names the pool's accounts). Routing and landing then stay pure functions of their inputs and
 * the clock, whichever process runs them. Its reserves are fixed at creation: nothing else trades the mock pool, as
 * the seeded market's pools do not move with the engine's own fills either.
 */

export const LAUNCH_DEXES = ['raydium', 'meteora'] as const satisfies readonly Dex[];

export const launchSpecSchema = z.object({
  symbol: z.string().min(1).max(16),
  /** base58, 32 bytes */
  mint: z.string().min(32).max(44),
  decimals: z.number().int().min(0).max(12),
  dex: z.enum(LAUNCH_DEXES),
  /** Symbol of the listed token the pool quotes against (USDC or SOL). */
  quoteToken: z.string().min(1),
  poolId: z.string().min(32).max(44),
  /** When `launches` starts listing it. */
  announcedAtMs: z.number().int(),
  /** Slot time of the creation transaction (initialize2 / initialize_lb_pair): the pool exists from here on. */
  createdAtMs: z.number().int(),
  /** Unix seconds: AMM v4 `open_time`, DLMM `activation_point` (activation type 1, timestamp). */
  openTime: z.number().int(),
  /** UI price at creation, quote token per launched token (decimal string). */
  price: z.string().min(1),
  /** AMM v4: init_coin_amount; DLMM: the launched token seeded over the bins. Base units. */
  baseAmount: z.string().regex(/^\d+$/),
  /** AMM v4: init_pc_amount; DLMM: 0 (one-sided). Base units. */
  quoteAmount: z.string().regex(/^\d+$/),
  /** DLMM only. */
  binStep: z.number().int().positive().optional(),
  activeId: z.number().int().optional(),
  binCount: z.number().int().positive().optional(),
  source: z.enum(['schedule', 'mockLaunch']),
});
export type LaunchSpec = z.infer<typeof launchSpecSchema>;

/** A token that exists because of a launch: it carries its pool. */
export type LaunchedToken = Token & { launch: LaunchSpec };

export const launchOf = (token: Token): LaunchSpec | undefined => (token as Partial<LaunchedToken>).launch;

export const tokenOfLaunch = (launch: LaunchSpec): LaunchedToken => ({ symbol: launch.symbol, mint: launch.mint, decimals: launch.decimals, launch });

export const programOfLaunch = (launch: Pick<LaunchSpec, 'dex'>): string => (launch.dex === 'raydium' ? AMM_V4_PROGRAM_ID : DLMM_PROGRAM_ID);

/** AMM v4 compares the cluster's unix_timestamp (seconds) with open_time; DLMM (timestamp activation) the same way. */
export const isOpenAt = (launch: Pick<LaunchSpec, 'openTime'>, atMs: number): boolean => Math.floor(atMs / 1000) >= launch.openTime;

export const isCreatedAt = (launch: Pick<LaunchSpec, 'createdAtMs'>, atMs: number): boolean => atMs >= launch.createdAtMs;

// ---------------------------------------------------------------------------------------------------------------
// Pool parameters of a launch (modelling choices, stated where they are made).

/**
 * DLMM launch pools use a wide bin step; 100 bps with base factor 10000 gives a 1 % base fee
 * (fee = base_factor x bin_step x 10 over 1e9, the formula lib/venues/meteora-dlmm.ts implements).
 */
export const LAUNCH_DLMM_BIN_STEP = 100;
/** Bins the launched token is seeded over, from the active bin up (one-sided, as a launch seeds only its token). */
export const LAUNCH_DLMM_BINS = 60;
/** Empty bins kept below the active one: a sell finds no quote token there (PairInsufficientLiquidity). */
const LAUNCH_DLMM_EMPTY_BELOW = 5;

/** Exact UI decimal to a double, for the one-time derivation of reserves (rounded into base units once). */
const priceNumber = (price: string): number => Number(price);

/**
 * Initial amounts for a pool worth `quoteDepthUi` of the quote token on its quote side at `price`.
 * AMM v4: pc = depth, coin = depth / price. DLMM: the launched token worth `quoteDepthUi` spread over the bins.
 */
export function initialAmounts(
  args: { dex: Dex; price: string; decimals: number; quote: Token; quoteDepthUi: number },
): Pick<LaunchSpec, 'baseAmount' | 'quoteAmount' | 'binStep' | 'activeId' | 'binCount'> {
  const price = priceNumber(args.price);
  const quoteAmount = BigInt(Math.round(args.quoteDepthUi * 10 ** args.quote.decimals));
  const baseAmount = BigInt(Math.round((args.quoteDepthUi / price) * 10 ** args.decimals));
  if (args.dex === 'raydium') return { baseAmount: baseAmount.toString(), quoteAmount: quoteAmount.toString() };
  const activeId = binIdFromPricePerLamport(pricePerLamportFromUi(price, args.decimals, args.quote.decimals), LAUNCH_DLMM_BIN_STEP);
  return { baseAmount: baseAmount.toString(), quoteAmount: '0', binStep: LAUNCH_DLMM_BIN_STEP, activeId, binCount: LAUNCH_DLMM_BINS };
}

/** The launch's pool as the venue math sees it, at creation (its state does not change afterwards). */
export function poolOfLaunch(launch: LaunchSpec): AmmV4Pool | DlmmPool {
  if (launch.dex === 'raydium') {
    // raydium-io/raydium-amm program/src/processor.rs process_initialize2: status WaitingTrade (7) when open_time is
    // still ahead at initialization, SwapOnly (6) otherwise; the first swap at or after open_time moves 7 to 6.
    const waiting = launch.openTime > Math.floor(launch.createdAtMs / 1000);
    return { kind: 'raydium-amm-v4', id: launch.poolId, coinReserve: BigInt(launch.baseAmount), pcReserve: BigInt(launch.quoteAmount), status: waiting ? 7 : 6, openTime: launch.openTime };
  }
  const binStep = launch.binStep ?? LAUNCH_DLMM_BIN_STEP;
  const bins = launch.binCount ?? LAUNCH_DLMM_BINS;
  const activeId = launch.activeId ?? 0;
  const total = BigInt(launch.baseAmount);
  const width = LAUNCH_DLMM_EMPTY_BELOW + bins;
  const binX = new Array<bigint>(width).fill(0n);
  const binY = new Array<bigint>(width).fill(0n);
  const per = total / BigInt(bins);
  for (let i = 0; i < bins; i++) binX[LAUNCH_DLMM_EMPTY_BELOW + i] = i === bins - 1 ? total - per * BigInt(bins - 1) : per;
  return {
    kind: 'meteora-dlmm',
    id: launch.poolId,
    params: { ...DLMM_DEFAULT_PARAMS, binStep },
    activeId,
    minBinId: activeId - LAUNCH_DLMM_EMPTY_BELOW,
    binX,
    binY,
    v: { volatilityAccumulator: 0, volatilityReference: 0, indexReference: activeId, lastUpdateTimestamp: Math.floor(launch.createdAtMs / 1000) },
  };
}
