import { ChainError, VenueError } from '../errors';
import { executeRouteAt } from './landing';
import { loadRoute, orderSpecOf, storeRoute, type OrderSpec, type Route, type StoredRoute } from '../venues/route';
import { getMarket, marketFor } from '../venues/market';
import { BLOCKHASH_VALID_BLOCKS, clockFor, slotAt, slotStartMs, type SlotClock } from './clock';
import { sampleLatencyMs, type MockProfile, type MockProfileName } from './profile';
import { rngFor } from './rng';
import {
  BASE_FEE_LAMPORTS,
  computeUnitLimitFor,
  congestionAt,
  confirmationAt,
  feePercentileOf,
  priorityFeeLamports,
  recentPrioritizationFees,
  sendFate,
  type SendDraws,
  type SlotFee,
} from './landing-model';
import { blockhashForSlot, transactionSignature } from './signature';
import type { ForcedFailure } from './forced-failures';
import { launchOf, type LaunchSpec } from '../venues/launched';
import type { BuildTransactionArgs, BuiltTransaction, ChainPort, ConfirmationHints, RecentFee, SentTransaction, SignedTransaction, TxFees, TxOutcome } from './port';

export type { ForcedFailure } from './forced-failures';

export { BASE_FEE_LAMPORTS } from './landing-model';

/** How the transaction stands after its sends so far: landing by one of them, late, or never (so far). */
export type TxFate = 'lands' | 'late' | 'dropped' | 'forced-expired' | 'ambiguous-late' | 'ambiguous-dropped';

/**
 * Everything needed to compute the transaction's status at any later time as a pure function of (record, nowMs).
 * JSON-serialisable, no undefined values (DynamoDB DocumentClient rejects them).
 */
export interface TxRecord {
  signature: string;
  orderId: string;
  attempt: number;
  blockhash: string;
  blockhashSlot: number;
  lastValidBlockHeight: number;
  side: 'buy' | 'sell';
  tokenIn: string;
  tokenOut: string;
  amountIn: string;
  slippageBps: number;
  minAmountOut: string;
  route: StoredRoute;
  /** The market the landing is re-priced on. */
  marketSeed: string;
  profile: MockProfileName;
  sentAtMs: number;
  /** First instant at which the blockhash is too old to land. */
  expiresAtMs: number;
  /** null = no send so far lands. A rebroadcast may set it (earlier, and never once it has passed). */
  landsAtMs: number | null;
  confirmAtMs: number | null;
  /** What the landing charges (base + priority); 0 while nothing lands. */
  feeLamports: number;
  fate: TxFate;
  forcedFailure: ForcedFailure | null;
  /** ComputeBudget: the unit limit and the price per unit bid (0 and 0 for records older than priority fees). */
  computeUnitLimit?: number;
  microLamportsPerCu?: number;
  /** Set once a reader saw it expire without landing: from then on no rebroadcast may land it. */
  sealed?: boolean;
  /** The launched token's pool the swap goes through (absent for the seeded market's pairs). */
  launch?: LaunchSpec;
}

/** What a landed record paid. */
export const feesOf = (record: Pick<TxRecord, 'computeUnitLimit' | 'microLamportsPerCu'>): TxFees => {
  const computeUnits = record.computeUnitLimit ?? 0;
  return { baseLamports: BASE_FEE_LAMPORTS, priorityLamports: priorityFeeLamports(record.microLamportsPerCu ?? 0, computeUnits), computeUnits };
};

/** A landing found by a rebroadcast: the fields of the record it changes. */
export type LandingUpdate = Pick<TxRecord, 'landsAtMs' | 'confirmAtMs' | 'feeLamports' | 'fate'>;

