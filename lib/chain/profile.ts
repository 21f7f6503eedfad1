import { VenueError } from '../errors';
import type { Rng } from './rng';

export type MockProfileName = 'realistic' | 'congested' | 'fast' | 'zero';

export type LatencyStage =
  | 'quoteRaydium'
  | 'quoteMeteora'
  | 'aggregator'
  | 'build'
  | 'sign'
  | 'sendAck'
  | 'landing'
  | 'confirm';

export interface LatencySpec {
  medianMs: number;
  p95Ms: number;
}

export interface FailureRates {
  /** Venue quote/build API answers 5xx (retryable VENUE_UNAVAILABLE). */
  venue5xx: number;
  /** sendTransaction never reaches the leader (retryable RPC_TIMEOUT, nothing recorded). */
  rpcTimeout: number;
  /** Sent but never lands; expires once the blockhash is too old. */
  blockhashExpired: number;
  /** Lands only after the engine's confirmation wait, or never (half each). */
  ambiguousTimeout: number;
}

/**
 * How a send lands (lib/chain/landing-model.ts). A transaction's priority fee is judged against the fees of recent
 * slots: its percentile there (0 for no fee, 1 above all of them) sets its chance of being dropped and how fast it
 * lands. The fee rates of recent slots are drawn per slot from the profile's fee market.
 */
export interface LandingProfile {
  /** Below this percentile of recent fees, landing takes `slowFactor` times longer. 0: never slowed. */
  slowBelowPercentile: number;
  slowFactor: { min: number; max: number };
  /**
   * Congestion comes in waves (per 30 s window, seeded): the drop rates and the fee levels of a window are scaled by
   * 1 + swing x w, w in [-1, 1]. 0: a flat market.
   */
  congestionSwing: number;
  /** Recent slots' minimum priority fee, micro-lamports per compute unit: this share of slots had none... */
  zeroFeeSlotShare: number;
  /** ...and the rest are lognormal with this median and p95. */
  slotFee: LatencySpec;
}

export interface MockProfile {
  name: MockProfileName;
  latencies: Record<LatencyStage, LatencySpec>;
  failureRates: FailureRates;
  landing: LandingProfile;
  /** A sender's rebroadcast interval (the same signed transaction, until it lands or its blockhash expires). */
  rebroadcastMs: number;
  /** How long the engine waits for confirmation before treating the outcome as unknown (web3.js 30 s, §4.3). */
  confirmTimeoutMs: number;
  /**
   * Blockhash lifetime. `null` = the real rule, 150 blocks by block height (§4.3); a number = that many ms after the
   * blockhash's slot, so the fast/zero profiles can exercise expiry without waiting a minute.
   */
  blockhashLifetimeMs: number | null;
}

export interface MockProfileOverrides {
  latencies?: Partial<Record<LatencyStage, LatencySpec>>;
  failureRates?: Partial<FailureRates>;
  confirmTimeoutMs?: number;
  blockhashLifetimeMs?: number | null;
}

/** dex-realism.md §7.5 table (median / p95); landing 1 slot / 6 slots; processed->confirmed 0.8 s / 2 s. */
const REALISTIC_LATENCIES: Record<LatencyStage, LatencySpec> = {
  quoteRaydium: { medianMs: 80, p95Ms: 300 },
  quoteMeteora: { medianMs: 120, p95Ms: 400 },
  aggregator: { medianMs: 15, p95Ms: 60 },
  build: { medianMs: 60, p95Ms: 250 },
  sign: { medianMs: 2, p95Ms: 10 },
  sendAck: { medianMs: 60, p95Ms: 300 },
  landing: { medianMs: 400, p95Ms: 2_400 },
  confirm: { medianMs: 800, p95Ms: 2_000 },
};

