import { engineContext } from '../../lib/engine';
import { unroutedMessageRoute } from '../../lib/orders/unrouted';
import { withInvocationLog } from '../../lib/log';

/** `$default`: API Gateway sends here what is not JSON or names no known action. */
const invocation = unroutedMessageRoute(engineContext());

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
