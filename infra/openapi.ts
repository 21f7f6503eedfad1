import { z } from 'zod';
import { REQUEST_SCHEMAS } from '../lib/orders/request';
import { errorFrameSchema, orderFrameSchema, ordersFrameSchema, quoteFrameSchema } from '../lib/notify/frames';
import { executeAnswerSchema, orderAnswerSchema } from '../lib/http/api';
import { httpStatusOf } from '../lib/http/route';
import { ERROR_FRAME_CODES } from './asyncapi';

/*
 * The OpenAPI 3.1 document of the HTTP API (PROTOCOL.md v2 "HTTP API"), generated as the AsyncAPI one is: request
 * bodies from the WebSocket messages' zod schemas without `action`, answers from the schemas lib/http/api.ts answers
 * with, error bodies from the error frame's schema, statuses from lib/http/route.ts. OpenAPI 3.1 schemas are JSON
 * Schema 2020-12. `npm run contract -- --openapi` prints it; the stack serves it at <HTTP base URL>/openapi.json.
 */

type JsonSchema = Record<string, unknown>;

const jsonSchemaOf = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

/** `{"error": <the error frame without type and action>}` (lib/http/route.ts errorResponse). */
export const httpErrorBodySchema = z.strictObject({ error: errorFrameSchema.omit({ type: true, action: true }) });

const json = (schema: JsonSchema) => ({ content: { 'application/json': { schema } } });
const errorRef = { $ref: '#/components/schemas/Error' };

/** The error answers an operation can give, by status, each naming its codes. */
const errorResponses = (codes: readonly string[]): Record<string, unknown> => {
  const byStatus = new Map<number, string[]>();
  for (const code of codes) byStatus.set(httpStatusOf(code), [...(byStatus.get(httpStatusOf(code)) ?? []), code]);
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, named]) => [
        String(status),
        {
          description: named.join(', '),
          ...(status === 429 || status === 503 ? { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } } : {}),
          ...json(errorRef),
        },
      ]),
  );
};

const withoutAction = (schema: z.ZodObject) => schema.omit({ action: true } as never);

export const buildOpenApi = (version = '0.1.0'): Record<string, unknown> => {
  const common = ['UNAUTHORIZED', 'BAD_REQUEST', 'RATE_LIMITED', 'UNAVAILABLE', 'INTERNAL'];
  const routing = ERROR_FRAME_CODES.filter((code) => httpStatusOf(code) === 422);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Solana order execution engine: HTTP API',
      version,
      description:
        'For clients that do not speak WebSocket: place a market order and read it back; follow it live over the WebSocket ' +
        "API (the answer names the URL and the subscribe message). Generated from the engine's zod schemas (infra/openapi.ts).",
    },
    servers: [{ url: 'http://127.0.0.1:3000', description: '`npm start`' }, { url: 'https://{apiId}.execute-api.{region}.amazonaws.com', variables: { apiId: { default: 'apiId' }, region: { default: 'us-east-1' } } }],
    security: [{ apiKey: [] }],
    paths: {
      '/api/orders/execute': {
        post: {
          operationId: 'execute',
          summary: 'Place a market order',
          requestBody: { required: true, ...json(jsonSchemaOf(withoutAction(REQUEST_SCHEMAS.execute.omit({ mockFailures: true })), 'input')) },
          responses: {
            '202': { description: 'Placed: the pending order', ...json({ $ref: '#/components/schemas/ExecuteAnswer' }) },
            '200': { description: 'A repeated clientOrderId with the identical request: the existing order, any status', ...json({ $ref: '#/components/schemas/ExecuteAnswer' }) },
            ...errorResponses([...common, 'VALIDATION_FAILED', 'UNKNOWN_TOKEN', 'DUPLICATE_CLIENT_ORDER_ID']),
          },
        },
      },
      '/api/orders': {
        get: {
          operationId: 'listOrders',
          summary: "The account's orders, newest first: each one's latest frame, a page at a time",
          parameters: (['status', 'limit', 'cursor'] as const).map((name) => ({
            name,
            in: 'query',
            required: false,
            schema: (jsonSchemaOf(REQUEST_SCHEMAS.orders, 'input').properties as Record<string, unknown>)[name],
          })),
          responses: {
            '200': { description: 'A page; `cursor` asks for the next one (null: no more)', ...json(jsonSchemaOf(ordersFrameSchema, 'output')) },
            ...errorResponses([...common, 'VALIDATION_FAILED']),
          },
        },
      },
      '/api/orders/{orderId}': {
        delete: {
          operationId: 'cancelOrder',
          summary: 'Cancel a pending or open order',
          parameters: [{ name: 'orderId', in: 'path', required: true, schema: (jsonSchemaOf(REQUEST_SCHEMAS.subscribe, 'input').properties as Record<string, unknown>).orderId }],
          responses: {
            '200': { description: 'Cancelled: its `cancelled` frame', ...json(jsonSchemaOf(orderFrameSchema, 'output')) },
            ...errorResponses([...common, 'VALIDATION_FAILED', 'NOT_FOUND', 'NOT_CANCELLABLE']),
          },
        },
        get: {
          operationId: 'getOrder',
          summary: "An order's latest frame",
          parameters: [{ name: 'orderId', in: 'path', required: true, schema: (jsonSchemaOf(REQUEST_SCHEMAS.subscribe, 'input').properties as Record<string, unknown>).orderId }],
          responses: { '200': { description: 'The order', ...json(jsonSchemaOf(orderAnswerSchema, 'output')) }, ...errorResponses([...common, 'VALIDATION_FAILED', 'NOT_FOUND']) },
        },
      },
      '/api/quote': {
        post: {
          operationId: 'quote',
          summary: "Every venue's quote and the route an order would take now",
          requestBody: { required: true, ...json(jsonSchemaOf(withoutAction(REQUEST_SCHEMAS.quote), 'input')) },
          responses: { '200': { description: 'The quote frame', ...json(jsonSchemaOf(quoteFrameSchema, 'output')) }, ...errorResponses([...common, 'VALIDATION_FAILED', 'UNKNOWN_TOKEN', ...routing]) },
        },
      },
    },
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      headers: { RetryAfter: { description: 'Whole seconds, rounded up from retryAfterMs', schema: { type: 'integer', minimum: 1 } } },
      schemas: {
        ExecuteAnswer: jsonSchemaOf(executeAnswerSchema, 'output'),
        Error: jsonSchemaOf(httpErrorBodySchema, 'output'),
      },
    },
  };
};
