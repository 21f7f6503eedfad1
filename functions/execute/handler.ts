import { engineContext } from '../../lib/engine';
import { wsMessageRoute } from '../../lib/ws/route';
import { executeOnConnection } from '../../lib/orders/place-order';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

const invocation = wsMessageRoute(ctx.notifier, async ({ connectionId, endpoint, body }) => {
  // The ack is posted by the placement itself; the route answers nothing more.
  await executeOnConnection(ctx, { connectionId, endpoint, body });
});

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
