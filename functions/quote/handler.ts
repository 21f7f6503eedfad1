import { engineContext } from '../../lib/orders/runtime';
import { wsMessageRoute } from '../../lib/notify/ws-route';
import { admitRequest } from '../../lib/accounts/connections';
import { validateQuote } from '../../lib/orders/request';
import { quoteOrder } from '../../lib/orders/quote';

const ctx = engineContext();

export const handler = wsMessageRoute(ctx.notifier, async ({ connectionId, endpoint, body }) => {
  const { request: order } = await admitRequest(ctx, connectionId, 'quote', () => validateQuote(body));
  await ctx.notifier.postDirect(endpoint, connectionId, quoteOrder(ctx, order));
});
