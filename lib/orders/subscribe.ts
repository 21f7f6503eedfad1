import { RequestError } from '../errors';
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
  const order = await ctx.orders.addSubscriber(params.orderId, params.owner, params.connectionId);
  if (!order) throw new RequestError('NOT_FOUND', `order ${params.orderId} not found`, [{ path: 'orderId', message: 'not found' }]);
  await ctx.notifier.postDirect(params.endpoint, params.connectionId, order.lastFrame);
};
