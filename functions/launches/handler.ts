import { engineContext } from '../../lib/engine';
import { wsMessageRoute } from '../../lib/ws/route';
import { admitRequest } from '../../lib/accounts/connections';
import { answerLaunchesRequest, validateLaunchesRequest } from '../../lib/orders/launches';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

/** `launches` and `mockLaunch` (PROTOCOL.md v2). */
const invocation = wsMessageRoute(ctx.notifier, async ({ connectionId, body }) => {
  const { request } = await admitRequest(ctx, connectionId, 'message', () => validateLaunchesRequest(body, { testHooks: ctx.config.MOCK_TEST_HOOKS }));
  return answerLaunchesRequest(ctx, request);
});

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
