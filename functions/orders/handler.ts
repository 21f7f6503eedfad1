import { engineContext } from '../../lib/engine';
import { wsMessageRoute } from '../../lib/ws/route';
import { admitRequest } from '../../lib/accounts/connections';
import { validateOrders } from '../../lib/orders/request';
import { listOrders } from '../../lib/orders/list-orders';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

const invocation = wsMessageRoute(ctx.notifier, async ({ connectionId, body }) => {
  const { owner, request } = await admitRequest(ctx, connectionId, 'message', () => validateOrders(body));
  return listOrders(ctx, { owner, request });
});

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