export interface LedgerStore {
  /** false = a record with this signature already existed (nothing written). */
  putIfAbsent(record: TxRecord): Promise<boolean>;
  get(signature: string): Promise<TxRecord | undefined>;
  /**
   * Records an earlier landing found by a rebroadcast, on condition that the record still lands at `expectedLandsAtMs`
   * (null: not at all) and is not sealed. false: the condition failed (nothing written).
   */
  improveLanding(signature: string, update: LandingUpdate, expectedLandsAtMs: number | null): Promise<boolean>;
  /** Seals a record that never landed (the expiry verdict). false: it has a landing now, or was sealed already. */
  seal(signature: string): Promise<boolean>;
}

export class InMemoryLedger implements LedgerStore {
  private readonly records = new Map<string, string>();

  async putIfAbsent(record: TxRecord): Promise<boolean> {
    if (this.records.has(record.signature)) return false;
    // Stored as JSON so tests see exactly what a DynamoDB round trip would give back.
    this.records.set(record.signature, JSON.stringify(record));
    return true;
  }

  async get(signature: string): Promise<TxRecord | undefined> {
    const raw = this.records.get(signature);
    return raw === undefined ? undefined : (JSON.parse(raw) as TxRecord);
  }

  async improveLanding(signature: string, update: LandingUpdate, expectedLandsAtMs: number | null): Promise<boolean> {
    const record = await this.get(signature);
    if (!record || record.sealed || record.landsAtMs !== expectedLandsAtMs) return false;
    this.records.set(signature, JSON.stringify({ ...record, ...update }));
    return true;
  }

  async seal(signature: string): Promise<boolean> {
    const record = await this.get(signature);
    if (!record || record.sealed || record.landsAtMs !== null) return false;
    this.records.set(signature, JSON.stringify({ ...record, sealed: true }));
    return true;
  }

  get size(): number {
    return this.records.size;
  }

  signaturesOf(orderId: string): string[] {
    return [...this.records.values()].map((r) => JSON.parse(r) as TxRecord).filter((r) => r.orderId === orderId).map((r) => r.signature);
  }
}

export type SignatureStatus =
  | { state: 'unknown' }
  | { state: 'processed'; slot: number }
  | { state: 'confirmed'; slot: number; amountOut: bigint; executedPrice: string; feeLamports: number; fees: TxFees }
  | { state: 'failed'; slot: number; error: ChainError; feeLamports: number; fees: TxFees }
  | { state: 'expired' };

export interface LatestBlockhash {
  blockhash: string;
  lastValidBlockHeight: number;
  slot: number;
}

export function buildSignedTransaction(args: {
  orderId: string;
  attempt: number;
  order: OrderSpec;
  route: Route;
  blockhash: { blockhash: string; lastValidBlockHeight: number };
  computeBudget?: { computeUnitLimit: number; microLamportsPerCu: number };
  forcedFailure?: ForcedFailure;
}): SignedTransaction {
  const req: SignedTransaction = {
    orderId: args.orderId,
    attempt: args.attempt,
    blockhash: args.blockhash.blockhash,
    lastValidBlockHeight: args.blockhash.lastValidBlockHeight,
    side: args.order.side,
    tokenIn: args.order.tokenIn.symbol,
    tokenOut: args.order.tokenOut.symbol,
    amountIn: args.order.amountIn.toString(),
    slippageBps: args.order.slippageBps,
    route: storeRoute(args.route),
    computeUnitLimit: args.computeBudget?.computeUnitLimit ?? computeUnitLimitFor(args.route.legs.map((leg) => leg.dex)),
    microLamportsPerCu: args.computeBudget?.microLamportsPerCu ?? 0,
  };
  if (args.forcedFailure !== undefined) req.forcedFailure = args.forcedFailure;
  const launch = launchOf(args.order.tokenOut) ?? launchOf(args.order.tokenIn);
  if (launch !== undefined) req.launch = launch;
  return req;
}

/** The order a recorded transaction fills; a token delisted since cannot be settled. */
function specOfRecord(record: TxRecord): OrderSpec {
  const spec = orderSpecOf(record);
  if (!spec) throw new ChainError('INVALID_TRANSACTION', `unknown token in ${record.tokenIn} -> ${record.tokenOut}`);
  return spec;
}

