import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { parseConfig } from '../../lib/config';
import { createEngineContext, type EngineContext } from '../../lib/engine';
import type { AwsClients } from '../../lib/aws/clients';
import { hashApiKey } from '../../lib/accounts/api-key';
import { openConnection, ownerOf } from '../../lib/accounts/connections';
import { orderFrame } from '../../lib/notify/frames';

/*
 * The edges without the JVM: the engine's adapters get fake AWS clients (lib/engine.ts injects them), which answer
 * each command from a table of handlers and record every call. An unexpected command fails the test.
 */
type Call = { service: string; command: string; input: Record<string, unknown> };
type Handler = (input: Record<string, unknown>) => unknown;

const fakeAws = (handlers: Record<string, Handler>) => {
  const calls: Call[] = [];
  const client = (service: string) => ({
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      calls.push({ service, command: name, input: command.input });
      const handler = handlers[`${service}:${name}`];
      if (!handler) throw new Error(`unexpected ${service}:${name}`);
      return handler(command.input);
    },
  });
  const aws = { dynamo: () => client('dynamodb'), sqs: () => client('sqs'), managementApi: () => client('apigw') } as unknown as AwsClients;
  return { aws, calls, of: (key: string) => calls.filter((call) => `${call.service}:${call.command}` === key) };
};

const config = parseConfig({
  ACCOUNTS_TABLE: 'accounts',
  ORDERS_TABLE: 'orders',
  CONNECTIONS_TABLE: 'connections',
  LEDGER_TABLE: 'ledger',
  LIMITS_TABLE: 'limits',
  ORDERS_QUEUE_NAME: 'orders-queue',
  SNIPES_QUEUE_NAME: 'snipes-queue',
  STATUS_QUEUE_NAME: 'status.fifo',
  WS_MGMT_ENDPOINT: 'http://127.0.0.1:1',
  LOG_LEVEL: 'silent',
});
const engineWith = (handlers: Record<string, Handler>): { ctx: EngineContext } & ReturnType<typeof fakeAws> => {
  const fake = fakeAws(handlers);
  return { ctx: createEngineContext(config, { aws: fake.aws }), ...fake };
};

const gone = (): never => {
  throw Object.assign(new Error('410'), { name: 'UnknownError', $metadata: { httpStatusCode: 410 } });
};

describe("the notifier's 410 path", () => {
  it('a gone recipient is forgotten (its row and its subscription), the others still get the frame, and nothing is retried', async () => {
    const { ctx, calls, of } = engineWith({
      'apigw:PostToConnection': (input) => (input.ConnectionId === 'conn-gone' ? gone() : {}),
      'dynamodb:Delete': () => ({ Attributes: { connectionId: 'conn-gone', owner: 'acct-1' } }),
      'dynamodb:Update': () => ({}),
    });
    const frame = orderFrame({ orderId: '01JD0000000000000000000000', status: 'routing', seq: 2, attempt: 1, atMs: 1, meta: {} });
    await ctx.notifier.deliver({ frame, recipients: ['conn-live', 'conn-gone'], mgmtEndpoint: 'ignored' });

    expect(of('apigw:PostToConnection').map((call) => call.input.ConnectionId).sort()).toEqual(['conn-gone', 'conn-live']);
    expect(of('dynamodb:Delete')).toEqual([{ service: 'dynamodb', command: 'Delete', input: expect.objectContaining({ TableName: 'connections', Key: { connectionId: 'conn-gone' } }) }]);
    const unsubscribed = of('dynamodb:Update');
    expect(unsubscribed).toHaveLength(1);
    expect(unsubscribed[0]?.input).toMatchObject({ TableName: 'orders', Key: { orderId: frame.orderId }, UpdateExpression: expect.stringContaining('DELETE subscribers') });
    expect(calls).toHaveLength(4);
  });
});

describe('connection auth ($connect and the owner of a message)', () => {
  const connectEvent = (parts: { headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]>; query?: Record<string, string>; multiQuery?: Record<string, string[]> }) =>
    ({
      requestContext: { connectionId: 'conn-1', eventType: 'CONNECT', routeKey: '$connect' },
      headers: parts.headers,
      multiValueHeaders: parts.multiValueHeaders,
      queryStringParameters: parts.query,
      multiValueQueryStringParameters: parts.multiQuery,
    }) as unknown as APIGatewayProxyWebsocketEventV2;
  const account = { accountId: 'acct-1', apiKeyHash: hashApiKey('sk_header_key'), label: 'test', createdAt: '2026-12-02T00:00:00.000Z' };

  it('no key, or an unknown one: 401 (unauthorized) and nothing written', async () => {
    const { ctx, calls, of } = engineWith({ 'dynamodb:Get': () => ({}) });
    expect(await openConnection(ctx, connectEvent({}))).toEqual({ outcome: 'unauthorized' });
    expect(calls).toHaveLength(0);
    expect(await openConnection(ctx, connectEvent({ query: { apiKey: 'sk_unknown' } }))).toEqual({ outcome: 'unauthorized' });
    expect(of('dynamodb:Get').map((call) => call.input.Key)).toEqual([{ apiKeyHash: hashApiKey('sk_unknown') }]);
    expect(calls).toHaveLength(1);
  });

  it('the header wins over the query parameter; a key given twice in one place is 400 before any lookup', async () => {
    const { ctx, of } = engineWith({
      'dynamodb:Get': (input) => ((input.Key as { apiKeyHash: string }).apiKeyHash === account.apiKeyHash ? { Item: account } : {}),
      'dynamodb:Update': () => ({ Attributes: {} }),
      'dynamodb:Put': () => ({}),
    });
    const opened = await openConnection(ctx, connectEvent({ headers: { 'X-Api-Key': 'sk_header_key' }, query: { apiKey: 'sk_query_key' } }));
    expect(opened).toEqual({ outcome: 'opened', owner: 'acct-1' });
    expect(of('dynamodb:Get').map((call) => call.input.Key)).toEqual([{ apiKeyHash: account.apiKeyHash }]);
    expect(of('dynamodb:Put')[0]?.input).toMatchObject({ TableName: 'connections', Item: { connectionId: 'conn-1', owner: 'acct-1' } });

    const twice = await openConnection(ctx, connectEvent({ multiValueHeaders: { 'x-api-key': ['sk_header_key', 'sk_other'] } }));
    expect(twice).toMatchObject({ outcome: 'bad-request', reason: expect.stringContaining('more than once') });
    const twiceInQuery = await openConnection(ctx, connectEvent({ multiQuery: { apiKey: ['a', 'b'] } }));
    expect(twiceInQuery).toMatchObject({ outcome: 'bad-request' });
    expect(of('dynamodb:Get')).toHaveLength(1);
  });

  it("a message's owner is looked up once per connection, then served from the warm instance's cache; no row is FORBIDDEN", async () => {
    const { ctx, of } = engineWith({
      'dynamodb:Get': (input) =>
        (input.Key as { connectionId: string }).connectionId === 'conn-known' ? { Item: { connectionId: 'conn-known', owner: 'acct-7', connectedAtMs: 1, expiresAt: 4_102_444_800 } } : {},
    });
    expect(await ownerOf(ctx, 'conn-known')).toBe('acct-7');
    expect(await ownerOf(ctx, 'conn-known')).toBe('acct-7');
    expect(of('dynamodb:Get')).toHaveLength(1);
    await expect(ownerOf(ctx, 'conn-unknown')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
