import { engineContext } from '../../lib/engine';
import { quoteRoute } from '../../lib/http/api';
import { withInvocationLog } from '../../lib/log';

/** `POST /api/quote` (PROTOCOL.md v2 "HTTP API"). */
export const handler = withInvocationLog(quoteRoute(engineContext()));