// ---------------------------------------------------------------------------------------------------------------
// Pure status

/** Status of a recorded transaction at nowMs: a pure function, so every process (and every retry) agrees. */
export function statusOf(record: TxRecord, nowMs: number): SignatureStatus {
  if (record.landsAtMs !== null && nowMs >= record.landsAtMs) {
    const slot = slotAt(record.landsAtMs);
    if (record.confirmAtMs !== null && nowMs < record.confirmAtMs) return { state: 'processed', slot };
    const outcome = executeRouteAt(specOfRecord(record), loadRoute(record.route), record.landsAtMs, marketFor(record.marketSeed), {
      forceSlippageFailure: record.forcedFailure === 'SLIPPAGE_EXCEEDED',
    });
    const fees = feesOf(record);
    const feeLamports = fees.baseLamports + fees.priorityLamports;
    if (outcome.ok) {
      return { state: 'confirmed', slot, amountOut: outcome.amountOut, executedPrice: outcome.executedPrice, feeLamports, fees };
    }
    return { state: 'failed', slot, error: outcome.error, feeLamports, fees };
  }
  if (nowMs >= record.expiresAtMs) return { state: 'expired' };
  return { state: 'unknown' };
}

/** Simulated sendTransaction RPC round trip for a signature (deterministic per signature). */
export function simulatedSendAckMs(profile: MockProfile, seed: string, signature: string): number {
  return sampleLatencyMs(profile, 'sendAck', rngFor(seed, 'send-ack', signature));
}

// ---------------------------------------------------------------------------------------------------------------

export interface MockClusterOptions {
  ledger: LedgerStore;
  profile: MockProfile;
  seed: string;
  now?: () => number;
  /** Market seed the landing re-prices on; defaults to the process-wide market (lib/venues/market getMarket()). */
  marketSeed?: string;
  /** How the simulated latencies are waited out (real timers by default). */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/** Records this process sent or read lately, so following a transaction costs no ledger read. */
const RECENT_RECORDS_LIMIT = 10_000;

export class MockCluster implements ChainPort {
  readonly ledger: LedgerStore;
  readonly profile: MockProfile;
  readonly seed: string;
  readonly clock: SlotClock;
  readonly confirmation: ConfirmationHints;
  private readonly now: () => number;
  private readonly marketSeed: string | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly recent = new Map<string, TxRecord>();
  private fees: { slot: number; fees: SlotFee[] } | undefined;

  constructor(opts: MockClusterOptions) {
    this.ledger = opts.ledger;
    this.profile = opts.profile;
    this.seed = opts.seed;
    this.now = opts.now ?? Date.now;
    this.marketSeed = opts.marketSeed;
    this.sleep = opts.sleep ?? realSleep;
    this.clock = clockFor(opts.seed);
    const { landing, confirm } = opts.profile.latencies;
    this.confirmation = { landing, confirm, timeoutMs: opts.profile.confirmTimeoutMs, rebroadcastMs: opts.profile.rebroadcastMs };
  }

  /** Newest block's hash; lastValidBlockHeight = its height + 150 (dex-realism.md §4.3). */
  getLatestBlockhash(): LatestBlockhash {
    let slot = slotAt(this.now());
    while (this.clock.isSkipped(slot)) slot--;
    const height = this.clock.blockHeightAtSlot(slot);
    return { blockhash: blockhashForSlot(this.seed, slot), lastValidBlockHeight: height + BLOCKHASH_VALID_BLOCKS, slot };
  }

  /** When a blockhash issued at blockhashSlot stops being accepted. */
  expiryMs(blockhashSlot: number, lastValidBlockHeight: number): number {
    if (this.profile.blockhashLifetimeMs !== null) return slotStartMs(blockhashSlot) + this.profile.blockhashLifetimeMs;
    return slotStartMs(this.clock.slotOfBlockHeight(lastValidBlockHeight + 1));
  }

