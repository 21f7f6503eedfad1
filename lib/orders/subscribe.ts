import { RequestError, UnavailableError } from '../errors';
import { retryTransient } from '../aws/transient';
import type { OrderFrame } from '../notify/frames';
import type { EngineContext } from '../engine';
import type { OrderItem } from '../aws/orders-table';

/**
 * `subscribe`: add this connection to the order's subscribers and replay its state: the current frame, or with
 * `fromSeq` every frame of its history from that seq on, in order. The replay is the state returned by the very write
 * that subscribed, so every later status write includes this connection: no frame falls between the two.
 * Another owner's order and an unknown id look the same (NOT_FOUND): ids cannot be probed (PROTOCOL.md "Access").
 */
export const subscribeToOrder = async (
  ctx: EngineContext,
  params: { connectionId: string; owner: string; endpoint: string; orderId: string; fromSeq?: number | undefined },
): Promise<void> => {
  let fromSeq = params.fromSeq;
  if (fromSeq !== undefined) {
    /*
     * The missed frames go out before the subscription exists, so that no live frame can overtake them; then the
     * subscribing write's own state gives whatever was added meanwhile (usually nothing). Only that short catch-up can
     * still race a live frame (README "Known limits").
     */
    const before = await ctx.orders.get(params.orderId);
    if (!before || before.owner !== params.owner) throw notFound(params.orderId);
    for (const frame of replayOf(before, fromSeq)) await ctx.notifier.postDirect(params.endpoint, params.connectionId, frame);
    fromSeq = Math.max(fromSeq, before.lastFrame.seq + 1);
  }
  const order = await ctx.orders.addSubscriber(params.orderId, params.owner, params.connectionId, params.endpoint);
  if (!order) throw notFound(params.orderId);
  for (const frame of replayOf(order, fromSeq)) await ctx.notifier.postDirect(params.endpoint, params.connectionId, frame);
};

/**
 * The frames a subscribe replays. Without `fromSeq`, the current frame (v1). With it, the history's frames from that
 * seq on; an order recorded before the history existed replays what it has, and at least its current frame when that
 * is at or after `fromSeq`. A `fromSeq` past the current seq replays nothing: the client already has everything.
 */
export const replayOf = (order: Pick<OrderItem, 'lastFrame' | 'history'>, fromSeq: number | undefined): OrderFrame[] => {
  if (fromSeq === undefined) return [order.lastFrame];
  const history = order.history?.length ? order.history : [order.lastFrame];
  return history.filter((frame) => frame.seq >= fromSeq).sort((a, b) => a.seq - b.seq);
};

const notFound = (orderId: string): RequestError => new RequestError('NOT_FOUND', `order ${orderId} not found`, [{ path: 'orderId', message: 'not found' }]);

const ORDER_READ_BUDGET_MS = 3_000;

/**
 * `GET /api/orders/{orderId}`: the order's current frame and its history (every frame, seq 1..n), for its owner only;
 * another owner's order and an unknown id are the same NOT_FOUND, as for `subscribe`.
 */
export const orderWithHistory = async (ctx: EngineContext, params: { owner: string; orderId: string }): Promise<{ order: OrderFrame; history: OrderFrame[] }> => {
  const read = await retryTransient(() => ctx.orders.get(params.orderId), { deadlineMs: Date.now() + ORDER_READ_BUDGET_MS });
  if (!read.ok) throw new UnavailableError('the engine is over capacity; the order could not be read', { cause: read.error });
  if (!read.value || read.value.owner !== params.owner) throw notFound(params.orderId);
  return { order: read.value.lastFrame, history: replayOf(read.value, 1) };
};
