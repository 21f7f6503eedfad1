import type { ChainError } from '../errors';
import type { OrderSpec, Route } from '../venues/route';
import type { ForcedFailure } from './forced-failures';

/*
 * What executing an order needs of a Solana cluster, shaped like an RPC client (getLatestBlockhash, a signed
 * transaction, sendTransaction, the signature's status) and not like the mock behind it. lib/orders talks to this
 * port only; MockCluster (lib/chain/cluster.ts) implements it and owns everything mock: fates, landing times, the
 * simulated latencies and their sleeps. A devnet or mainnet adapter would implement the same interface.
 *
 * `chainMs` in the answers is the time the call spent outside the engine (the RPC round trip, the venue's build API,
 * the cluster's landing and confirmation): simulated by the mock, measured by a real adapter. It is what frames
 * report as `simulatedMs`.
 */

/** The signed swap transaction: plain JSON (amounts as base-unit decimal strings), so it can be stored and re-sent. */
export interface SignedTransaction {
  orderId: string;
  attempt: number;
  blockhash: string;
  lastValidBlockHeight: number;
  side: 'buy' | 'sell';
  /** Token symbols. */
  tokenIn: string;
  tokenOut: string;
  amountIn: string;
  slippageBps: number;
  route: import('../venues/route').StoredRoute;
  /** ComputeBudget instructions: the unit limit and the price bid per unit (micro-lamports). Absent: none (older records). */
  computeUnitLimit?: number;
  microLamportsPerCu?: number;
  /** Test hook (MOCK_TEST_HOOKS): the failure the mock must produce for this transaction. */
  forcedFailure?: ForcedFailure;
  /** A swap through a launched token's pool names that pool (as a real transaction lists its accounts). */
  launch?: import('../venues/launched').LaunchSpec;
}

/**
 * The priority fee to bid, shaped like Jupiter's `prioritizationFeeLamports.priorityLevelWithMaxLamports`: a price per
 * compute unit, capped so that price x unit limit stays within `maxLamports`.
 */
export interface PriorityFeeBid {
  microLamportsPerCu: number;
  maxLamports?: number;
}

export interface BuildTransactionArgs {
  orderId: string;
  attempt: number;
  order: OrderSpec;
  route: Route;
  priorityFee?: PriorityFeeBid;
  forcedFailure?: ForcedFailure;
}

export interface BuiltTransaction {
  transaction: SignedTransaction;
  /** Known before the send: what makes a crash after the send reconcilable. */
  signature: string;
  chainMs: number;
}

/** A transaction the cluster accepted. */
export interface SentTransaction {
  signature: string;
  /** The cluster had already included it when this send arrived (RPC `AlreadyProcessed`): the send changed nothing. */
  alreadyProcessed: boolean;
  /** The cluster had seen this signature before (a rebroadcast, or a look-up): not the first send. */
  rebroadcast: boolean;
  sentAtMs: number;
  /** When its blockhash stops being valid: past it, a transaction that has not landed never will. */
  expiresAtMs: number;
  /** The sendTransaction round trip. */
  ackMs: number;
}

/** A signature's outcome, with the cluster's own time of it (`atMs`). */
/** What a landed transaction paid (https://solana.com/docs/core/fees). */
export interface TxFees {
  baseLamports: number;
  priorityLamports: number;
  /** The compute-unit limit the priority fee was charged on. */
  computeUnits: number;
}

export type TxOutcome =
  | { state: 'confirmed'; atMs: number; slot: number; amountOut: bigint; executedPrice: string; feeLamports: number; fees: TxFees }
  | { state: 'failed'; atMs: number; slot: number; error: ChainError; feeLamports: number; fees: TxFees }
  | { state: 'expired'; atMs: number }
  | { state: 'pending' };

/** How long a landing and a confirmation take on this cluster: what an order's patience is sized from. */
export interface ConfirmationHints {
  landing: { medianMs: number; p95Ms: number };
  confirm: { medianMs: number; p95Ms: number };
  /** The client's confirmation timeout: past it the outcome is treated as unknown (web3.js: 30 s). */
  timeoutMs: number;
  /** How often a sender re-sends a transaction that has not landed yet. */
  rebroadcastMs: number;
}

/** One slot's entry of getRecentPrioritizationFees: the lowest priority fee paid in it, micro-lamports per compute unit. */
export interface RecentFee {
  slot: number;
  prioritizationFee: number;
}

export interface ChainPort {
  readonly confirmation: ConfirmationHints;
  /** Fetches a recent blockhash, builds and signs the swap. */
  buildTransaction(args: BuildTransactionArgs): Promise<BuiltTransaction>;
  /** getRecentPrioritizationFees: the last 150 slots' fees, oldest first, and the round trip's time. */
  getRecentPrioritizationFees(): Promise<{ fees: RecentFee[]; chainMs: number }>;
  /**
   * Sends a signed transaction; sending it again is a rebroadcast, which may land a transaction that has not landed
   * yet, and never lands one twice (`alreadyProcessed`). Throws ChainError or VenueError.
   */
  sendTransaction(transaction: SignedTransaction): Promise<SentTransaction>;
  /** A transaction the cluster has seen, or undefined (never sent, or never reached the leader). */
  findTransaction(signature: string): Promise<SentTransaction | undefined>;
  /** The signature's outcome, waiting for it (woken at each change, no polling) until `untilMs`; then `pending`. */
  awaitOutcome(signature: string, untilMs: number): Promise<TxOutcome>;
}