  signatureFor(tx: Pick<SignedTransaction, 'orderId' | 'attempt' | 'blockhash'>): string {
    return transactionSignature(this.seed, tx.orderId, tx.attempt, tx.blockhash);
  }

  /** The fee market as of now (one RPC round trip, simulated). */
  async getRecentPrioritizationFees(): Promise<{ fees: RecentFee[]; chainMs: number }> {
    const chainMs = sampleLatencyMs(this.profile, 'sendAck', rngFor(this.seed, 'fees-rpc', this.now()));
    await this.sleep(chainMs);
    return { fees: this.recentFees(this.now()).map((entry) => ({ ...entry })), chainMs };
  }

  private recentFees(nowMs: number): SlotFee[] {
    const slot = slotAt(nowMs);
    if (this.fees?.slot !== slot) this.fees = { slot, fees: recentPrioritizationFees(this.profile, this.seed, nowMs) };
    return this.fees.fees;
  }

  /**
   * Submits a signed transaction. Each send is a chance to land (lib/chain/landing-model.ts): the first one records
   * the transaction; a rebroadcast of one that has not landed yet may land it sooner, and never lands it twice
   * (`alreadyProcessed` once it has). Returns the ledger record, so the sender can follow it without reading it back.
   */
  async sendTransaction(tx: SignedTransaction): Promise<SentTransaction & { record: TxRecord }> {
    const signature = this.signatureFor(tx);
    const ackMs = simulatedSendAckMs(this.profile, this.seed, signature);
    await this.sleep(ackMs);
    const nowMs = this.now();
    const forced = tx.forcedFailure;
    if (forced === 'VENUE_5XX') {
      throw new VenueError('VENUE_UNAVAILABLE', 'venue transaction API answered 503 Service Unavailable', { retryable: true, details: { httpStatus: 503, forced: true } });
    }
    /*
     * A transaction this process sent or followed is answered from what it knows. Any other is taken as a first send,
     * which costs one conditional write and no read: the ledger refuses a second record for a signature it has, and
     * only then is the record read. The refusals below, which a first send can meet, look in the ledger before they
     * answer, since a send of a transaction another process recorded is a rebroadcast and is not refused.
     */
    const known = this.recent.get(signature);
    if (known) return this.rebroadcast(known, nowMs, tx);
    const recordedElsewhere = async (): Promise<(SentTransaction & { record: TxRecord }) | undefined> => {
      const stored = await this.readRecord(signature, { fresh: true });
      return stored ? this.rebroadcast(stored, nowMs, tx) : undefined;
    };
    // Never reached the leader: nothing is recorded, and the same signature may be sent again.
    if (forced === 'RPC_TIMEOUT' || rngFor(this.seed, 'rpc-timeout', signature).chance(this.profile.failureRates.rpcTimeout)) {
      const stored = await recordedElsewhere();
      if (stored) return stored;
      throw new ChainError('RPC_TIMEOUT', 'sendTransaction timed out before the RPC node acknowledged it', {
        retryable: true,
        details: { signature, ...(forced === 'RPC_TIMEOUT' ? { forced: true } : {}) },
      });
    }

    const blockhashSlot = this.clock.slotOfBlockHeight(tx.lastValidBlockHeight - BLOCKHASH_VALID_BLOCKS);
    const expiresAtMs = this.expiryMs(blockhashSlot, tx.lastValidBlockHeight);
    if (blockhashForSlot(this.seed, blockhashSlot) !== tx.blockhash || nowMs >= expiresAtMs) {
      const stored = await recordedElsewhere();
      if (stored) return stored;
      // Runtime BlockhashNotFound, surfaced at preflight (dex-realism.md §4.3, §7.6).
      throw new ChainError('BLOCKHASH_EXPIRED', 'Transaction simulation failed: Blockhash not found (blockhash older than 150 blocks)', {
        retryable: true,
        details: { signature, lastValidBlockHeight: tx.lastValidBlockHeight },
      });
    }

    const record = this.firstRecord(tx, signature, blockhashSlot, nowMs, expiresAtMs);
    if (await this.ledger.putIfAbsent(record)) {
      this.remember(record);
      return { ...this.sentOf(record), alreadyProcessed: false, rebroadcast: false, record };
    }
    const existing = await this.readRecord(signature, { fresh: true });
    if (!existing) throw new ChainError('INTERNAL', `ledger refused ${signature} but does not have it`, { retryable: true });
    return this.rebroadcast(existing, nowMs, tx);
  }

