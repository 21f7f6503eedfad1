import { slotAt, slotStartMs } from './clock';
import { sampleLatencyMs, type MockProfile } from './profile';
import { rngFor } from './rng';

/*
 * The mock cluster's fee market and how one send of a transaction lands. Pure functions of (seed, profile, time,
 * draws), so every Lambda that asks sees the same fees and the same fate of the same send.
 */

/** One slot's entry of getRecentPrioritizationFees (https://solana.com/docs/rpc/http/getrecentprioritizationfees). */
export interface SlotFee {
  slot: number;
  /** The lowest priority fee paid by a transaction in the slot, micro-lamports per compute unit. */
  prioritizationFee: number;
}

/** getRecentPrioritizationFees answers for the last 150 slots. */
export const RECENT_FEE_SLOTS = 150;

/** Congestion waves last this long: fees and drop rates move together within one. */
const CONGESTION_WINDOW_MS = 30_000;

/** The congestion of the window holding `atMs`: a multiplier in [1 - swing, 1 + swing]. */
export const congestionAt = (profile: MockProfile, seed: string, atMs: number): number => {
  const swing = profile.landing.congestionSwing;
  if (swing === 0) return 1;
  const window = Math.floor(atMs / CONGESTION_WINDOW_MS);
  return 1 + swing * (2 * rngFor(seed, 'congestion', window).next() - 1);
};

/** One slot's minimum priority fee. */
export const slotFee = (profile: MockProfile, seed: string, slot: number): number => {
  const rng = rngFor(seed, 'slot-fee', profile.name, slot);
  if (rng.chance(profile.landing.zeroFeeSlotShare)) return 0;
  const congestion = congestionAt(profile, seed, slotStartMs(slot));
  return Math.round(rng.lognormal(profile.landing.slotFee.medianMs, profile.landing.slotFee.p95Ms) * congestion);
};

/** The recent slots' fees up to the slot holding `nowMs`, oldest first. */
export const recentPrioritizationFees = (profile: MockProfile, seed: string, nowMs: number): SlotFee[] => {
  const newest = slotAt(nowMs);
  return Array.from({ length: RECENT_FEE_SLOTS }, (_, index) => {
    const slot = newest - RECENT_FEE_SLOTS + 1 + index;
    return { slot, prioritizationFee: slotFee(profile, seed, slot) };
  });
};

/** Where a bid stands among recent fees: the share of slots whose fee it exceeds (0 for no fee, 1 above them all). */
export const feePercentileOf = (microLamportsPerCu: number, recent: readonly SlotFee[]): number => {
  if (recent.length === 0) return microLamportsPerCu > 0 ? 1 : 0;
  return recent.filter((entry) => entry.prioritizationFee < microLamportsPerCu).length / recent.length;
};

/** What one send draws (uniforms in [0, 1)), fixed per (signature, slot of the send). */
export interface SendDraws {
  uDrop: number;
  uLateOffset: number;
  uSlow: number;
  landingMs: number;
}

export type SendFate =
  /** Never included: dropped by the leader or on the way to it. */
  | { kind: 'dropped' }
  /** Included `delayMs` after the send. */
  | { kind: 'lands'; delayMs: number }
  /** Included only after a client's confirmation wait would have given up (`lateFraction` of the room left). */
  | { kind: 'late'; lateFraction: number };

/**
 * A fee's leverage on dropping: (1 - 0.9 q)^2 of the no-fee rate at percentile q, so the top bid still drops 1 % as
 * often as no bid (leaders drop transactions for reasons no fee buys off).
 */
const dropScale = (percentile: number): number => (1 - 0.9 * percentile) ** 2;

/**
 * The fate of one send with priority-fee percentile `percentile` under congestion `congestion`. With no fee and a
 * calm market it keeps the single-send rates of the profile: never included `blockhashExpired + ambiguousTimeout / 2`,
 * late `ambiguousTimeout / 2`.
 * Laws (tests/unit/landing-model.test.ts): for the same draws, a higher percentile never turns a landing into a drop
 * and never lands later.
 */
export const sendFate = (profile: MockProfile, draws: SendDraws, percentile: number, congestion = 1): SendFate => {
  const rates = profile.failureRates;
  const scale = Math.min(1 / Math.max(rates.blockhashExpired + rates.ambiguousTimeout, 1e-9), dropScale(percentile) * congestion);
  const dropRate = (rates.blockhashExpired + rates.ambiguousTimeout / 2) * scale;
  const lateRate = (rates.ambiguousTimeout / 2) * scale;
  if (draws.uDrop < dropRate) return { kind: 'dropped' };
  if (draws.uDrop < dropRate + lateRate) return { kind: 'late', lateFraction: draws.uLateOffset };
  const { slowBelowPercentile, slowFactor } = profile.landing;
  const slow = percentile < slowBelowPercentile ? slowFactor.min + draws.uSlow * (slowFactor.max - slowFactor.min) : 1;
  return { kind: 'lands', delayMs: Math.round(draws.landingMs * slow) };
};

/**
 * How long after a transaction is processed its block is confirmed. Confirmation belongs to a block, not to a
 * transaction: "confirmed" is a block voted on by a supermajority of the cluster's stake
 * (https://docs.anza.xyz/consensus/commitments), so every transaction processed in one slot waits for the same votes.
 * The wait is drawn once per slot from the profile's processed -> confirmed latency: each transaction's wait keeps that
 * distribution, and the transactions of one block share it (a batch sent together is confirmed by a few blocks' votes,
 * not by one independent wait per transaction).
 */
export const blockVoteDelayMs = (profile: MockProfile, seed: string, slot: number): number =>
  sampleLatencyMs(profile, 'confirm', rngFor(seed, 'block-votes', profile.name, slot));

/** When a transaction processed at `landsAtMs` is confirmed: its block's votes. */
export const confirmationAt = (profile: MockProfile, seed: string, landsAtMs: number): number =>
  landsAtMs + blockVoteDelayMs(profile, seed, slotAt(landsAtMs));

/*
 * Fees as Solana charges them (https://solana.com/docs/core/fees): 5,000 lamports per signature, and a priority fee
 * of ceil(compute-unit price in micro-lamports x compute-unit limit / 1,000,000): the limit is charged, not the units
 * used. Both are paid by a transaction that lands, whether it then succeeds or fails.
 */
export const BASE_FEE_LAMPORTS = 5_000;

export const priorityFeeLamports = (microLamportsPerCu: number, computeUnitLimit: number): number =>
  Math.ceil((microLamportsPerCu * computeUnitLimit) / 1_000_000);

/*
 * Compute units a swap uses per venue leg (assumption: a constant-product swap is cheaper than a DLMM swap, which
 * walks bin arrays), plus the compute-budget instructions and the token-account checks around them.
 */
const UNITS_PER_LEG: Record<string, number> = { raydium: 80_000, meteora: 120_000 };
const UNITS_OVERHEAD = 10_000;
/** The limit asked for is the simulated use plus a 20 % margin, so a slightly busier path still fits. */
const UNIT_LIMIT_MARGIN = 1.2;
/** Solana's ceiling per transaction (https://solana.com/docs/core/fees#compute-unit-limit). */
export const MAX_COMPUTE_UNIT_LIMIT = 1_400_000;

export const computeUnitLimitFor = (legDexes: readonly string[]): number => {
  const used = UNITS_OVERHEAD + legDexes.reduce((sum, dex) => sum + (UNITS_PER_LEG[dex] ?? 120_000), 0);
  return Math.min(MAX_COMPUTE_UNIT_LIMIT, Math.ceil(used * UNIT_LIMIT_MARGIN));
};
