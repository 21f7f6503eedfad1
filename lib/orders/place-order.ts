import { ulid } from 'ulid';
import { formatUiAmount } from '../tokens';
import { openShardOf, type OrderItem, type StoredOrderRequest } from '../aws/orders-table';
import type { EngineContext } from '../engine';
import { launchedTokensOf, validateExecute, type ValidatedOrder } from './request';
import { placedOrderItem, type OrderMessage, type PlacedOrder } from './order-message';
import type { OrderFrame } from '../notify/frames';
import { InfrastructureError, RequestError, UnavailableError } from '../errors';
import { retryTransient } from '../aws/transient';
import { failOrder } from './outcomes';
import { releaseOpenOrder } from '../accounts/admission';
import { admitRequest, inOwnersTurn } from '../accounts/connections';
import { log, withLogContext } from '../log';
import { launchOf, type LaunchSpec } from '../venues/launched';

/*
 * A duplicate clientOrderId answers with the existing order. If that order is still at its first `pending` after
 * this long, the enqueue that should have followed its creation may have been lost with its Lambda: enqueueing it
 * again is safe because execution is idempotent per order.
 */
const REENQUEUE_STALE_PENDING_AFTER_MS = 10_000;

const launchField = (order: ValidatedOrder): { launch?: LaunchSpec } => {
  const launch = launchOf(order.tokenOut) ?? launchOf(order.tokenIn);
  return launch ? { launch } : {};
};

export const wireOrderOf = (order: ValidatedOrder): Record<string, unknown> => ({
  ...(order.type !== undefined ? { type: order.type } : {}),
  ...(order.limitPrice !== undefined ? { limitPrice: order.limitPrice } : {}),
  ...(order.expiresAtMs !== undefined ? { expiresAt: new Date(order.expiresAtMs).toISOString() } : {}),
  side: order.side,
  tokenIn: order.tokenIn.symbol,
  tokenOut: order.tokenOut.symbol,
  amount: formatUiAmount(order.amountIn, order.tokenIn),
  slippage: order.slippageBps / 100,
  ...(order.priorityFee !== undefined ? { priorityFee: order.priorityFee } : {}),
  ...(order.clientOrderId ? { clientOrderId: order.clientOrderId } : {}),
});

/*
 * The route's time budgets. With the owner lookup and the admission (3 s each) they add up to 25 s, under the execute
 * Lambda's 29 s timeout (API Gateway's integration limit, serverless.yml): an order that could not be recorded in
 * this long is better refused (UNAVAILABLE, retry later) than left hanging.
 */
const RECORD_BUDGET_MS = 8_000;
const ACK_BUDGET_MS = 3_000;
const ENQUEUE_BUDGET_MS = 8_000;
/** Told to a client refused for capacity: long enough for a burst to drain, short enough to keep trading. */
const UNAVAILABLE_RETRY_AFTER_MS = 1_000;

/** Milliseconds spent in each stage of one placement (logged at debug, read by the bench's burst analysis). */
export interface PlacementTimings {
  recordMs: number;
  recordAttempts: number;
  ackMs: number;
  enqueueMs: number;
}

/**
 * Where the answer to a placement goes: a WebSocket connection (the ack is posted to it, and it follows the order), or
 * nowhere but the caller's return value (the HTTP API answers with the frame in its response body; a client follows the
 * order by subscribing over WebSocket).
 */
export type PlacementReply = { connectionId: string; endpoint: string } | undefined;

/** What a placement answered: the order's id, whether this request created it, and its frame (`pending`, or the current one of an existing order). */
export interface Placement {
  orderId: string;
  created: boolean;
  frame: OrderFrame;
  timings: PlacementTimings;
}

/**
 * The `execute` WebSocket route: the message's admission and the order's placement (record, ack, enqueue), all in one
 * turn of the connection's owner at this host's store (lib/accounts/store-turns.ts says why the ack and the enqueue are
 * in it too).
 */