/** Assumption: every stage 1-20 ms so the pipeline runs at test speed but keeps the same ordering of events. */
const FAST_LATENCIES: Record<LatencyStage, LatencySpec> = {
  quoteRaydium: { medianMs: 3, p95Ms: 10 },
  quoteMeteora: { medianMs: 4, p95Ms: 12 },
  aggregator: { medianMs: 1, p95Ms: 2 },
  build: { medianMs: 2, p95Ms: 8 },
  sign: { medianMs: 1, p95Ms: 2 },
  sendAck: { medianMs: 2, p95Ms: 8 },
  landing: { medianMs: 5, p95Ms: 20 },
  confirm: { medianMs: 5, p95Ms: 15 },
};

const ZERO_LATENCIES: Record<LatencyStage, LatencySpec> = Object.fromEntries(
  Object.keys(REALISTIC_LATENCIES).map((k) => [k, { medianMs: 0, p95Ms: 0 }]),
) as Record<LatencyStage, LatencySpec>;

/** dex-realism.md §7.6 defaults: expired 1%, ambiguous 0.3%, venue 5xx 0.2%, stale blockhash / RPC trouble 0.2%. */
const REALISTIC_RATES: FailureRates = { venue5xx: 0.002, rpcTimeout: 0.002, blockhashExpired: 0.01, ambiguousTimeout: 0.003 };
const NO_FAILURES: FailureRates = { venue5xx: 0, rpcTimeout: 0, blockhashExpired: 0, ambiguousTimeout: 0 };

/*
 * Fee market (assumption, shaped like mainnet's getRecentPrioritizationFees answers: many slots at 0, a long tail;
 * https://solana.com/docs/rpc/http/getrecentprioritizationfees). Realistic: fees change how fast nothing lands.
 */
const CALM_LANDING: LandingProfile = {
  slowBelowPercentile: 0,
  slowFactor: { min: 1, max: 1 },
  congestionSwing: 0,
  zeroFeeSlotShare: 0.4,
  slotFee: { medianMs: 5_000, p95Ms: 100_000 },
};

/*
 * Congested (assumption): below the median of recent fees a transaction lands 5-20x slower, and 20-40 % of those with
 * no fee are never included (30 % on average, in waves of +-1/3); fee levels ten times the calm market's.
 */
const CONGESTED_LANDING: LandingProfile = {
  slowBelowPercentile: 0.5,
  slowFactor: { min: 5, max: 20 },
  congestionSwing: 1 / 3,
  zeroFeeSlotShare: 0.1,
  slotFee: { medianMs: 50_000, p95Ms: 1_000_000 },
};

/*
 * A rebroadcast every 500 ms until the blockhash expires: the custom rebroadcast loop of Solana's "Retrying
 * Transactions" guide sends the same signed transaction every 500 ms
 * (https://github.com/solana-developers/solana-cookbook, code/retrying-transactions/retry.preview.en.ts; the guide:
 * https://solana.com/developers/cookbook/transactions/retry), and the Mango loop it cites every 300 ms
 * (code/retrying-transactions/mango.en.ts there). Jupiter's example sender waits 2 s
 * (https://github.com/jup-ag/jupiter-quote-api-node, example/utils/transactionSender.ts): a send dropped on its way
 * to the leader then costs up to 2 s more, where 500 ms tries again about once a slot.
 */
const REBROADCAST_MS = 500;

