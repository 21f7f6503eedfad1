import { engineContext } from '../../lib/engine';
import { wsMessageRoute } from '../../lib/ws/route';
import { admitRequest } from '../../lib/accounts/connections';
import { validateQuote } from '../../lib/orders/request';
import { quoteOrder } from '../../lib/orders/quote';

const ctx = engineContext();

export const handler = wsMessageRoute(ctx.notifier, async ({ connectionId, body }) => {
  const { request: order } = await admitRequest(ctx, connectionId, 'quote', () => validateQuote(body));
  return quoteOrder(ctx, order);
});
