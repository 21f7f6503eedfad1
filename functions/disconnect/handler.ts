import middy from '@middy/core';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { engineContext } from '../../lib/engine';
import { lifecycleRoute } from '../../lib/orders/unrouted';
import { closeConnection } from '../../lib/accounts/connections';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

/** `$disconnect` is best effort on AWS; rows it misses expire by TTL and 410s clean up the rest. */
const lifecycle = middy<APIGatewayProxyWebsocketEventV2, APIGatewayProxyResultV2>().handler(async (event) => {
  await closeConnection(ctx, event.requestContext.connectionId);
  return { statusCode: 200 };
});

const invocation = lifecycleRoute(ctx, lifecycle);

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