const BASE: Record<MockProfileName, MockProfile> = {
  realistic: {
    name: 'realistic',
    latencies: REALISTIC_LATENCIES,
    failureRates: REALISTIC_RATES,
    landing: CALM_LANDING,
    rebroadcastMs: REBROADCAST_MS,
    // web3.js TransactionExpiredTimeoutError: "not confirmed in 30.00 seconds" (dex-realism.md §4.3).
    confirmTimeoutMs: 30_000,
    // 150 blocks by block height (dex-realism.md §4.3).
    blockhashLifetimeMs: null,
  },
  congested: {
    name: 'congested',
    latencies: REALISTIC_LATENCIES,
    // 30 % of no-fee sends never included (the drop of a send is blockhashExpired + ambiguousTimeout / 2).
    failureRates: { ...REALISTIC_RATES, blockhashExpired: 0.3 - REALISTIC_RATES.ambiguousTimeout / 2 },
    landing: CONGESTED_LANDING,
    rebroadcastMs: REBROADCAST_MS,
    confirmTimeoutMs: 30_000,
    /*
     * Slots of 450-600 ms under congestion stretch the 150 blocks of a blockhash's life (assumption: 525 ms, so
     * 78.75 s); slot numbers keep the 400 ms clock.
     */
    blockhashLifetimeMs: 150 * 525,
  },
  fast: {
    name: 'fast',
    latencies: FAST_LATENCIES,
    failureRates: NO_FAILURES,
    landing: CALM_LANDING,
    rebroadcastMs: 100,
    /*
     * Assumption: shorter than mainnet's 30 s confirm wait and ~60-90 s blockhash life (§4.3) so expiry tests run
     * in seconds, yet long enough that the engine's own work between fetching a blockhash and sending (two state
     * writes, under load on an emulator) does not expire it: the chain is scaled down, the pipeline is not.
     */
    confirmTimeoutMs: 1_000,
    blockhashLifetimeMs: 2_500,
  },
  zero: {
    name: 'zero',
    latencies: ZERO_LATENCIES,
    failureRates: NO_FAILURES,
    landing: CALM_LANDING,
    rebroadcastMs: 100,
    confirmTimeoutMs: 1_000,
    blockhashLifetimeMs: 2_500,
  },
};

export function isMockProfileName(name: string): name is MockProfileName {
  return name === 'realistic' || name === 'congested' || name === 'fast' || name === 'zero';
}

export function mockProfile(name: MockProfileName | string, overrides: MockProfileOverrides = {}): MockProfile {
  if (!isMockProfileName(name)) throw new Error(`unknown mock profile "${name}" (realistic | congested | fast | zero)`);
  const base = BASE[name];
  const rates: FailureRates = { ...base.failureRates };
  for (const [key, value] of Object.entries(overrides.failureRates ?? {})) {
    if (!(key in rates)) throw new Error(`unknown failure rate "${key}" (${Object.keys(rates).join(', ')})`);
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new Error(`failure rate ${key} must be in [0, 1]`);
    rates[key as keyof FailureRates] = value;
  }
  return {
    name,
    latencies: { ...base.latencies, ...overrides.latencies },
    failureRates: rates,
    landing: base.landing,
    rebroadcastMs: base.rebroadcastMs,
    confirmTimeoutMs: overrides.confirmTimeoutMs ?? base.confirmTimeoutMs,
    blockhashLifetimeMs: overrides.blockhashLifetimeMs === undefined ? base.blockhashLifetimeMs : overrides.blockhashLifetimeMs,
  };
}

export function sampleLatencyMs(profile: MockProfile, stage: LatencyStage, rng: Rng): number {
  const spec = profile.latencies[stage];
  if (spec.medianMs <= 0) return 0;
  return Math.round(rng.lognormal(spec.medianMs, spec.p95Ms));
}

/** Both venues are quoted in parallel, so the routing stage takes the slower of the two (plus aggregator compute). */
export function quoteLatencyMs(profile: MockProfile, rng: Rng): number {
  const raydium = sampleLatencyMs(profile, 'quoteRaydium', rng);
  const meteora = sampleLatencyMs(profile, 'quoteMeteora', rng);
  return Math.max(raydium, meteora) + sampleLatencyMs(profile, 'aggregator', rng);
}

/**
 * Venue API 5xx draw (dex-realism.md §7.6: 0.2%, retryable). Returns the error to throw, or undefined. `forced` lets
 * tests inject it for a given order/attempt.
 */
export function drawVenue5xx(profile: MockProfile, rng: Rng, forced = false): VenueError | undefined {
  if (!forced && !rng.chance(profile.failureRates.venue5xx)) return undefined;
  const dex = rng.next() < 0.5 ? 'raydium' : 'meteora';
  return new VenueError('VENUE_UNAVAILABLE', `${dex} quote API answered 503 Service Unavailable`, {
    retryable: true,
    details: { dex, httpStatus: 503 },
  });
}
