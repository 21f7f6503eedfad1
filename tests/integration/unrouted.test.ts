import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { engineEnv, stubDirectPosts, useEngineEnv } from './support/engine';
import { createEngineContext, type EngineContext } from '../../lib/engine';
import { parseConfig } from '../../lib/config';
import { openConnection } from '../../lib/accounts/connections';
import { hashApiKey } from '../../lib/accounts/api-key';
import { lifecycleRoute, unroutedMessageRoute } from '../../lib/orders/unrouted';

/*
 * The `$default` route and the lifecycle routes against DynamoDB Local: a message no route takes is counted on its
 * connection, then answered (`pong` for `ping`, BAD_REQUEST without an action, UNKNOWN_ACTION otherwise) as the route
 * response; one sent to `$connect`/`$disconnect` by name is answered by a post and changes nothing.
 */
const CONTEXT = {} as Context;

let ctx: EngineContext;
let posted: unknown[];
beforeAll(() => {
  useEngineEnv();
  ctx = createEngineContext(parseConfig(engineEnv()));
  posted = stubDirectPosts(ctx);
});

/** A connection opened with a new account's key, as `$connect` does. */
const openedConnection = async (): Promise<string> => {
  const apiKey = `sk_test_${randomUUID()}`;
  await ctx.accounts.put({ apiKeyHash: hashApiKey(apiKey), accountId: `acct-${randomUUID()}`, label: 'itest', createdAt: new Date().toISOString() });
  const connectionId = `conn-${randomUUID()}`;
  const event = { requestContext: { connectionId }, queryStringParameters: { apiKey } } as unknown as Parameters<typeof openConnection>[1];
  expect(await openConnection(ctx, event)).toMatchObject({ outcome: 'opened' });
  return connectionId;
};

const message = (connectionId: string, body: string, eventType = 'MESSAGE'): APIGatewayProxyWebsocketEventV2 =>
  ({
    body,
    isBase64Encoded: false,
    requestContext: { connectionId, domainName: '127.0.0.1', stage: 'itest', routeKey: '$default', eventType },
  }) as unknown as APIGatewayProxyWebsocketEventV2;

const answerOf = (result: APIGatewayProxyResultV2): Record<string, unknown> => JSON.parse(String((result as { body?: string }).body)) as Record<string, unknown>;

describe('$default', () => {
  it('answers ping with pong at the engine time, a message without an action BAD_REQUEST, an unknown one UNKNOWN_ACTION', async () => {
    const route = unroutedMessageRoute(ctx);
    const connectionId = await openedConnection();
    const before = Date.now();
    const pong = answerOf(await route(message(connectionId, '{"action":"ping"}'), CONTEXT));
    expect(pong.type).toBe('pong');
    expect(Date.parse(String(pong.at))).toBeGreaterThanOrEqual(before - 1_000);
    expect(answerOf(await route(message(connectionId, '{"side":"buy"}'), CONTEXT))).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    expect(answerOf(await route(message(connectionId, '{"action":"sell-everything"}'), CONTEXT))).toMatchObject({
      type: 'error',
      code: 'UNKNOWN_ACTION',
      action: 'sell-everything',
    });
    // ping takes no field of its own.
    expect(answerOf(await route(message(connectionId, '{"action":"ping","x":1}'), CONTEXT))).toMatchObject({ type: 'error', action: 'ping' });
  });

  it('a connection that never authenticated is FORBIDDEN, whatever it sends', async () => {
    const route = unroutedMessageRoute(ctx);
    expect(answerOf(await route(message(`conn-${randomUUID()}`, '{"action":"ping"}'), CONTEXT))).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
  });
});

describe('lifecycle routes', () => {
  it('a MESSAGE naming $disconnect is answered UNKNOWN_ACTION by a post and does not close the connection; the lifecycle event runs the lifecycle', async () => {
    const lifecycle: Array<string | undefined> = [];
    const route = lifecycleRoute(ctx, async (event) => {
      lifecycle.push(event.requestContext.eventType);
      return { statusCode: 200 };
    });
    const connectionId = await openedConnection();
    const from = posted.length;
    expect(await route(message(connectionId, '{"action":"$disconnect"}'), CONTEXT)).toEqual({ statusCode: 200 });
    expect(posted.slice(from)).toEqual([expect.objectContaining({ type: 'error', code: 'UNKNOWN_ACTION', action: '$disconnect' })]);
    expect(lifecycle).toEqual([]);
    expect(await ctx.connections.get(connectionId, ctx.now())).toBeDefined();
    await route(message(connectionId, '', 'DISCONNECT'), CONTEXT);
    expect(lifecycle).toEqual(['DISCONNECT']);
  });
});
