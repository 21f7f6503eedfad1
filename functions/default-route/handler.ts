import { engineContext } from '../../lib/orders/runtime';
import { wsMessageRoute } from '../../lib/notify/ws-route';
import { RequestError } from '../../lib/errors';
import { KNOWN_ACTIONS } from '../../lib/orders/request';
import { admitMessage } from '../../lib/accounts/connections';

const ctx = engineContext();

/**
 * `$default`: API Gateway sends here what is not JSON or names no known action. The message is counted against its
 * connection's rate before its body is even parsed, so a flood of garbage is refused like any other.
 */
export const handler = wsMessageRoute(ctx.notifier, async ({ body }) => {
  const action = (body as { action?: unknown }).action;
  if (action === undefined) {
    throw new RequestError('BAD_REQUEST', 'action: required', [{ path: 'action', message: `required, one of ${KNOWN_ACTIONS.join(', ')}` }]);
  }
  throw new RequestError('UNKNOWN_ACTION', `unknown action ${JSON.stringify(action).slice(0, 64)}`, [
    { path: 'action', message: `must be one of ${KNOWN_ACTIONS.join(', ')}` },
  ]);
}).before(async ({ event }) => {
  await admitMessage(ctx, event.requestContext.connectionId);
});