  /**
   * A send of a transaction the cluster has: `alreadyProcessed` once it landed; otherwise this send draws its own
   * landing, recorded when it is sooner than the record's (a conditional write: a concurrent rebroadcast or the
   * expiry verdict wins over it, and the record is read again).
   */
  private async rebroadcast(record: TxRecord, nowMs: number, tx: SignedTransaction): Promise<SentTransaction & { record: TxRecord }> {
    const answer = (current: TxRecord) => ({
      ...this.sentOf(current),
      alreadyProcessed: current.landsAtMs !== null && current.landsAtMs <= nowMs,
      rebroadcast: true,
      record: current,
    });
    if ((record.landsAtMs !== null && record.landsAtMs <= nowMs) || record.sealed || nowMs >= record.expiresAtMs || record.forcedFailure !== null) {
      return answer(record);
    }
    const landing = this.landingOfSend(tx, record.signature, nowMs, record.expiresAtMs);
    if (landing.landsAtMs === null || (record.landsAtMs !== null && landing.landsAtMs >= record.landsAtMs)) return answer(record);
    /*
     * Landing in an earlier block, it is confirmed no later than it would have been in the later one: a vote for a slot
     * also votes for its ancestors (Tower BFT, https://docs.anza.xyz/implemented-proposals/tower-bft), so the earlier
     * block reaches a supermajority no later. The earlier block's own votes may only bring it sooner.
     */
    const confirmAtMs = record.confirmAtMs !== null && landing.confirmAtMs !== null ? Math.min(landing.confirmAtMs, record.confirmAtMs) : landing.confirmAtMs;
    const update: LandingUpdate = { ...landing, confirmAtMs, feeLamports: this.feeOf(record) };
    if (await this.ledger.improveLanding(record.signature, update, record.landsAtMs)) {
      const improved = { ...record, ...update };
      this.remember(improved);
      return answer(improved);
    }
    return answer((await this.readRecord(record.signature, { fresh: true })) ?? record);
  }

  /** The venue's build API and the wallet's signature (simulated latencies), on a blockhash fetched after them. */
  async buildTransaction(args: BuildTransactionArgs): Promise<BuiltTransaction> {
    const rng = rngFor(this.seed, 'build', args.orderId, args.attempt);
    const chainMs = sampleLatencyMs(this.profile, 'build', rng) + sampleLatencyMs(this.profile, 'sign', rng);
    await this.sleep(chainMs);
    // The simulated units plus a margin; the price bid, lowered to keep price x limit within the cap.
    const computeUnitLimit = computeUnitLimitFor(args.route.legs.map((leg) => leg.dex));
    const bid = args.priorityFee;
    let microLamportsPerCu = Math.max(0, Math.floor(bid?.microLamportsPerCu ?? 0));
    if (bid?.maxLamports !== undefined) microLamportsPerCu = Math.min(microLamportsPerCu, Math.floor((bid.maxLamports * 1_000_000) / computeUnitLimit));
    const transaction = buildSignedTransaction({ ...args, blockhash: this.getLatestBlockhash(), computeBudget: { computeUnitLimit, microLamportsPerCu } });
    return { transaction, signature: this.signatureFor(transaction), chainMs };
  }

