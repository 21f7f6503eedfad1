import { randomUUID } from 'node:crypto';
import { ChainError, EngineError, StaleWriteError, VenueError, isEngineError } from '../errors';
import { quotesToWire } from '../routing';
import { orderSpecOf, routeToWire, type OrderSpec } from '../venues/route';
import { formatUiAmount } from '../tokens';
import type { ForcedFailure } from '../chain/forced-failures';
import type { SentTransaction, SignedTransaction, TxFees, TxOutcome } from '../chain/port';
import type { OrderItem } from '../aws/orders-table';
import type { RecordOutcome } from '../aws/sqs-batch';
import { advance, failOrder, type FailureReason } from './outcomes';
import { isTerminal } from './state-machine';
import { expiryShardOf, limitFloorOf, restingIndexOf, triggerMeta, RESTING_WATCH_KEY } from './resting';
import { boundedMinAmountOut } from './limit-price';
import type { RoutingResult } from '../routing';
import { poolCreationOf } from '../chain/launches';
import { isCreatedAt } from '../venues/launched';
import { retryDelayFor } from './backoff';
import { confirmationDeadline, HAND_BACK, lookAgainAfterSeconds, nextRebroadcastAt } from './patience';
import { Rebroadcaster } from './rebroadcaster';
import { priorityFeeBid } from './priority-fee';
import type { EngineContext } from '../engine';
import { parseOrderMessage, placedOrderItem } from './order-message';
import { log, withLogContext } from '../log';

export interface OrderDelivery {
  messageId: string;
  body: string;
  /** SQS ApproximateReceiveCount: attempts are counted from SQS. */
  receiveCount: number;
  /** Wall-clock instant by which this invocation must have answered (Lambda deadline minus a margin). */
  deadlineMs: number;
  /** Whether this order should give its execution slot back now (other orders wait for one; see slotWorthGivingBack). */
  othersWaiting?: () => Promise<boolean>;
}

const IN_PROGRESS = new Set(['routing', 'building', 'submitted']);

const reasonOf = (error: unknown): FailureReason =>
  isEngineError(error) ? { code: error.code, message: error.message } : { code: 'INTERNAL', message: 'unexpected execution error' };

const specOfOrder = (order: OrderItem): OrderSpec => {
  const spec = orderSpecOf(order.request);
  if (!spec) throw new VenueError('NO_ROUTE', `token ${order.request.tokenIn} or ${order.request.tokenOut} is no longer listed`);
  return spec;
};

const forcedFailureOf = (order: OrderItem, attempt: number): ForcedFailure | undefined =>
  order.request.mockFailures?.[String(attempt)] as ForcedFailure | undefined;

/** A limit or snipe order: it rests `open` between attempts instead of going back to `pending`. */
const isResting = (order: OrderItem): boolean => order.request.type !== undefined;

/** How long a delivery waits for a snipe's pool to open, at most (the watcher hands it over SNIPE_LEAD_MS early). */
const SNIPE_WAIT_MAX_MS = 5_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const NO_FEES: TxFees = { baseLamports: 0, priorityLamports: 0, computeUnits: 0 };
/** Fees add up over an order's landed transactions; `computeUnits` is the last one's limit. */
const addFees = (paid: TxFees | undefined, fees: TxFees): TxFees => ({
  baseLamports: (paid?.baseLamports ?? 0) + fees.baseLamports,
  priorityLamports: (paid?.priorityLamports ?? 0) + fees.priorityLamports,
  computeUnits: fees.computeUnits,
});

/**
 * One order message. Every accepted order reaches exactly one terminal state and is executed at most once on chain:
 * - a terminal order is acknowledged and dropped;
 * - an order held by a live execution (another copy of the message) is left to it;
 * - an order whose execution died is taken over: before its transaction was sent it simply starts a new attempt,
 *   after it was sent it is reconciled by signature (the ledger is the chain's memory, not the Lambda's);
 * - a retryable failure goes back to `pending` with attempt+1 and an SQS backoff; the last attempt ends `failed`.
 */
