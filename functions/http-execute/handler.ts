import { engineContext } from '../../lib/engine';
import { executeRoute } from '../../lib/http/api';
import { withInvocationLog } from '../../lib/log';

/** `POST /api/orders/execute` (PROTOCOL.md v2 "HTTP API"). */
export const handler = withInvocationLog(executeRoute(engineContext()));
