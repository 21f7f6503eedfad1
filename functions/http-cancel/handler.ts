import { engineContext } from '../../lib/engine';
import { cancelRoute } from '../../lib/http/api';
import { withInvocationLog } from '../../lib/log';

/** `DELETE /api/orders/{orderId}` (PROTOCOL.md v2 "HTTP API"). */
export const handler = withInvocationLog(cancelRoute(engineContext()));
