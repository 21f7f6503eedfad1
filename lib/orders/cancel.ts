import { RequestError, StaleWriteError, UnavailableError } from '../errors';
import { retryTransient } from '../aws/transient';
import type { OrderItem } from '../aws/orders-table';
import type { OrderFrame } from '../notify/frames';
import type { EngineContext } from '../engine';
import { advance } from './outcomes';
import { CANCELLABLE_STATUSES } from './state-machine';
import type { CancelRequest } from './request';
import { log } from '../log';

/*
 * PROTOCOL.md v2 `cancel`: an order in `pending` (not picked up yet) or `open` (resting) ends `cancelled`, meta
 * `{reason: "client"}`, in one write conditional on the order's seq (lib/orders/outcomes.ts advance, which also gives
 * the account's open-order slot back and publishes the frame to the order's subscribers). The execution's own first
 * write (pending -> routing, or open -> routing when a limit order triggers) is conditional on the same seq, so of a
 * cancel and an execution exactly one wins; a cancelled order's queue message finds it terminal and is dropped
 * (lib/orders/execute-order.ts), so it never sends a transaction.
 */

/** Lost races on an order that stays cancellable (another writer moved it, e.g. pending -> pending on a retry). */
const CANCEL_ATTEMPTS = 5;
const READ_BUDGET_MS = 3_000;
const WRITE_BUDGET_MS = 5_000;

export interface Cancellation {
  /** The `cancelled` frame. */
  frame: OrderFrame;
  /**
   * The caller's connection follows the order: the frame reaches it through the status queue, in seq order after the
   * frames before it, so the route does not answer it a second time.
   */
  deliveredToCaller: boolean;
}

const notFound = (request: CancelRequest): RequestError =>
  request.orderId !== undefined
    ? new RequestError('NOT_FOUND', `order ${request.orderId} not found`, [{ path: 'orderId', message: 'not found' }])
    : new RequestError('NOT_FOUND', `no order with clientOrderId ${request.clientOrderId}`, [{ path: 'clientOrderId', message: 'not found' }]);

const notCancellable = (order: OrderItem): RequestError =>
  new RequestError('NOT_CANCELLABLE', `order ${order.orderId} is ${order.status}; only a pending or open order can be cancelled`, [
    { path: 'status', message: order.status },
  ]);

const unavailable = (error: unknown): UnavailableError =>
  new UnavailableError('the engine is over capacity; the order was not cancelled', { cause: error });

/**
 * Cancels the owner's order named by orderId or clientOrderId. Another account's order and an unknown one are the same
 * NOT_FOUND (ids cannot be probed); an order being executed or already terminal is NOT_CANCELLABLE with its status.
 */
export const cancelOrder = async (
  ctx: EngineContext,
  params: { owner: string; request: CancelRequest; connectionId?: string | undefined },
): Promise<Cancellation> => {
  const { owner, request } = params;
  const readDeadline = Date.now() + READ_BUDGET_MS;
  let orderId = request.orderId;
  if (orderId === undefined) {
    const clientOrderId = request.clientOrderId as string;
    const looked = await retryTransient(() => ctx.orders.orderIdOfClientOrderId(owner, clientOrderId), { deadlineMs: readDeadline });
    if (!looked.ok) throw unavailable(looked.error);
    orderId = looked.value;
    if (orderId === undefined) throw notFound(request);
  }
  const id = orderId;
  const read = await retryTransient(() => ctx.orders.get(id), { deadlineMs: readDeadline });
  if (!read.ok) throw unavailable(read.error);
  let order = read.value;
  const writeDeadline = Date.now() + WRITE_BUDGET_MS;
  for (let attempt = 1; ; attempt++) {
    if (!order || order.owner !== owner) throw notFound(request);
    if (!CANCELLABLE_STATUSES.has(order.status)) throw notCancellable(order);
    if (attempt > CANCEL_ATTEMPTS) throw new UnavailableError('the order kept changing; it was not cancelled, try again');
    const current: OrderItem = order;
    const answer = (cancelled: OrderItem): Cancellation => {
      log.info('order cancelled', { orderId: cancelled.orderId, from: current.status });
      return { frame: cancelled.lastFrame, deliveredToCaller: params.connectionId !== undefined && (cancelled.subscribers?.has(params.connectionId) ?? false) };
    };
    let tries = 0;
    try {
      const written = await retryTransient(
        () => {
          tries++;
          return advance(ctx, current, 'cancelled', { meta: { reason: 'client' } });
        },
        { deadlineMs: writeDeadline },
      );
      if (!written.ok) throw unavailable(written.error);
      return answer(written.value);
    } catch (error) {
      if (!(error instanceof StaleWriteError)) throw error;
      /*
       * Lost the race: decide again on the order as it is now, read back (consistent). Not the StaleWriteError's
       * `current`: lib-dynamodb leaves the item of a ConditionalCheckFailedException marshalled.
       */
      const stored = await ctx.orders.get(id);
      if (tries > 1 && stored?.status === 'cancelled' && stored.seq === current.seq + 1 && stored.lastFrame.meta.reason === 'client') {
        // A try whose answer was lost did land (its publish perhaps not: the status queue drops a frame sent twice).
        await ctx.notifier.publish(stored, [stored.lastFrame]);
        return answer(stored);
      }
      order = stored;
    }
  }
};