export const executeOnConnection = (ctx: EngineContext, message: { connectionId: string; endpoint: string; body: unknown }): Promise<Placement> =>
  inOwnersTurn(ctx, message.connectionId, 'order', async () => {
    const { owner, request: order, admission } = await admitRequest(ctx, message.connectionId, 'order', async () =>
      validateExecute(message.body, { testHooks: ctx.config.MOCK_TEST_HOOKS, launched: await launchedTokensOf(message.body, ctx.launches) }),
    );
    return placeOrder(ctx, { reply: { connectionId: message.connectionId, endpoint: message.endpoint }, owner, order, openOrderReserved: admission.openOrderReserved });
  });

/**
 * The `execute` route: record the order (`pending`, seq 1), acknowledge it on the caller's socket, then enqueue it.
 * The ack is posted before the enqueue so that no later frame of the order can overtake it. Without a connection
 * (`reply` undefined: the HTTP API), nothing is posted and the caller answers with the returned frame.
 *
 * Capacity trouble (a store that times out or throttles) is retried within the route's budget. The order keeps its
 * id across attempts, so a retry of a write that did land is recognised instead of recorded twice. If it still cannot
 * be recorded, the answer is UNAVAILABLE (UnavailableError), saying whether a write may have landed.
 */
export const placeOrder = (
  ctx: EngineContext,
  params: {
    reply: PlacementReply;
    owner: string;
    order: ValidatedOrder;
    /** Admission reserved an open-order slot for this order: given back here if no order is created. */
    openOrderReserved?: boolean;
  },
): Promise<Placement> => {
  const nowMs = ctx.now();
  const orderId = ulid(nowMs);
  return withLogContext({ orderId, ...(params.order.clientOrderId ? { clientOrderId: params.order.clientOrderId } : {}) }, () => place(ctx, params, orderId, nowMs));
};

