import { engineContext } from '../../lib/engine';
import { wsMessageRoute } from '../../lib/ws/route';
import { admitRequest, inOwnersTurn } from '../../lib/accounts/connections';
import { launchedTokensOf, validateExecute } from '../../lib/orders/request';
import { placeOrder } from '../../lib/orders/place-order';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

const invocation = wsMessageRoute(ctx.notifier, ({ connectionId, endpoint, body }) =>
  inOwnersTurn(ctx, connectionId, 'order', async (leaveTurn) => {
    const { owner, request: order, admission } = await admitRequest(ctx, connectionId, 'order', async () =>
      validateExecute(body, { testHooks: ctx.config.MOCK_TEST_HOOKS, launched: await launchedTokensOf(body, ctx.launches) }),
    );
    await placeOrder(ctx, { reply: { connectionId, endpoint }, owner, order, openOrderReserved: admission.openOrderReserved, recorded: leaveTurn });
  }),
);

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
