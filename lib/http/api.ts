import { z } from 'zod';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { orderFrameSchema } from '../notify/frames';
import type { EngineContext } from '../engine';
import { admitHttpRequest, ownerOfHttpRequest } from '../accounts/http-access';
import { queueForAdmission } from '../accounts/admission';
import { validateCancel, validateExecute, validateOrders, validateQuote, validateSubscribe } from '../orders/request';
import { cancelOrder } from '../orders/cancel';
import { listOrders } from '../orders/list-orders';
import { RequestError } from '../errors';
import { launchedTokensOf } from '../orders/request';
import { placeOrder, type Placement } from '../orders/place-order';
import { quoteOrder } from '../orders/quote';
import { orderWithHistory } from '../orders/subscribe';
import { httpRoute, jsonResponse, messageOfBody } from './route';

/*
 * PROTOCOL.md v2 "HTTP API": each route is the WebSocket route's use case with the same validation (lib/orders/request.ts),
 * admission (lib/accounts/admission.ts) and placement (lib/orders/place-order.ts); only the transport differs. The key
 * is checked first, so a request without one learns nothing else (401 whatever its body).
 */

/** `POST /api/orders/execute`'s answer (202 for a new order, 200 for a repeated clientOrderId). */
export const executeAnswerSchema = z.strictObject({
  orderId: z.string(),
  clientOrderId: z.string().optional(),
  status: orderFrameSchema.shape.status,
  seq: z.number().int().min(1),
  /** The frame a WebSocket `execute` would have been acknowledged with (the current one, for a repeated clientOrderId). */
  order: orderFrameSchema,
  ws: z.strictObject({
    /** The WebSocket API to follow the order on. */
    url: z.string(),
    /** The message that streams the order there. */
    subscribe: z.strictObject({ action: z.literal('subscribe'), orderId: z.string(), fromSeq: z.literal(1) }),
  }),
});
export type ExecuteAnswer = z.infer<typeof executeAnswerSchema>;

/** `GET /api/orders/{orderId}`'s answer: the order's latest frame and every frame, seq 1..n. */
export const orderAnswerSchema = z.strictObject({ order: orderFrameSchema, history: z.array(orderFrameSchema) });

/** `POST /api/orders/execute` answers the order and how to follow it over WebSocket from its first frame. */
export const executeAnswer = (ctx: EngineContext, placed: Placement): ExecuteAnswer => ({
  orderId: placed.orderId,
  ...(placed.frame.clientOrderId ? { clientOrderId: placed.frame.clientOrderId } : {}),
  status: placed.frame.status,
  seq: placed.frame.seq,
  order: placed.frame,
  ws: {
    url: ctx.config.WS_PUBLIC_URL,
    // `fromSeq` (replay from seq 1) is not in the protocol yet; `subscribe` replays the current frame and what follows.
    // From seq 1: a client that subscribes after placing over HTTP gets every frame, the ones it missed first.
    subscribe: { action: 'subscribe' as const, orderId: placed.orderId, fromSeq: 1 as const },
  },
});

/** `POST /api/orders/execute`: 202 with a new order, 200 with the existing one for a repeated clientOrderId. */
export const executeRoute = (ctx: EngineContext) =>
  httpRoute(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const owner = await ownerOfHttpRequest(ctx, event.headers);
    // In a turn of the owner's at the store (lib/accounts/store-turns.ts), as on the WebSocket route.
    const placed = await ctx.storeTurns.run(owner, async () => {
      const { request: order, admission } = await admitHttpRequest(ctx, owner, 'order', async () => {
        const message = messageOfBody(event, 'execute');
        // A launched token (a mint, or a symbol the mock chain announced) is looked up before the order is validated.
        return validateExecute(message, { testHooks: ctx.config.MOCK_TEST_HOOKS, launched: await launchedTokensOf(message, ctx.launches) });
      });
      return placeOrder(ctx, { reply: undefined, owner, order, openOrderReserved: admission.openOrderReserved });
    }, { beforeWaiting: () => queueForAdmission(ctx, { owner, connectionId: undefined, charge: 'order' }) });
    return jsonResponse(placed.created ? 202 : 200, executeAnswer(ctx, placed));
  });

/** `POST /api/quote`: the `quote` frame. */
export const quoteRoute = (ctx: EngineContext) =>
  httpRoute(async (event) => {
    const owner = await ownerOfHttpRequest(ctx, event.headers);
    const { request: order } = await ctx.storeTurns.run(owner, () =>
      admitHttpRequest(ctx, owner, 'quote', async () => {
        const message = messageOfBody(event, 'quote');
        return validateQuote(message, { launched: await launchedTokensOf(message, ctx.launches) });
      }),
      { beforeWaiting: () => queueForAdmission(ctx, { owner, connectionId: undefined, charge: 'quote' }) },
    );
    return jsonResponse(200, quoteOrder(ctx, order));
  });

/**
 * `GET /api/orders/{orderId}`: `{order: <latest frame>}`; another account's order or an unknown id is 404 NOT_FOUND.
 * Reads are not charged to a bucket (admission counts orders, quotes and WebSocket messages).
 */
export const orderRoute = (ctx: EngineContext) =>
  httpRoute(async (event) => {
    const owner = await ownerOfHttpRequest(ctx, event.headers);
    const { orderId } = validateSubscribe({ action: 'subscribe', orderId: event.pathParameters?.orderId ?? '' });
    return jsonResponse(200, (await orderWithHistory(ctx, { owner, orderId })) satisfies z.infer<typeof orderAnswerSchema>);
  });

/** `DELETE /api/orders/{orderId}`: 200 with the `cancelled` frame; 409 NOT_CANCELLABLE; another account's or unknown: 404. */
export const cancelRoute = (ctx: EngineContext) =>
  httpRoute(async (event) => {
    const owner = await ownerOfHttpRequest(ctx, event.headers);
    const request = validateCancel({ action: 'cancel', orderId: event.pathParameters?.orderId ?? '' });
    return jsonResponse(200, (await cancelOrder(ctx, { owner, request })).frame);
  });

/** An HTTP answer has no WebSocket frame's 32 KB bound; this one keeps a page of 100 large frames whole. */
const HTTP_ORDERS_MAX_BYTES = 1024 * 1024;

/**
 * The query of `GET /api/orders` as the `orders` message: `limit` is a number when it is written as one (anything
 * else is refused by the schema as it stands), unknown parameters are refused as unknown fields. HTTP API joins a
 * parameter given twice with a comma, which no value of these holds: refused.
 */
export const ordersMessageOfQuery = (query: Record<string, string | undefined> | undefined): Record<string, unknown> => {
  const message: Record<string, unknown> = { action: 'orders' };
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    if (name === 'action') throw new RequestError('VALIDATION_FAILED', 'action: unknown field (the path names the action)', [{ path: 'action', message: 'unknown field' }]);
    if (value.includes(',')) throw new RequestError('BAD_REQUEST', `${name}: given more than once`, [{ path: name, message: 'given more than once' }]);
    message[name] = name === 'limit' && /^\d{1,6}$/.test(value) ? Number(value) : value;
  }
  return message;
};

/** `GET /api/orders?status=&limit=&cursor=`: 200 with the `orders` frame, as the WebSocket `orders` action answers. */
export const ordersRoute = (ctx: EngineContext) =>
  httpRoute(async (event) => {
    const owner = await ownerOfHttpRequest(ctx, event.headers);
    const request = validateOrders(ordersMessageOfQuery(event.queryStringParameters));
    return jsonResponse(200, await listOrders(ctx, { owner, request, maxBytes: HTTP_ORDERS_MAX_BYTES }));
  });
