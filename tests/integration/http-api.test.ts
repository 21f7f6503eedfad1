import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { engineEnv, stubDirectPosts, takeMessages, useEngineEnv } from './support/engine';
import { dynamoClient, purgeQueues, resource, sqsClient } from './support/stack';
import { createEngineContext, type EngineContext } from '../../lib/engine';
import { parseConfig } from '../../lib/config';
import { generateApiKey, hashApiKey } from '../../lib/accounts/api-key';
import { executeRoute, orderRoute, quoteRoute } from '../../lib/http/api';
import { subscribeToOrder } from '../../lib/orders/subscribe';
import { orderMessageSchema } from '../../lib/orders/order-message';

/*
 * The HTTP API's use cases against DynamoDB Local and the SQS emulator: the route handlers as API Gateway's HTTP API
 * (payload format 2.0) calls them. The key is looked up hashed in the accounts table, admission charges the account's
 * order bucket and an open-order slot (no connection bucket: there is none), and an order placed over HTTP has no
 * subscriber until a WebSocket subscribes, which gives it the Management API endpoint its frames go to.
 */
const sqs = sqsClient();
const db = DynamoDBDocumentClient.from(dynamoClient());
const LIMITS = { LIMIT_ORDERS_PER_SECOND: '5', LIMIT_ORDERS_BURST: '2', LIMIT_OPEN_ORDERS: '10', WS_PUBLIC_URL: 'wss://example.test/dev' };

let ctx: EngineContext;
type Route = (event: APIGatewayProxyEventV2, context: never) => Promise<APIGatewayProxyStructuredResultV2>;
let execute: Route;
let getOrder: Route;
let quote: Route;

beforeAll(async () => {
  useEngineEnv();
  ctx = createEngineContext(parseConfig(engineEnv(LIMITS)));
  stubDirectPosts(ctx);
  execute = executeRoute(ctx) as unknown as Route;
  getOrder = orderRoute(ctx) as unknown as Route;
  quote = quoteRoute(ctx) as unknown as Route;
  await purgeQueues(sqs, ['OrdersQueue']);
});

const newAccount = async (): Promise<{ owner: string; key: string }> => {
  const owner = `http-${randomUUID()}`;
  const key = generateApiKey();
  await ctx.accounts.put({ apiKeyHash: hashApiKey(key), accountId: owner, label: 'itest', createdAt: new Date().toISOString() });
  return { owner, key };
};

const event = (routeKey: string, options: { key?: string; body?: object; pathParameters?: Record<string, string> }): APIGatewayProxyEventV2 =>
  ({
    routeKey,
    rawPath: routeKey.split(' ')[1],
    headers: options.key ? { 'x-api-key': options.key } : {},
    body: options.body ? JSON.stringify(options.body) : undefined,
    isBase64Encoded: false,
    pathParameters: options.pathParameters,
  }) as unknown as APIGatewayProxyEventV2;

const call = async (route: Route, e: APIGatewayProxyEventV2) => {
  const response = await route(e, {} as never);
  return { status: response.statusCode, headers: response.headers ?? {}, body: JSON.parse(response.body ?? '{}') as Record<string, unknown> };
};

const orderBody = (over: Record<string, unknown> = {}) => ({ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '0.25', ...over });

const limitsItem = async (owner: string) =>
  (await db.send(new GetCommand({ TableName: resource('LimitsTable').name, Key: { accountId: owner }, ConsistentRead: true }))).Item;

describe('POST /api/orders/execute', () => {
  it('records the order with no subscriber, enqueues it, and charges the account (not a connection)', async () => {
    const { owner, key } = await newAccount();
    const answer = await call(execute, event('POST /api/orders/execute', { key, body: orderBody({ clientOrderId: 'it-1' }) }));
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: 'pending', seq: 1, clientOrderId: 'it-1', ws: { url: 'wss://example.test/dev' } });
    const orderId = answer.body.orderId as string;

    const item = await ctx.orders.get(orderId);
    expect(item).toMatchObject({ owner, status: 'pending', seq: 1, clientOrderId: 'it-1' });
    expect(item?.subscribers).toBeUndefined();
    expect(item?.mgmtEndpoint).toBeUndefined();

    const messages = (await takeMessages(sqs, resource('OrdersQueue').url as string)).map((m) => orderMessageSchema.parse(JSON.parse(m.body)));
    expect(messages.map((m) => m.orderId)).toContain(orderId);

    const limits = await limitsItem(owner);
    expect(limits).toMatchObject({ openOrders: 1 });
    expect(typeof limits?.orderTat).toBe('number');
    expect(Object.keys(limits ?? {}).filter((name) => name.startsWith('c#'))).toEqual([]);
  });

  it('the order bucket is the WebSocket one: over the burst is 429 RATE_LIMITED with Retry-After, and nothing is recorded', async () => {
    const { owner, key } = await newAccount();
    // A clock that stands still: the bucket refills nothing between the requests, however slow the machine.
    const frozenAt = Date.now();
    const frozen = createEngineContext(parseConfig(engineEnv(LIMITS)), { now: () => frozenAt });
    stubDirectPosts(frozen);
    const executeFrozen = executeRoute(frozen) as unknown as Route;
    const answers = [];
    for (let n = 0; n < 3; n++) answers.push(await call(executeFrozen, event('POST /api/orders/execute', { key, body: orderBody({ clientOrderId: `burst-${n}` }) })));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 429]);
    const refused = answers[2] as Awaited<ReturnType<typeof call>>;
    expect(refused.body.error).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await limitsItem(owner))?.openOrders).toBe(2);
    await takeMessages(sqs, resource('OrdersQueue').url as string);
  });

  it('a revoked key is 401 and reads nothing further', async () => {
    const { key } = await newAccount();
    const record = await ctx.accounts.get(hashApiKey(key), true);
    await ctx.accounts.put({ ...(record as NonNullable<typeof record>), revokedAt: new Date().toISOString() });
    const answer = await call(execute, event('POST /api/orders/execute', { key, body: orderBody() }));
    expect(answer.status).toBe(401);
    expect(answer.body.error).toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('an order placed over HTTP, followed over WebSocket', () => {
  it('its first subscriber gives it the Management API endpoint; GET answers its current frame to its owner only', async () => {
    const { owner, key } = await newAccount();
    const placed = await call(execute, event('POST /api/orders/execute', { key, body: orderBody() }));
    const orderId = placed.body.orderId as string;
    await subscribeToOrder(ctx, { connectionId: 'conn-http-1', owner, endpoint: 'https://ws.example.test/dev', orderId });
    const item = await ctx.orders.get(orderId);
    expect(item?.mgmtEndpoint).toBe('https://ws.example.test/dev');
    expect([...(item?.subscribers ?? [])]).toEqual(['conn-http-1']);

    const mine = await call(getOrder, event('GET /api/orders/{orderId}', { key, pathParameters: { orderId } }));
    expect(mine.status).toBe(200);
    expect(mine.body.order).toEqual(item?.lastFrame);
    const other = await newAccount();
    const theirs = await call(getOrder, event('GET /api/orders/{orderId}', { key: other.key, pathParameters: { orderId } }));
    expect(theirs.status).toBe(404);
    await takeMessages(sqs, resource('OrdersQueue').url as string);
  });
});

describe('POST /api/quote', () => {
  it('is the quote frame the WebSocket route answers', async () => {
    const { key } = await newAccount();
    const answer = await call(quote, event('POST /api/quote', { key, body: orderBody({ amount: '1' }) }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ type: 'quote', route: { amountIn: '1' } });
  });
});
