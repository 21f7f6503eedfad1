import { engineContext } from '../../lib/engine';
import { orderRoute } from '../../lib/http/api';
import { withInvocationLog } from '../../lib/log';

/** `GET /api/orders/{orderId}` (PROTOCOL.md v2 "HTTP API"). */
export const handler = withInvocationLog(orderRoute(engineContext()));
