import middy from '@middy/core';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { engineContext } from '../../lib/engine';
import { lifecycleRoute } from '../../lib/orders/unrouted';
import { openConnection } from '../../lib/accounts/connections';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

/** `$connect`: 400 refuses a key given twice, 401 the upgrade without a valid API key, 429 over the account's connection cap; no row either way. */
const lifecycle = middy<APIGatewayProxyWebsocketEventV2, APIGatewayProxyResultV2>().handler(async (event) => {
  const opened = await openConnection(ctx, event);
  if (opened.outcome === 'opened') return { statusCode: 200 };
  if (opened.outcome === 'over-limit') {
    return { statusCode: 429, body: `Too Many Requests: the account already holds ${opened.limit} WebSocket connections (LIMIT_CONNECTIONS)` };
  }
  if (opened.outcome === 'bad-request') return { statusCode: 400, body: `Bad Request: ${opened.reason}` };
  return { statusCode: 401, body: 'Unauthorized' };
});

const invocation = lifecycleRoute(ctx, lifecycle);

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
