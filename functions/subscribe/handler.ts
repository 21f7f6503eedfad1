import { engineContext } from '../../lib/orders/runtime';
import { wsMessageRoute } from '../../lib/notify/ws-route';
import { ownerOf } from '../../lib/accounts/connections';
import { validateSubscribe } from '../../lib/orders/request';
import { subscribeToOrder } from '../../lib/orders/subscribe';

const ctx = engineContext();

export const handler = wsMessageRoute(ctx.notifier, async ({ connectionId, endpoint, body }) => {
  const { orderId } = validateSubscribe(body);
  const owner = await ownerOf(ctx, connectionId);
  await subscribeToOrder(ctx, { connectionId, owner, endpoint, orderId });
});
