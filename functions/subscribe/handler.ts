import { engineContext } from '../../lib/engine';
import { wsMessageRoute } from '../../lib/ws/route';
import { admitRequest } from '../../lib/accounts/connections';
import { validateSubscribe } from '../../lib/orders/request';
import { subscribeToOrder } from '../../lib/orders/subscribe';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

const invocation = wsMessageRoute(ctx.notifier, async ({ connectionId, endpoint, body }) => {
  const { owner, request } = await admitRequest(ctx, connectionId, 'message', () => validateSubscribe(body));
  await subscribeToOrder(ctx, { connectionId, owner, endpoint, orderId: request.orderId, fromSeq: request.fromSeq });
});

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
