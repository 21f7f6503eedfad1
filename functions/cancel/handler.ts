import { engineContext } from '../../lib/engine';
import { wsMessageRoute } from '../../lib/ws/route';
import { admitRequest } from '../../lib/accounts/connections';
import { validateCancel } from '../../lib/orders/request';
import { cancelOrder } from '../../lib/orders/cancel';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

const invocation = wsMessageRoute(ctx.notifier, async ({ connectionId, body }) => {
  const { owner, request } = await admitRequest(ctx, connectionId, 'message', () => validateCancel(body));
  const cancelled = await cancelOrder(ctx, { owner, request, connectionId });
  // A connection that follows the order gets the frame from its stream, in seq order; any other gets it as the answer.
  return cancelled.deliveredToCaller ? undefined : cancelled.frame;
});

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