  async findTransaction(signature: string): Promise<SentTransaction | undefined> {
    const record = await this.readRecord(signature);
    if (!record) return undefined;
    const nowMs = this.now();
    return { ...this.sentOf(record), alreadyProcessed: record.landsAtMs !== null && record.landsAtMs <= nowMs, rebroadcast: true };
  }

  /**
   * The outcome is a pure function of the record and the clock: sleep until its next change, or until `untilMs`.
   * "Expired" is a verdict: the record is sealed first, so a rebroadcast racing the expiry cannot land it afterwards
   * (if the rebroadcast won, the record is read again and shows its landing).
   */
  async awaitOutcome(signature: string, untilMs: number): Promise<TxOutcome> {
    let record = await this.readRecord(signature);
    if (!record) throw new ChainError('INTERNAL', `signature ${signature} was never sent`, { retryable: true });
    for (;;) {
      const nowMs = this.now();
      const status = statusOf(record, nowMs);
      if (status.state === 'confirmed') {
        this.recent.delete(signature);
        return { ...status, atMs: record.confirmAtMs ?? nowMs };
      }
      if (status.state === 'failed') {
        this.recent.delete(signature);
        return { ...status, atMs: record.confirmAtMs ?? record.landsAtMs ?? nowMs };
      }
      if (status.state === 'expired') {
        if (record.sealed || (await this.ledger.seal(signature))) {
          this.recent.delete(signature);
          return { state: 'expired', atMs: record.expiresAtMs };
        }
        record = (await this.readRecord(signature, { fresh: true })) ?? record;
        continue;
      }
      if (nowMs >= untilMs) return { state: 'pending' };
      // A rebroadcast by this process updates the record it follows; one by another process is seen at the verdict.
      record = this.recent.get(signature) ?? record;
      const nextChange = [record.landsAtMs, record.confirmAtMs, record.expiresAtMs].filter((t): t is number => t !== null && t > nowMs);
      await this.sleep(Math.min(untilMs, ...nextChange) - nowMs);
      record = this.recent.get(signature) ?? record;
    }
  }

  private sentOf(record: TxRecord): Omit<SentTransaction, 'alreadyProcessed' | 'rebroadcast'> {
    return { signature: record.signature, sentAtMs: record.sentAtMs, expiresAtMs: record.expiresAtMs, ackMs: simulatedSendAckMs(this.profile, this.seed, record.signature) };
  }

  private async readRecord(signature: string, { fresh = false } = {}): Promise<TxRecord | undefined> {
    const cached = fresh ? undefined : this.recent.get(signature);
    if (cached) return cached;
    const record = await this.ledger.get(signature);
    if (record) this.remember(record);
    return record;
  }

  private remember(record: TxRecord): void {
    if (this.recent.size >= RECENT_RECORDS_LIMIT && !this.recent.has(record.signature)) this.recent.delete(this.recent.keys().next().value as string);
    this.recent.set(record.signature, record);
  }

  private feeOf(tx: Pick<TxRecord, 'computeUnitLimit' | 'microLamportsPerCu'>): number {
    const fees = feesOf(tx);
    return fees.baseLamports + fees.priorityLamports;
  }