export class OrderExecution {
  private readonly holder: string;
  private simulatedMs = 0;
  /** Set by this delivery's first successful write: from then on a lost race means the order is someone else's. */
  private claimed = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly delivery: OrderDelivery,
    /** The dead-letter backstop settles orders: it never schedules another attempt. */
    private readonly finalOnly = false,
  ) {
    this.holder = `${delivery.messageId}#${delivery.receiveCount}#${randomUUID()}`;
  }

  private get maxAttempts(): number {
    return this.ctx.config.MAX_ATTEMPTS;
  }

  private leaseUntil(): number {
    return this.ctx.now() + this.ctx.config.EXECUTION_TIMEOUT_SECONDS * 1000;
  }

  async run(): Promise<RecordOutcome> {
    const parsed = parseOrderMessage(this.delivery.body);
    if (!parsed.success) return this.poison('message body is not {"orderId": <ULID>}');
    const { orderId, placed } = parsed.data;
    // A first delivery of the placement message starts from the placed order; any other reads the order.
    const assumed = this.delivery.receiveCount === 1 && placed !== undefined;
    let order = assumed ? placedOrderItem(orderId, placed) : await this.ctx.orders.get(orderId);
    if (!order) return this.poison(`order ${orderId} does not exist`);

    try {
      if (isTerminal(order.status)) {
        log.debug('order already terminal; dropping its message', { orderId: order.orderId, status: order.status });
        return { kind: 'done' };
      }
      if (order.status === 'open' || (order.status === 'pending' && isResting(order))) return await this.considerResting(order);
      if (IN_PROGRESS.has(order.status)) {
        if (this.heldByLiveExecution(order)) {
          /*
           * Leave the order to its holder, but come back when the lease ends: the holder may have died with its own
           * message (a whole-stack crash loses the in-memory queue, and this copy is then the order's only message),
           * or this may be the holder's own message invoked again after the host died mid-invocation. A look after
           * the lease finds the order terminal (and drops), or takes it over.
           */
          const visibilitySeconds = Math.max(1, Math.ceil((order.leaseUntilMs - this.ctx.now()) / 1000) + 1);
          log.info('order is being executed by another delivery; looking again when its lease ends', { orderId: order.orderId, holder: order.leaseHolder, inSeconds: visibilitySeconds });
          return { kind: 'retry', visibilitySeconds };
        }
        if (order.status === 'submitted' && order.tx) return await this.reconcile(order);
        // The previous execution died before sending anything: that attempt is over.
        order = await this.retryOrFail(order, new EngineError('ATTEMPT_INTERRUPTED', 'the execution of the previous attempt was interrupted', { retryable: true }), {
          immediate: true,
        });
        // A resting order went back to `open`: the watcher triggers it again when its price is there.
        if (order.status !== 'pending') return { kind: 'done' };
      }
      /*
       * The order's own counter decides the attempt: it moves on every engine retry and every takeover of an
       * interrupted attempt. Receives that only reconciled a transaction in flight are not attempts; receives that
       * left no trace at all (a crash loop) are bounded by the redrive policy, whose backstop settles the order.
       */
      if (order.attempt > this.maxAttempts) {
        await this.fail(order, { code: 'RETRIES_EXHAUSTED', message: `no attempt left (${this.maxAttempts} allowed)` }, { lastError: order.lastError });
        return { kind: 'done' };
      }
      return await this.attempt(order, order.attempt);
    } catch (error) {
      if (error instanceof StaleWriteError && assumed && !this.claimed) {
        // The order was no longer as placed (a redelivered copy, a re-enqueue): decide again from what is stored.
        return new OrderExecution(this.ctx, { ...this.delivery, body: JSON.stringify({ orderId }) }, this.finalOnly).run();
      }
      if (error instanceof StaleWriteError) {
        // Someone else moved the order on (a duplicate delivery, the dead-letter backstop): it is theirs now.
        log.info('lost a race on the order; leaving it to the winner', { orderId: order.orderId, error });
        return { kind: 'done' };
      }
      throw error;
    }
  }

  private async write(order: OrderItem, to: Parameters<typeof advance>[2], options: Parameters<typeof advance>[3]): Promise<OrderItem> {
    const updated = await advance(this.ctx, order, to, options);
    this.claimed = true;
    return updated;
  }

  private async fail(order: OrderItem, reason: FailureReason, extraMeta?: Record<string, unknown>): Promise<OrderItem> {
    // PROTOCOL.md v2: terminal frames report the fees the order's landed transactions paid (none landed: zeros).
    const updated = await failOrder(this.ctx, order, reason, { ...extraMeta, fees: order.feesPaid ?? NO_FEES });
    this.claimed = true;
    return updated;
  }

  private heldByLiveExecution(order: OrderItem): boolean {
    if (order.leaseUntilMs <= this.ctx.now()) return false;
    const [messageId, receiveCount] = (order.leaseHolder ?? '').split('#');
    // A redelivery of the same message with a higher receive count means its previous holder gave up or died.
    const sameMessageRedelivered = messageId === this.delivery.messageId && Number(receiveCount) < this.delivery.receiveCount;
    return !sameMessageRedelivered;
  }

  private poison(reason: string): RecordOutcome {
    log.error('malformed order message; it goes to the dead-letter queue', { messageId: this.delivery.messageId, reason, body: this.delivery.body.slice(0, 512) });
    // Visible again at once: it burns through maxReceiveCount quickly instead of being retried for hours.
    return { kind: 'retry', visibilitySeconds: 0 };
  }

  /**
   * A limit or snipe order that is `pending` (just placed) or resting `open` (the watcher saw its price, or its message
   * came back): past expiresAt it ends `expired`; otherwise the venues are quoted for its full size and, when the route
   * reaches the limit, that quote starts an attempt (`routing`, conditional on seq: a cancel that wrote first wins). A
   * price that moved back since the watcher looked leaves the order resting, with no write.
   */
  private async considerResting(order: OrderItem): Promise<RecordOutcome> {
    const { ctx } = this;
    const { request } = order;
    const nowMs = ctx.now();
    if ((request.expiresAtMs ?? Infinity) <= nowMs) {
      await this.write(order, 'expired', {
        meta: { expiresAt: new Date(request.expiresAtMs as number).toISOString() },
        ...(order.status === 'pending' ? { via: { status: 'open', meta: { trigger: triggerMeta(request, { lastPrice: null, atMs: nowMs }) } } } : {}),
      });
      return { kind: 'done' };
    }
    if (request.type === 'snipe') return this.considerSnipe(order);
    const spec = specOfOrder(order);
    // Keyed by the check's time, not only the attempt: an order checked many times draws its venue latency afresh.
    const quoted = await ctx.quoter.quote(spec, { orderId: `${order.orderId}@${nowMs}`, attempt: order.attempt, forceVenue5xx: false });
    const floor = limitFloorOf(request, spec);
    if (!quoted.ok || floor === undefined || quoted.routing.route.amountOut < floor) {
      if (order.status === 'pending') await this.rest(order, { lastPrice: quoted.ok ? quoted.routing.route.price : null, atMs: ctx.now() });
      return { kind: 'done' };
    }
    log.info('limit reached; executing', { orderId: order.orderId, price: quoted.routing.route.price, limitPrice: request.limitPrice });
    return this.attempt(order, order.attempt, { routing: quoted.routing, chainMs: quoted.chainMs });
  }

  /**
   * A snipe (PROTOCOL.md v2): it rests until its pool exists and is about to open; then it waits for the open time
   * itself (the watcher hands it over SNIPE_LEAD_MS early) and executes in the first slot at or after it, with its
   * `limitPrice` (if any) as its worst price: a quote worse than that sends nothing and leaves it resting.
   */
  private async considerSnipe(order: OrderItem): Promise<RecordOutcome> {
    const { ctx } = this;
    const { request } = order;
    const restIfNew = async (lastPrice: string | null): Promise<RecordOutcome> => {
      if (order.status === 'pending') await this.rest(order, { lastPrice, atMs: ctx.now() });
      return { kind: 'done' };
    };
    if (!request.launch) {
      await this.fail(order, { code: 'NO_ROUTE', message: 'the snipe names no launch' });
      return { kind: 'done' };
    }
    const openAtMs = request.launch.openTime * 1000;
    // The launch travels with the order (placement stored it): its creation event is a function of it and the seed.
    const pool = isCreatedAt(request.launch, ctx.now()) ? poolCreationOf(ctx.config.MOCK_SEED, request.launch) : undefined;
    const waitMs = openAtMs - ctx.now();
    // Not created yet, or opening later than a delivery waits for: resting, the watcher hands it over in time.
    if (!pool || waitMs > SNIPE_WAIT_MAX_MS) return restIfNew(null);
    if (waitMs > 0 && ctx.now() + waitMs > this.delivery.deadlineMs) {
      // This invocation ends before the open time: the message comes back at it instead.
      if (order.status === 'pending') await this.rest(order, { lastPrice: null, atMs: ctx.now() });
      return { kind: 'retry', visibilitySeconds: Math.ceil(waitMs / 1000) };
    }
    if (waitMs > 0) await sleep(waitMs);
    const spec = specOfOrder(order);
    const quoted = await ctx.quoter.quote(spec, { orderId: `${order.orderId}@${ctx.now()}`, attempt: order.attempt, forceVenue5xx: false });
    if (!quoted.ok) return restIfNew(null);
    const floor = limitFloorOf(request, spec);
    if (floor !== undefined && quoted.routing.route.amountOut < floor) {
      log.info('snipe: the pool prices it worse than its limit; nothing sent', { orderId: order.orderId, price: quoted.routing.route.price, limitPrice: request.limitPrice });
      return restIfNew(quoted.routing.route.price);
    }
    const armedBy = { dex: pool.dex, program: pool.program, instruction: pool.instruction, signature: pool.signature, slot: pool.slot, poolId: pool.poolId, mints: pool.mints, openTime: pool.openTime };
    log.info('snipe: pool open; executing', { orderId: order.orderId, poolId: pool.poolId, openTime: pool.openTime });
    return this.attempt(order, order.attempt, { routing: quoted.routing, chainMs: quoted.chainMs }, { pool: armedBy });
  }

  /** Puts the order to rest (`open`) where the watcher finds it: by trigger price (limit) and by expiry. */
  private async rest(
    order: OrderItem,
    check: { lastPrice: string | null; atMs: number },
    extra: { attempt?: number; lastError?: { code: string; message: string }; set?: Parameters<typeof advance>[3]['set'] } = {},
  ): Promise<OrderItem> {
    const index = restingIndexOf(order.request);
    await this.ctx.orders.watchKeys(index ? [RESTING_WATCH_KEY, index.restKey] : [RESTING_WATCH_KEY]);
    return this.write(order, 'open', {
      ...(extra.attempt !== undefined ? { attempt: extra.attempt } : {}),
      meta: { trigger: triggerMeta(order.request, check), ...(extra.lastError ? { lastError: extra.lastError } : {}) },
      resting: { ...(index ?? {}), restShard: expiryShardOf(order.orderId), restExpiresAtMs: order.request.expiresAtMs ?? 0 },
      ...(extra.set ? { set: extra.set } : {}),
    });
  }

  private async attempt(
    order: OrderItem,
    attempt: number,
    preQuoted?: { routing: RoutingResult; chainMs: number },
    routingMeta: Record<string, unknown> = {},
  ): Promise<RecordOutcome> {
    const { ctx } = this;
    const spec = specOfOrder(order);
    const forced = forcedFailureOf(order, attempt);
    this.simulatedMs = order.simulatedMs;

    // routing: both venues quoted in parallel (the slower one bounds the stage); a triggered resting order brings its quote.
    const quoted = preQuoted ? ({ ok: true, ...preQuoted } as const) : await ctx.quoter.quote(spec, { orderId: order.orderId, attempt, forceVenue5xx: forced === 'VENUE_5XX' });
    this.simulatedMs += quoted.chainMs;
    if (!quoted.ok) return this.afterFailure(order, attempt, quoted.error);
    // PROTOCOL.md v2: a limit order's minAmountOut is never worse than its limit allows.
    const floor = limitFloorOf(order.request, spec);
    const routing = floor === undefined ? quoted.routing : { ...quoted.routing, route: { ...quoted.routing.route, minAmountOut: boundedMinAmountOut(quoted.routing.route.minAmountOut, floor) } };
    order = await this.write(order, 'routing', {
      attempt,
      meta: { quotes: quotesToWire(routing, spec), ...routingMeta },
      leaseUntilMs: this.leaseUntil(),
      set: { leaseHolder: this.holder, simulatedMs: this.simulatedMs },
    });

    // building: the priority fee from the recent slots' fees, then blockhash and signature.
    const policy = order.request.priorityFee;
    const recent = policy === 'none' ? { fees: [], chainMs: 0 } : await ctx.chain.getRecentPrioritizationFees();
    this.simulatedMs += recent.chainMs;
    const priorityFee = priorityFeeBid(policy, recent.fees, { percentile: ctx.config.PRIORITY_FEE_PERCENTILE, maxLamports: ctx.config.PRIORITY_FEE_MAX_LAMPORTS });
    const built = await ctx.chain.buildTransaction({ orderId: order.orderId, attempt, order: spec, route: routing.route, priorityFee, ...(forced ? { forcedFailure: forced } : {}) });
    this.simulatedMs += built.chainMs;
    const { transaction, signature } = built;
    /*
     * building and submitted in one write: nothing happens between them, and what makes a crash after the send
     * reconcilable is that the signature is recorded before it. Both frames go out, each with its own seq.
     */
    order = await this.write(order, 'submitted', {
      via: {
        status: 'building',
        meta: { route: routeToWire(routing.route, spec), blockhash: transaction.blockhash, lastValidBlockHeight: transaction.lastValidBlockHeight },
      },
      meta: {
        dex: routing.route.dex,
        txHash: signature,
        priorityFee: {
          microLamportsPerCu: transaction.microLamportsPerCu ?? 0,
          computeUnitLimit: transaction.computeUnitLimit ?? 0,
          ...(priorityFee.maxLamports !== undefined ? { maxLamports: priorityFee.maxLamports } : {}),
        },
      },
      set: { simulatedMs: this.simulatedMs, tx: { signature, dex: routing.route.dex, request: transaction } },
    });
    return this.sendAndConfirm(order, transaction, spec);
  }

  private async sendAndConfirm(order: OrderItem, transaction: SignedTransaction, spec: OrderSpec): Promise<RecordOutcome> {
    const sendStartedMs = this.ctx.now();
    let sent;
    try {
      sent = await this.ctx.chain.sendTransaction(transaction);
    } catch (error) {
      // A refused send reports its round trip as the time it took.
      this.simulatedMs += this.ctx.now() - sendStartedMs;
      return this.afterFailure(order, order.attempt, error);
    }
    this.simulatedMs += sent.ackMs;
    return this.awaitOutcome(order, sent, spec, { transaction });
  }

  /**
   * Waits for the signature's outcome the way a client subscribed to it would (the chain port wakes at each change,
   * no polling), rebroadcasting the same signed transaction on the cluster's interval meanwhile, until the
   * transaction's blockhash expires or the invocation's own deadline comes. A rebroadcast runs beside the wait, as the
   * unawaited sends of a rebroadcast loop do, so its RPC round trip never delays noticing the outcome. Never a second
   * signature while this one can still land: a new attempt starts only after `expired`.
   * `recheck`: this delivery did not send the transaction; it looks again at one a previous delivery gave back.
   */
  private async awaitOutcome(
    order: OrderItem,
    sent: SentTransaction,
    spec: OrderSpec,
    { recheck = false, transaction }: { recheck?: boolean; transaction?: SignedTransaction | undefined } = {},
  ): Promise<RecordOutcome> {
    const { ctx } = this;
    const hints = ctx.chain.confirmation;
    const waitStartedMs = ctx.now();
    const giveUpAtMs = Math.min(this.delivery.deadlineMs, confirmationDeadline(hints, { expiresAtMs: sent.expiresAtMs }));
    const rebroadcaster = transaction
      ? new Rebroadcaster(ctx.chain, transaction, (error) => log.info('rebroadcast refused; still following the transaction', { orderId: order.orderId, signature: sent.signature, error }))
      : undefined;
    // A re-check rebroadcasts at once: since its sender gave it back, nobody has.
    let nextSendMs = recheck ? waitStartedMs : nextRebroadcastAt(hints, sent.sentAtMs);
    /*
     * Only the sending delivery may give the order back early, once: its re-check then follows the rules of any
     * re-check, so a transaction still costs at most 3 receives (lookAgainAfterSeconds) and the redrive budget holds.
     */
    const handBackAfterMs = ctx.config.EXECUTION_HAND_BACK_AFTER_MS;
    let handBackProbeMs = !recheck && rebroadcaster && this.delivery.othersWaiting && handBackAfterMs > 0 ? waitStartedMs + handBackAfterMs : Infinity;
    let handedBack = false;
    const wakeAt = (): number => Math.min(giveUpAtMs, nextSendMs, handBackProbeMs);
    let outcome = await ctx.chain.awaitOutcome(sent.signature, wakeAt());
    while (outcome.state === 'pending' && rebroadcaster && ctx.now() < giveUpAtMs) {
      if (ctx.now() >= handBackProbeMs) {
        if (await this.othersWaitForSlot()) {
          // One last look: an outcome that came during the question is settled here, not a second later.
          outcome = await ctx.chain.awaitOutcome(sent.signature, ctx.now());
          handedBack = outcome.state === 'pending';
          break;
        }
        handBackProbeMs = ctx.now() + HAND_BACK.probeEveryMs;
      }
      if (ctx.now() >= nextSendMs) {
        rebroadcaster.send();
        nextSendMs = nextRebroadcastAt(hints, ctx.now());
      }
      outcome = await ctx.chain.awaitOutcome(sent.signature, wakeAt());
    }
    // The outcome is known: the last rebroadcast is let finish (after the order's write, below), so none outlives the invocation.
    try {
      return await this.settleOutcome(order, sent, spec, outcome, { waitStartedMs, recheck, handedBack });
    } finally {
      await rebroadcaster?.settled();
    }
  }

  /** What a sent transaction's outcome means for the order: its terminal status written, a retry, or a look later. */
  private async settleOutcome(
    order: OrderItem,
    sent: SentTransaction,
    spec: OrderSpec,
    outcome: TxOutcome,
    { waitStartedMs, recheck, handedBack = false }: { waitStartedMs: number; recheck: boolean; handedBack?: boolean },
  ): Promise<RecordOutcome> {
    const { ctx } = this;
    /*
     * The chain's own timeline decides the simulated time of the send, whichever delivery sees the outcome: the RPC ack
     * plus sent -> outcome. A delivery that looks later (a re-check) must not report less chain time than there was.
     */
    const settleSimulated = (outcomeAtMs: number): void => {
      this.simulatedMs = order.simulatedMs + sent.ackMs + Math.max(0, outcomeAtMs - sent.sentAtMs);
    };
    if (outcome.state === 'confirmed') {
      settleSimulated(outcome.atMs);
      const feesPaid = addFees(order.feesPaid, outcome.fees);
      await this.write(order, 'confirmed', {
        meta: {
          dex: order.tx?.dex,
          txHash: sent.signature,
          executedPrice: outcome.executedPrice,
          amountIn: formatUiAmount(spec.amountIn, spec.tokenIn),
          amountOut: formatUiAmount(outcome.amountOut, spec.tokenOut),
          slot: outcome.slot,
          feeLamports: outcome.feeLamports,
          fees: feesPaid,
          simulatedMs: this.simulatedMs,
        },
        set: { simulatedMs: this.simulatedMs, feesPaid },
      });
      return { kind: 'done' };
    }
    if (outcome.state === 'failed') {
      settleSimulated(outcome.atMs);
      const feesPaid = addFees(order.feesPaid, outcome.fees);
      return this.afterFailure({ ...order, feesPaid }, order.attempt, outcome.error, { txHash: sent.signature, slot: outcome.slot, feeLamports: outcome.feeLamports });
    }
    if (outcome.state === 'expired') {
      settleSimulated(outcome.atMs);
      return this.afterFailure(
        order,
        order.attempt,
        new ChainError('BLOCKHASH_EXPIRED', `Signature ${sent.signature} has expired: block height exceeded.`, { retryable: true }),
      );
    }
    // Still in flight: it may still land. Keep `submitted`, give the order back and look again by signature.
    this.simulatedMs += Math.max(0, ctx.now() - waitStartedMs);
    if (handedBack) {
      log.info('still landing while other orders wait for an execution slot; given back to be looked at again', { orderId: order.orderId, signature: sent.signature });
    } else {
      log.warn('invocation deadline before the outcome; will reconcile by signature', { orderId: order.orderId, signature: sent.signature });
    }
    await ctx.orders.releaseLease(order.orderId, order.seq);
    const visibilitySeconds = handedBack
      ? HAND_BACK.lookAgainSeconds
      : lookAgainAfterSeconds({ expiresAtMs: sent.expiresAtMs, nowMs: ctx.now(), recheck, backoffSeconds: retryDelayFor(ctx.config, 1) });
    return { kind: 'retry', visibilitySeconds };
  }

  /** Whether other orders wait for an execution slot; a question that fails is answered no (the order keeps its slot). */
  private async othersWaitForSlot(): Promise<boolean> {
    try {
      return (await this.delivery.othersWaiting?.()) ?? false;
    } catch (error) {
      log.info('could not tell whether other orders wait; keeping the slot', { error });
      return false;
    }
  }

  /** Settles a submitted order from its transaction's current status (dead-letter backstop: no waiting). */
  async follow(order: OrderItem, sent: SentTransaction): Promise<RecordOutcome> {
    this.simulatedMs = order.simulatedMs;
    return this.awaitOutcome(order, sent, specOfOrder(order), { recheck: true });
  }

  /** A submitted order whose execution died: re-send the same signed transaction (idempotent) and follow it. */
  private async reconcile(order: OrderItem): Promise<RecordOutcome> {
    const tx = order.tx as NonNullable<OrderItem['tx']>;
    log.info('reconciling a submitted order by signature', { orderId: order.orderId, signature: tx.signature });
    order = await this.ctx.orders.takeLease(order, this.leaseUntil(), this.holder);
    this.simulatedMs = order.simulatedMs;
    const spec = specOfOrder(order);
    const existing = await this.ctx.chain.findTransaction(tx.signature);
    if (existing) return this.awaitOutcome(order, existing, spec, { recheck: true, transaction: tx.request });
    return this.sendAndConfirm(order, tx.request, spec);
  }

  private async afterFailure(order: OrderItem, attempt: number, error: unknown, extraMeta: Record<string, unknown> = {}): Promise<RecordOutcome> {
    if (!isEngineError(error)) throw error;
    const updated = await this.retryOrFail(order, error, { extraMeta });
    // Back to resting: the watcher triggers it again when its price is there (its own pace is the backoff).
    if (updated.status === 'open') return { kind: 'done' };
    if (updated.status === 'pending') {
      const delay = retryDelayFor(this.ctx.config, attempt);
      return { kind: 'retry', visibilitySeconds: delay };
    }
    return { kind: 'done' };
  }

  /** Final failures end the order; retryable ones go back to pending, until the last attempt. */
  private async retryOrFail(
    order: OrderItem,
    error: EngineError,
    options: { immediate?: boolean; extraMeta?: Record<string, unknown> } = {},
  ): Promise<OrderItem> {
    const reason = reasonOf(error);
    const extra = { ...(options.extraMeta ?? {}), simulatedMs: this.simulatedMs };
    if (isResting(order)) {
      // PROTOCOL.md v2: a limit or snipe order whose landing failed on price goes back to `open` and keeps watching;
      // one whose attempt failed transiently does too, while it has attempts left (price misses do not count).
      const onPrice = error.code === 'SLIPPAGE_EXCEEDED';
      const priceMisses = (order.priceMisses ?? 0) + (onPrice ? 1 : 0);
      const attemptsUsed = order.attempt - priceMisses;
      if (onPrice || (error.retryable && !this.finalOnly && attemptsUsed < this.maxAttempts)) {
        log.info('resting order back to open after its attempt', { orderId: order.orderId, attempt: order.attempt + 1, reason });
        return this.rest(order, { lastPrice: null, atMs: this.ctx.now() }, {
          attempt: order.attempt + 1,
          lastError: reason,
          set: { lastError: reason, simulatedMs: this.simulatedMs, priceMisses, ...(order.feesPaid ? { feesPaid: order.feesPaid } : {}) },
        });
      }
    }
    if (!error.retryable || this.finalOnly) {
      log.info('order failed', { orderId: order.orderId, reason });
      return this.fail(order, reason, extra);
    }
    if (order.attempt >= this.maxAttempts) {
      log.info('order out of attempts', { orderId: order.orderId, reason });
      return this.fail(order, { code: 'RETRIES_EXHAUSTED', message: `failed after ${order.attempt} attempts: ${reason.message}` }, { ...extra, lastError: reason });
    }
    log.info('retrying order', { orderId: order.orderId, attempt: order.attempt + 1, reason, immediate: options.immediate ?? false });
    return this.write(order, 'pending', {
      attempt: order.attempt + 1,
      meta: { order: order.wireOrder, lastError: reason },
      set: { lastError: reason, simulatedMs: this.simulatedMs, ...(order.feesPaid ? { feesPaid: order.feesPaid } : {}) },
    });
  }
}

/**
 * One order message, end to end. An error that escapes the execution (DynamoDB or SQS unreachable, a timeout) brings
 * the message back after the retry backoff, not after the queue's visibility timeout (minutes): the next delivery takes
 * the order over from whatever was recorded, and the redrive policy bounds how often.
 */
export const executeOrderMessage = (ctx: EngineContext, delivery: OrderDelivery): Promise<RecordOutcome> => {
  const parsed = parseOrderMessage(delivery.body);
  return withLogContext({ messageId: delivery.messageId, ...(parsed.success ? { orderId: parsed.data.orderId } : {}) }, () => executeDelivery(ctx, delivery));
};

const executeDelivery = async (ctx: EngineContext, delivery: OrderDelivery): Promise<RecordOutcome> => {
  try {
    return await new OrderExecution(ctx, delivery).run();
  } catch (error) {
    const visibilitySeconds = retryDelayFor(ctx.config, delivery.receiveCount);
    log.error('order execution failed; its message comes back after a backoff', { messageId: delivery.messageId, receiveCount: delivery.receiveCount, visibilitySeconds, error });
    return { kind: 'retry', visibilitySeconds };
  }
};