const place = async (
  ctx: EngineContext,
  params: Parameters<typeof placeOrder>[1],
  orderId: string,
  nowMs: number,
): Promise<Placement> => {
  const { reply, owner, order } = params;
  // Once created, the order gives its slot back when it reaches a terminal status (lib/orders/outcomes.ts).
  const giveBackSlot = (): Promise<void> => (params.openOrderReserved ? releaseOpenOrder(ctx, owner) : Promise.resolve());
  const wireOrder = wireOrderOf(order);
  const placed: PlacedOrder = {
    owner,
    ...(order.clientOrderId ? { clientOrderId: order.clientOrderId } : {}),
    request: {
      ...(order.type !== undefined ? { type: order.type } : {}),
      ...(order.limitPrice !== undefined ? { limitPrice: order.limitPrice } : {}),
      ...(order.expiresAtMs !== undefined ? { expiresAtMs: order.expiresAtMs } : {}),
      side: order.side,
      tokenIn: order.tokenIn.symbol,
      tokenOut: order.tokenOut.symbol,
      amountIn: order.amountIn.toString(),
      slippageBps: order.slippageBps,
      ...(order.priorityFee !== undefined ? { priorityFee: order.priorityFee } : {}),
      ...(order.mockFailures ? { mockFailures: order.mockFailures as Record<string, string> } : {}),
      // A launched token is in no token list: the order carries its launch, so any process can rebuild and route it.
      ...launchField(order),
    },
    wireOrder,
    createdAtMs: nowMs,
    // An order placed over HTTP learns its endpoint from its first subscriber (OrdersTable.addSubscriber).
    ...(reply ? { mgmtEndpoint: reply.endpoint } : {}),
  };
  const item: OrderItem = {
    ...placedOrderItem(orderId, placed),
    // DynamoDB stores no empty set: an order placed over HTTP has no subscriber until one subscribes.
    ...(reply ? { subscribers: new Set([reply.connectionId]) } : {}),
    openShard: openShardOf(orderId),
    // The owner's listing (`orders`): every order of the owner, and while not terminal its open orders.
    ownerOrders: owner,
    openOwner: owner,
  };
  const frame = item.lastFrame;

  const t0 = performance.now();
  const recorded = await retryTransient(() => ctx.orders.create(item), { deadlineMs: Date.now() + RECORD_BUDGET_MS })
    .catch(async (error: unknown) => {
      await giveBackSlot(); // a failure that is not capacity trouble: nothing was written
      throw error;
    });
  const recordMs = performance.now() - t0;
  if (!recorded.ok) {
    // Certainly not recorded: the slot goes back. Maybe recorded: it stays, so the count errs on the strict side.
    if (!recorded.maybeSent) await giveBackSlot();
    log.warn('order not recorded within the budget', { orderId, clientOrderId: order.clientOrderId, attempts: recorded.attempts, maybeSent: recorded.maybeSent, error: recorded.error });
    throw new UnavailableError(
      recorded.maybeSent
        ? 'the engine is over capacity and cannot tell whether the order was recorded'
        : 'the engine is over capacity; the order was not recorded',
      { cause: recorded.error, retryAfterMs: UNAVAILABLE_RETRY_AFTER_MS, recorded: recorded.maybeSent ? 'unknown' : 'no', orderId },
    );
  }
  const created = recorded.value;
  if (!created.created && created.existingOrderId !== orderId) {
    const [duplicate] = await Promise.all([
      answerDuplicate(ctx, { reply, owner, existingOrderId: created.existingOrderId, request: item.request, nowMs }),
      giveBackSlot(),
    ]);
    return { ...duplicate, timings: { recordMs, recordAttempts: recorded.attempts, ackMs: 0, enqueueMs: 0 } };
  }

  const t1 = performance.now();
  const acked = reply
    ? await retryTransient(() => ctx.notifier.postDirect(reply.endpoint, reply.connectionId, frame), { deadlineMs: Date.now() + ACK_BUDGET_MS }).catch(
        (error: unknown) => ({ ok: false as const, error }),
      )
    : ({ ok: true } as const);
  if (!acked.ok) {
    /*
     * The order is recorded: it must still run, and its `pending` frame must still reach the client. It goes the way of
     * every later frame, through the status queue, before the order is enqueued: the queue's FIFO group (the orderId)
     * then delivers it ahead of `routing`. (Seen when a 500-order burst kept the Management API busier than the ack's
     * budget: those clients got `routing` with no `pending` before it.) If even that fails, the client learns the id
     * from a later frame or by re-sending its clientOrderId; a lost ack must not strand the order at `pending`.
     */
    log.warn('could not post the pending frame; sending it through the status queue', { orderId, error: acked.error });
    const queued = await retryTransient(() => ctx.notifier.publish(item, [frame]), { deadlineMs: Date.now() + ACK_BUDGET_MS }).catch((error: unknown) => ({ ok: false as const, error }));
    if (!queued.ok) log.error('could not queue the pending frame either; enqueueing the order anyway', { orderId, error: queued.error });
  }
  const t2 = performance.now();
  const enqueued = await retryTransient(() => ctx.queues.sendTogether(ctx.config.ORDERS_QUEUE_NAME, [{ body: { orderId, placed } satisfies OrderMessage }]), {
    deadlineMs: Date.now() + ENQUEUE_BUDGET_MS,
  }).catch((error: unknown) => ({ ok: false as const, error }));
  if (!enqueued.ok) {
    // Accepted but not enqueued: end it visibly rather than leave it pending until the sweeper finds it.
    log.error('could not enqueue order', { orderId, error: enqueued.error });
    await failOrder(ctx, item, { code: 'UNAVAILABLE', message: 'the order could not be queued for execution; place it again' });
  }
  const timings = { recordMs, recordAttempts: recorded.attempts, ackMs: t2 - t1, enqueueMs: performance.now() - t2 };
  log.debug('order placed', { orderId, clientOrderId: order.clientOrderId, ...timings });
  return { orderId, created: true, frame, timings };
};