  /**
   * The landing one send draws: fixed per (signature, slot of the send), so resending within a slot buys nothing;
   * judged by its priority fee against the recent slots' fees and the congestion of the moment.
   */
  private landingOfSend(tx: SignedTransaction, signature: string, sentAtMs: number, expiresAtMs: number, firstSend = false): Pick<TxRecord, 'landsAtMs' | 'confirmAtMs' | 'fate'> {
    // The first send's draws are keyed by the signature alone, as before rebroadcasts existed.
    const rng = firstSend ? rngFor(this.seed, 'fate', signature) : rngFor(this.seed, 'fate', signature, slotAt(sentAtMs));
    const uDrop = rng.next();
    const uLateOffset = rng.next();
    const uSlow = rng.next();
    const landingMs = sampleLatencyMs(this.profile, 'landing', rng);
    const draws: SendDraws = { uDrop, uLateOffset, uSlow, landingMs };
    const percentile = feePercentileOf(tx.microLamportsPerCu ?? 0, this.recentFees(sentAtMs));
    const fate = sendFate(this.profile, draws, percentile, congestionAt(this.profile, this.seed, sentAtMs));
    let landsAtMs: number | null = null;
    let kind: TxFate = 'dropped';
    if (fate.kind === 'lands') {
      landsAtMs = sentAtMs + fate.delayMs;
      kind = 'lands';
    } else if (fate.kind === 'late') {
      // Lands only after a client's confirmation wait would have given up, and before the blockhash expires.
      const earliest = sentAtMs + this.profile.confirmTimeoutMs + 1;
      const room = expiresAtMs - 1 - earliest;
      if (room >= 0) {
        landsAtMs = earliest + Math.floor(fate.lateFraction * room);
        kind = 'late';
      }
    }
    // Landing later than the blockhash lives: this send can never land.
    if (landsAtMs !== null && landsAtMs >= expiresAtMs) {
      landsAtMs = null;
      kind = 'dropped';
    }
    return { landsAtMs, confirmAtMs: landsAtMs === null ? null : confirmationAt(this.profile, this.seed, landsAtMs), fate: kind };
  }

  private firstRecord(tx: SignedTransaction, signature: string, blockhashSlot: number, sentAtMs: number, expiresAtMs: number): TxRecord {
    const forced = tx.forcedFailure;
    let landing: Pick<TxRecord, 'landsAtMs' | 'confirmAtMs' | 'fate'>;
    if (forced === 'BLOCKHASH_EXPIRED') {
      landing = { landsAtMs: null, confirmAtMs: null, fate: 'forced-expired' };
    } else if (forced === 'AMBIGUOUS_TIMEOUT') {
      // Lands only after the confirmation wait (and no rebroadcast changes that): the ambiguous case, forced.
      const rng = rngFor(this.seed, 'fate', signature);
      const earliest = sentAtMs + this.profile.confirmTimeoutMs + 1;
      const room = expiresAtMs - 1 - earliest;
      const landsAtMs = room >= 0 ? earliest + Math.floor(rng.next() * room) : null;
      landing = { landsAtMs, confirmAtMs: landsAtMs === null ? null : confirmationAt(this.profile, this.seed, landsAtMs), fate: landsAtMs === null ? 'ambiguous-dropped' : 'ambiguous-late' };
    } else {
      landing = this.landingOfSend(tx, signature, sentAtMs, expiresAtMs, true);
    }
    const computeUnitLimit = tx.computeUnitLimit ?? 0;
    const microLamportsPerCu = tx.microLamportsPerCu ?? 0;
    return {
      signature,
      orderId: tx.orderId,
      attempt: tx.attempt,
      blockhash: tx.blockhash,
      blockhashSlot,
      lastValidBlockHeight: tx.lastValidBlockHeight,
      side: tx.side,
      tokenIn: tx.tokenIn,
      tokenOut: tx.tokenOut,
      amountIn: tx.amountIn,
      slippageBps: tx.slippageBps,
      minAmountOut: tx.route.minAmountOut,
      route: tx.route,
      marketSeed: this.marketSeed ?? getMarket().seed,
      profile: this.profile.name,
      sentAtMs,
      expiresAtMs,
      ...landing,
      feeLamports: landing.landsAtMs === null ? 0 : this.feeOf({ computeUnitLimit, microLamportsPerCu }),
      forcedFailure: forced ?? null,
      computeUnitLimit,
      microLamportsPerCu,
      ...(tx.launch !== undefined ? { launch: tx.launch } : {}),
    };
  }

  async getSignatureStatus(signature: string): Promise<SignatureStatus> {
    const record = await this.ledger.get(signature);
    if (!record) return { state: 'unknown' };
    return statusOf(record, this.now());
  }
}

