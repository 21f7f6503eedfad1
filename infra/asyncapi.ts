import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { REQUEST_SCHEMAS, KNOWN_ACTIONS } from '../lib/orders/request';
import { launchesFrameSchema } from '../lib/notify/frames';
import { errorFrameSchema, orderFrameSchema, ordersFrameSchema, pongFrameSchema, quoteFrameSchema } from '../lib/notify/frames';
import { CHAIN_ERROR_CODES, REQUEST_ERROR_CODES, VENUE_ERROR_CODES } from '../lib/errors';

/*
 * The AsyncAPI 3 document of the WebSocket API (PROTOCOL.md), generated from the zod schemas the engine validates
 * requests with (lib/orders/request.ts) and builds and parses frames with (lib/notify/frames.ts), and from the error
 * code lists of lib/errors.ts: it cannot say something the code does not do. One `send` operation per route
 * (API Gateway routes on `$request.body.action`), each with its reply; one `receive` operation for the order frames
 * the engine pushes. `npm run contract` prints it; the stack serves it at <HTTP base URL>/asyncapi.json (and the HTTP
 * API's OpenAPI document, infra/openapi.ts, at /openapi.json).
 */

type JsonSchema = Record<string, unknown>;

/** JSON Schema draft-07 (AsyncAPI's default schema format is a superset of it), without the `$schema` of each. */
const jsonSchemaOf = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];

/** Codes an `error` frame answering a request can carry: request refusals, capacity, bugs, and a quote's routing failure. */
export const ERROR_FRAME_CODES = unique([...REQUEST_ERROR_CODES, 'UNAVAILABLE', 'INTERNAL', ...VENUE_ERROR_CODES]);
/** Codes a `failed` order frame's `meta.error.code` can carry (lib/orders/execute-order.ts, dead-letter.ts, place-order.ts). */
export const ORDER_FAILURE_CODES = unique([...VENUE_ERROR_CODES, ...CHAIN_ERROR_CODES, 'RETRIES_EXHAUSTED', 'DEAD_LETTERED', 'UNAVAILABLE', 'INTERNAL']);

const SUMMARY: Record<(typeof KNOWN_ACTIONS)[number], string> = {
  execute: 'Place a market order; answered at once with its `pending` frame (it carries the orderId), then its frames are pushed.',
  quote: "Price an order without executing it; answered with one `quote` frame: every venue's quote and the chosen route.",
  subscribe:
    'Follow an existing order of this account (after a reconnect): its current frame, or with `fromSeq` every frame from that seq on, then every later one.',
  ping: 'Keepalive (API Gateway closes a connection idle for 10 min): answered with a `pong` frame carrying the engine time.',
  launches:
    "The mock chain's pool launches, for snipers: every announced launch whose pool is scheduled or was created in the last 30 minutes (symbol, mint, decimals, dex, quoteToken, openTime, poolId: null until the pool exists).",
  mockLaunch:
    'Test hook (refused with UNKNOWN_ACTION unless the engine runs with MOCK_TEST_HOOKS): a launch now, its pool created at once and opening after openInSeconds; answered with a `launches` frame of that one launch.',
  cancel:
    'Cancel a `pending` or `open` order of this account, by orderId or clientOrderId: answered with its `cancelled` frame (a connection that follows the order receives it once, in seq order); an order executing or terminal is NOT_CANCELLABLE with its status.',
  orders:
    "List this account's orders, newest first (`status` open, closed or all; `limit` 1-100, default 50): answered with an `orders` frame of each order's latest frame and the next page's `cursor` (null: no more).",
};

const REPLY: Record<(typeof KNOWN_ACTIONS)[number], string> = {
  launches: 'launchesFrame',
  mockLaunch: 'launchesFrame',
  execute: 'orderFrame',
  quote: 'quoteFrame',
  subscribe: 'orderFrame',
  ping: 'pongFrame',
  cancel: 'orderFrame',
  orders: 'ordersFrame',
};