/**
 * Whether two requests are the same order: type, limit price, side, tokens, amount (base units), slippage and priority
 * fee, and the test hooks' forced failures. Only an identical request may be answered with an existing order (a retry
 * of the same send). `expiresAt` is not compared: its default moves with the clock, so a resend of the same order
 * without one would never match.
 */
export const sameOrderRequest = (a: StoredOrderRequest, b: StoredOrderRequest): boolean => {
  const failures = (r: StoredOrderRequest): string => JSON.stringify(Object.entries(r.mockFailures ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return (
    (a.type ?? 'market') === (b.type ?? 'market') &&
    a.limitPrice === b.limitPrice &&
    a.side === b.side &&
    a.tokenIn === b.tokenIn &&
    a.tokenOut === b.tokenOut &&
    a.amountIn === b.amountIn &&
    a.slippageBps === b.slippageBps &&
    JSON.stringify(a.priorityFee ?? 'auto') === JSON.stringify(b.priorityFee ?? 'auto') &&
    failures(a) === failures(b)
  );
};

/**
 * A repeated clientOrderId. The same request again (a client retrying a send whose answer it lost) gets the existing
 * order's current frame, and this connection (if the request came on one) follows it from now on. A different request under the same id is
 * refused with DUPLICATE_CLIENT_ORDER_ID naming the existing order, and changes nothing: answering it with the old
 * order's fill would tell a bot whose counter restarted that an order it never placed was executed (the FIX
 * protocol rejects a duplicate ClOrdID for the same reason).
 */
const answerDuplicate = async (
  ctx: EngineContext,
  params: { reply: PlacementReply; owner: string; existingOrderId: string; request: StoredOrderRequest; nowMs: number },
): Promise<{ orderId: string; created: false; frame: OrderFrame }> => {
  const { reply, owner, existingOrderId, nowMs } = params;
  const budget = { deadlineMs: Date.now() + RECORD_BUDGET_MS };
  const read = await retryTransient(() => ctx.orders.get(existingOrderId), budget);
  if (!read.ok) throw new UnavailableError('the engine is over capacity; the existing order could not be read', { cause: read.error, retryAfterMs: UNAVAILABLE_RETRY_AFTER_MS });
  if (read.value && read.value.owner === owner && !sameOrderRequest(read.value.request, params.request)) {
    throw new RequestError(
      'DUPLICATE_CLIENT_ORDER_ID',
      `clientOrderId already names order ${existingOrderId}, a different order; nothing was placed, use a new clientOrderId`,
      [{ path: 'clientOrderId', message: `already used for order ${existingOrderId}` }],
      { orderId: existingOrderId },
    );
  }
  const found = reply
    ? await retryTransient(() => ctx.orders.addSubscriber(existingOrderId, owner, reply.connectionId, reply.endpoint), budget)
    : { ok: true as const, value: read.value && read.value.owner === owner ? read.value : undefined };
  if (!found.ok) throw new UnavailableError('the engine is over capacity; the existing order could not be read', { cause: found.error, retryAfterMs: UNAVAILABLE_RETRY_AFTER_MS });
  const existing = found.value;
  if (!existing) throw new InfrastructureError('INTERNAL', `order ${existingOrderId} named by a clientOrderId guard is missing`, { retryable: false });
  if (reply) await retryTransient(() => ctx.notifier.postDirect(reply.endpoint, reply.connectionId, existing.lastFrame), { deadlineMs: Date.now() + ACK_BUDGET_MS });
  if (existing.status === 'pending' && existing.seq === 1 && nowMs - existing.createdAtMs > REENQUEUE_STALE_PENDING_AFTER_MS) {
    log.warn('re-enqueueing an order stuck at its first pending', { orderId: existing.orderId });
    await ctx.queues.sendMessage(ctx.config.ORDERS_QUEUE_NAME, { orderId: existing.orderId } satisfies OrderMessage);
  }
  return { orderId: existing.orderId, created: false, frame: existing.lastFrame };
};
