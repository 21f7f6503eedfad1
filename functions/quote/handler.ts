import { engineContext } from '../../lib/engine';
import { wsMessageRoute } from '../../lib/ws/route';
import { admitRequest, inOwnersTurn } from '../../lib/accounts/connections';
import { launchedTokensOf, validateQuote } from '../../lib/orders/request';
import { quoteOrder } from '../../lib/orders/quote';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

const invocation = wsMessageRoute(ctx.notifier, ({ connectionId, body }) =>
  inOwnersTurn(ctx, connectionId, 'quote', async () => {
    const { request: order } = await admitRequest(ctx, connectionId, 'quote', async () => validateQuote(body, { launched: await launchedTokensOf(body, ctx.launches) }));
    return quoteOrder(ctx, order);
  }),
);

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