export const buildAsyncApi = (version = '0.1.0'): Record<string, unknown> => {
  // Test hooks are refused unless the engine runs with MOCK_TEST_HOOKS: not part of the public contract.
  const requests = {
    execute: REQUEST_SCHEMAS.execute.omit({ mockFailures: true }),
    quote: REQUEST_SCHEMAS.quote,
    subscribe: REQUEST_SCHEMAS.subscribe,
    ping: REQUEST_SCHEMAS.ping,
    launches: REQUEST_SCHEMAS.launches,
    mockLaunch: REQUEST_SCHEMAS.mockLaunch,
    cancel: REQUEST_SCHEMAS.cancel,
    orders: REQUEST_SCHEMAS.orders,
  };
  const errorPayload = jsonSchemaOf(errorFrameSchema, 'output');
  const errorProperties = errorPayload.properties as Record<string, JsonSchema>;
  errorProperties.code = { ...errorProperties.code, enum: ERROR_FRAME_CODES };
  const orderPayload = jsonSchemaOf(orderFrameSchema, 'output');
  const channel = { $ref: '#/channels/engine' };
  const message = (name: string) => ({ $ref: `#/channels/engine/messages/${name}` });

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Solana order execution engine: WebSocket API',
      version,
      description:
        'Market orders routed across Raydium and Meteora, with their status pushed as they change. Generated from the ' +
        "engine's zod schemas (infra/asyncapi.ts); the prose contract is PROTOCOL.md. Error frames answer the request " +
        'whose `action` and `clientOrderId` they echo.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: '127.0.0.1:3001',
        protocol: 'ws',
        description: '`npm start` (the ready line prints the URL with a development key).',
        security: [{ $ref: '#/components/securitySchemes/apiKeyHeader' }, { $ref: '#/components/securitySchemes/apiKeyQuery' }],
      },
      aws: {
        host: '{apiId}.execute-api.{region}.amazonaws.com',
        pathname: '/{stage}',
        protocol: 'wss',
        description: 'API Gateway WebSocket API: routes on `$request.body.action`; idle timeout 10 min, connection limit 2 h.',
        variables: { apiId: { description: 'the WebSocket API id' }, region: { default: 'us-east-1' }, stage: { default: 'dev' } },
        security: [{ $ref: '#/components/securitySchemes/apiKeyHeader' }, { $ref: '#/components/securitySchemes/apiKeyQuery' }],
      },
    },
    channels: {
      engine: {
        address: '/',
        title: 'The engine connection',
        description: 'One connection carries many orders. A missing or unknown key is refused at the upgrade with HTTP 401.',
        messages: {
          ...Object.fromEntries(
            KNOWN_ACTIONS.map((action) => [action, { name: action, title: `${action} request`, summary: SUMMARY[action], payload: jsonSchemaOf(requests[action], 'input') }]),
          ),
          orderFrame: {
            name: 'order',
            title: 'Order frame',
            summary: 'A status of one order; `seq` increases by one per status change (drop duplicates, detect gaps).',
            description:
              'Statuses pending -> routing -> building -> submitted -> confirmed | failed (a transient failure goes back to pending ' +
              `with attempt + 1). A failed frame's meta.error.code is one of: ${ORDER_FAILURE_CODES.join(', ')}.`,
            payload: orderPayload,
            'x-order-failure-codes': ORDER_FAILURE_CODES,
          },
          quoteFrame: { name: 'quote', title: 'Quote frame', payload: jsonSchemaOf(quoteFrameSchema, 'output') },
          pongFrame: { name: 'pong', title: 'Pong frame', payload: jsonSchemaOf(pongFrameSchema, 'output') },
          launchesFrame: {
            name: 'launches',
            title: 'Launches frame',
            summary: "The mock chain's announced pool launches (or, answering mockLaunch, the one it made).",
            payload: jsonSchemaOf(launchesFrameSchema, 'output'),
          },
          ordersFrame: {
            name: 'orders',
            title: 'Orders frame',
            summary: "A page of the account's orders (each one's latest frame), newest first; `cursor` asks for the next page, null when there is none.",
            payload: jsonSchemaOf(ordersFrameSchema, 'output'),
          },
          errorFrame: { name: 'error', title: 'Error frame', summary: 'A refused request; nothing was done. RATE_LIMITED and UNAVAILABLE carry retryAfterMs.', payload: errorPayload },
        },
      },
    },
    operations: {
      ...Object.fromEntries(
        KNOWN_ACTIONS.map((action) => [
          action,
          {
            action: 'send',
            channel,
            summary: SUMMARY[action],
            messages: [message(action)],
            reply: { channel, messages: [message(REPLY[action]), message('errorFrame')] },
          },
        ]),
      ),
      orderUpdates: {
        action: 'receive',
        channel,
        summary: "The frames of the orders this connection placed or subscribed to, pushed as their status changes.",
        messages: [message('orderFrame')],
      },
    },
    components: {
      securitySchemes: {
        apiKeyHeader: { type: 'httpApiKey', name: 'x-api-key', in: 'header', description: 'The API key, on the upgrade request.' },
        apiKeyQuery: { type: 'httpApiKey', name: 'apiKey', in: 'query', description: 'For browsers, which cannot set headers on a WebSocket.' },
      },
    },
  };
};

// `npm run contract [-- --openapi] [file]`: the AsyncAPI document (or the HTTP API's OpenAPI one), to stdout or a file.
if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const openapi = args.includes('--openapi');
  const file = args.find((arg) => arg !== '--openapi');
  const doc = openapi ? (await import('./openapi')).buildOpenApi() : buildAsyncApi();
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  if (file) writeFileSync(file, text);
  else process.stdout.write(text);
}
