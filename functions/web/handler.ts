import { config } from '../../lib/config';
import { webRoute } from '../../lib/http/web';

/** The web order ticket: `GET /` and `GET /ticket.js` (web/). */
export const handler = webRoute(config());
