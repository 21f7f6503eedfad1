import { engineContext } from '../../lib/engine';
import { ordersRoute } from '../../lib/http/api';
import { withInvocationLog } from '../../lib/log';

/** `GET /api/orders?status=&limit=&cursor=` (PROTOCOL.md v2 "HTTP API"). */
export const handler = withInvocationLog(ordersRoute(engineContext()));
