import middy from '@middy/core';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { engineContext } from '../../lib/orders/runtime';
import { openConnection } from '../../lib/accounts/connections';

const ctx = engineContext();

/** `$connect`: 401 refuses the upgrade, so no connection exists without a valid API key. */
export const handler = middy<APIGatewayProxyWebsocketEventV2, APIGatewayProxyResultV2>().handler(async (event) => {
  const opened = await openConnection(ctx, event);
  return opened ? { statusCode: 200 } : { statusCode: 401, body: 'Unauthorized' };
});
