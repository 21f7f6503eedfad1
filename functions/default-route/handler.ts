import { engineContext } from '../../lib/engine';
import { unroutedMessageRoute } from '../../lib/orders/unrouted';

/** `$default`: API Gateway sends here what is not JSON or names no known action. */
export const handler = unroutedMessageRoute(engineContext());
