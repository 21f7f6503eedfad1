import { ChainError, VenueError } from '../errors';
import { executeRouteAt } from './landing';
import { loadRoute, orderSpecOf, storeRoute, type OrderSpec, type Route, type StoredRoute } from '../venues/route';
import { getMarket, marketFor } from '../venues/market';
import { BLOCKHASH_VALID_BLOCKS, clockFor, slotAt, slotStartMs, type SlotClock } from './clock';
import { sampleLatencyMs, type MockProfile, type MockProfileName } from './profile';
import { rngFor } from './rng';
import { blockhashForSlot, transactionSignature } from './signature';
import type { ForcedFailure } from './forced-failures';
import type { BuildTransactionArgs, BuiltTransaction, ChainPort, ConfirmationHints, SentTransaction, SignedTransaction, TxOutcome } from './port';

export type { ForcedFailure } from './forced-failures';

/** Base fee per signature, charged even when the transaction fails (dex-realism.md §4.4). No priority fee is modelled. */
export const BASE_FEE_LAMPORTS = 5_000;

export type TxFate = 'lands' | 'dropped' | 'ambiguous-late' | 'ambiguous-dropped' | 'forced-expired';

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
  /** null = never lands. */
  landsAtMs: number | null;
  confirmAtMs: number | null;
  feeLamports: number;
  fate: TxFate;
  forcedFailure: ForcedFailure | null;
}

