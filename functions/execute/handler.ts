import { engineContext } from '../../lib/orders/runtime';
import { wsMessageRoute } from '../../lib/notify/ws-route';
import { ownerOf } from '../../lib/accounts/connections';
import { validateExecute } from '../../lib/orders/request';
import { placeOrder } from '../../lib/orders/place-order';

const ctx = engineContext();

export const handler = wsMessageRoute(ctx.notifier, async ({ connectionId, endpoint, body }) => {
  const order = validateExecute(body, { testHooks: ctx.config.MOCK_TEST_HOOKS });
  const owner = await ownerOf(ctx, connectionId);
  await placeOrder(ctx, { connectionId, owner, endpoint, order });
});
