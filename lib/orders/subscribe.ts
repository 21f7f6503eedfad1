import { RequestError, UnavailableError } from '../errors';
import { retryTransient } from '../aws/transient';
import type { OrderFrame } from '../notify/frames';
import type { EngineContext } from '../engine';

/**
 * `subscribe`: add this connection to the order's subscribers and replay its current state as one frame. The replay
 * is the state returned by the very write that subscribed, so every later status write includes this connection.
 * Another owner's order and an unknown id look the same (NOT_FOUND): ids cannot be probed (PROTOCOL.md "Access").
 */
export const subscribeToOrder = async (
  ctx: EngineContext,
  params: { connectionId: string; owner: string; endpoint: string; orderId: string },
): Promise<void> => {
  const order = await ctx.orders.addSubscriber(params.orderId, params.owner, params.connectionId, params.endpoint);
  if (!order) throw notFound(params.orderId);
  await ctx.notifier.postDirect(params.endpoint, params.connectionId, order.lastFrame);
};

const notFound = (orderId: string): RequestError => new RequestError('NOT_FOUND', `order ${orderId} not found`, [{ path: 'orderId', message: 'not found' }]);

const ORDER_READ_BUDGET_MS = 3_000;

/**
 * `GET /api/orders/{orderId}`: the order's current frame, for its owner only; another owner's order and an unknown id
 * are the same NOT_FOUND, as for `subscribe`. (The frames before it are not kept yet: only the latest one is stored.)
 */
export const currentFrameOf = async (ctx: EngineContext, params: { owner: string; orderId: string }): Promise<OrderFrame> => {
  const read = await retryTransient(() => ctx.orders.get(params.orderId), { deadlineMs: Date.now() + ORDER_READ_BUDGET_MS });
  if (!read.ok) throw new UnavailableError('the engine is over capacity; the order could not be read', { cause: read.error });
  if (!read.value || read.value.owner !== params.owner) throw notFound(params.orderId);
  return read.value.lastFrame;
};