export interface LedgerStore {
  /** false = a record with this signature already existed (nothing written). */
  putIfAbsent(record: TxRecord): Promise<boolean>;
  get(signature: string): Promise<TxRecord | undefined>;
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
  | { state: 'confirmed'; slot: number; amountOut: bigint; executedPrice: string; feeLamports: number }
  | { state: 'failed'; slot: number; error: ChainError; feeLamports: number }
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
  };
  if (args.forcedFailure !== undefined) req.forcedFailure = args.forcedFailure;
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
    if (outcome.ok) {
      return { state: 'confirmed', slot, amountOut: outcome.amountOut, executedPrice: outcome.executedPrice, feeLamports: record.feeLamports };
    }
    return { state: 'failed', slot, error: outcome.error, feeLamports: record.feeLamports };
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

  constructor(opts: MockClusterOptions) {
    this.ledger = opts.ledger;
    this.profile = opts.profile;
    this.seed = opts.seed;
    this.now = opts.now ?? Date.now;
    this.marketSeed = opts.marketSeed;
    this.sleep = opts.sleep ?? realSleep;
    this.clock = clockFor(opts.seed);
    const { landing, confirm } = opts.profile.latencies;
    this.confirmation = { landing, confirm, timeoutMs: opts.profile.confirmTimeoutMs };
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

  /**
   * Submits a signed transaction. Re-sending the same one (same signature) records nothing new: `alreadyProcessed`.
   * Returns the ledger record, so the sender can follow it without reading it back.
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
    // Never reached the leader: nothing is recorded, and the same signature may be sent again.
    if (forced === 'RPC_TIMEOUT' || rngFor(this.seed, 'rpc-timeout', signature).chance(this.profile.failureRates.rpcTimeout)) {
      throw new ChainError('RPC_TIMEOUT', 'sendTransaction timed out before the RPC node acknowledged it', {
        retryable: true,
        details: { signature, ...(forced === 'RPC_TIMEOUT' ? { forced: true } : {}) },
      });
    }
    const alreadyProcessed = async (): Promise<(SentTransaction & { record: TxRecord }) | undefined> => {
      const existing = await this.readRecord(signature);
      return existing ? { ...this.sentOf(existing), alreadyProcessed: true, record: existing } : undefined;
    };

    const blockhashSlot = this.clock.slotOfBlockHeight(tx.lastValidBlockHeight - BLOCKHASH_VALID_BLOCKS);
    const expiresAtMs = this.expiryMs(blockhashSlot, tx.lastValidBlockHeight);
    if (blockhashForSlot(this.seed, blockhashSlot) !== tx.blockhash || nowMs >= expiresAtMs) {
      // A transaction the cluster already has is AlreadyProcessed whatever its blockhash's age; only a new one is refused.
      const existing = await alreadyProcessed();
      if (existing) return existing;
      // Runtime BlockhashNotFound, surfaced at preflight (dex-realism.md §4.3, §7.6).
      throw new ChainError('BLOCKHASH_EXPIRED', 'Transaction simulation failed: Blockhash not found (blockhash older than 150 blocks)', {
        retryable: true,
        details: { signature, lastValidBlockHeight: tx.lastValidBlockHeight },
      });
    }

    // The common case costs one conditional write: the ledger refuses a second record for the same signature.
    const record = this.drawFate(tx, signature, blockhashSlot, nowMs, expiresAtMs);
    if (await this.ledger.putIfAbsent(record)) {
      this.remember(record);
      return { ...this.sentOf(record), alreadyProcessed: false, record };
    }
    const existing = await alreadyProcessed();
    if (!existing) throw new ChainError('INTERNAL', `ledger refused ${signature} but does not have it`, { retryable: true });
    return existing;
  }

  /** The venue's build API and the wallet's signature (simulated latencies), on a blockhash fetched after them. */
  async buildTransaction(args: BuildTransactionArgs): Promise<BuiltTransaction> {
    const rng = rngFor(this.seed, 'build', args.orderId, args.attempt);
    const chainMs = sampleLatencyMs(this.profile, 'build', rng) + sampleLatencyMs(this.profile, 'sign', rng);
    await this.sleep(chainMs);
    const transaction = buildSignedTransaction({ ...args, blockhash: this.getLatestBlockhash() });
    return { transaction, signature: this.signatureFor(transaction), chainMs };
  }

  async findTransaction(signature: string): Promise<SentTransaction | undefined> {
    const record = await this.readRecord(signature);
    return record ? { ...this.sentOf(record), alreadyProcessed: true } : undefined;
  }

  /** The outcome is a pure function of the record and the clock: sleep until its next change, or until `untilMs`. */
  async awaitOutcome(signature: string, untilMs: number): Promise<TxOutcome> {
    const record = await this.readRecord(signature);
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
        this.recent.delete(signature);
        return { state: 'expired', atMs: record.expiresAtMs };
      }
      if (nowMs >= untilMs) return { state: 'pending' };
      const nextChange = [record.landsAtMs, record.confirmAtMs, record.expiresAtMs].filter((t): t is number => t !== null && t > nowMs);
      await this.sleep(Math.min(untilMs, ...nextChange) - nowMs);
    }
  }

  private sentOf(record: TxRecord): Omit<SentTransaction, 'alreadyProcessed'> {
    return { signature: record.signature, sentAtMs: record.sentAtMs, expiresAtMs: record.expiresAtMs, ackMs: simulatedSendAckMs(this.profile, this.seed, record.signature) };
  }

  private async readRecord(signature: string): Promise<TxRecord | undefined> {
    const cached = this.recent.get(signature);
    if (cached) return cached;
    const record = await this.ledger.get(signature);
    if (record) this.remember(record);
    return record;
  }

  private remember(record: TxRecord): void {
    if (this.recent.size >= RECENT_RECORDS_LIMIT) this.recent.delete(this.recent.keys().next().value as string);
    this.recent.set(record.signature, record);
  }

  private drawFate(tx: SignedTransaction, signature: string, blockhashSlot: number, sentAtMs: number, expiresAtMs: number): TxRecord {
    const rng = rngFor(this.seed, 'fate', signature);
    const rates = this.profile.failureRates;
    const forced = tx.forcedFailure;
    // Draw everything up front in a fixed order so one key always yields one fate.
    const uExpired = rng.next();
    const uAmbiguous = rng.next();
    const uAmbiguousLands = rng.next();
    const uLateOffset = rng.next();
    const landingMs = sampleLatencyMs(this.profile, 'landing', rng);
    const confirmMs = sampleLatencyMs(this.profile, 'confirm', rng);

    let fate: TxFate = 'lands';
    let landsAtMs: number | null = sentAtMs + landingMs;
    if (forced === 'BLOCKHASH_EXPIRED') {
      fate = 'forced-expired';
      landsAtMs = null;
    } else if (forced === 'AMBIGUOUS_TIMEOUT' || (forced === undefined && uAmbiguous < rates.ambiguousTimeout)) {
      // §7.6: the confirm wait fails, but the tx lands later with probability ~50% (always, when forced).
      const lands = forced === 'AMBIGUOUS_TIMEOUT' || uAmbiguousLands < 0.5;
      const earliest = sentAtMs + this.profile.confirmTimeoutMs + 1;
      const room = expiresAtMs - 1 - earliest;
      if (lands && room >= 0) {
        fate = 'ambiguous-late';
        landsAtMs = earliest + Math.floor(uLateOffset * room);
      } else {
        fate = 'ambiguous-dropped';
        landsAtMs = null;
      }
    } else if (forced === undefined && uExpired < rates.blockhashExpired) {
      fate = 'dropped';
      landsAtMs = null;
    }
    if (landsAtMs !== null && landsAtMs >= expiresAtMs) {
      // Landing took longer than the blockhash lives: it can never land.
      fate = 'dropped';
      landsAtMs = null;
    }
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
      landsAtMs,
      confirmAtMs: landsAtMs === null ? null : landsAtMs + confirmMs,
      feeLamports: landsAtMs === null ? 0 : BASE_FEE_LAMPORTS,
      fate,
      forcedFailure: forced ?? null,
    };
  }

  async getSignatureStatus(signature: string): Promise<SignatureStatus> {
    const record = await this.ledger.get(signature);
    if (!record) return { state: 'unknown' };
    return statusOf(record, this.now());
  }
}
