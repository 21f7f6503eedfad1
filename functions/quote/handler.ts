import { engineContext } from '../../lib/orders/runtime';
import { wsMessageRoute } from '../../lib/notify/ws-route';
import { admitRequest } from '../../lib/accounts/connections';
import { validateQuote } from '../../lib/orders/request';
import { quoteOrder } from '../../lib/orders/quote';

const ctx = engineContext();

export const handler = wsMessageRoute(ctx.notifier, async ({ connectionId, body }) => {
  const { request: order } = await admitRequest(ctx, connectionId, 'quote', () => validateQuote(body));
  return quoteOrder(ctx, order);
});
