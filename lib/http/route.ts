import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { RequestError } from '../errors';
import { errorFrameFor, parseRequestText } from '../ws/route';
import type { ErrorFrame } from '../notify/frames';
import { log } from '../log';

/*
 * PROTOCOL.md v2 "HTTP API": the same requests as the WebSocket routes, answered in HTTP. Errors are the WebSocket's
 * error frames, built by the same errorFrameFor, wrapped as `{"error": {...}}` under the status below.
 */

/** The HTTP status of each error code; the order failure codes a `quote` can meet (NO_ROUTE, ...) are 422. */
const STATUS: Record<string, number> = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNKNOWN_TOKEN: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_ACTION: 404,
  DUPLICATE_CLIENT_ORDER_ID: 409,
  NOT_CANCELLABLE: 409,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};
export const httpStatusOf = (code: string): number => STATUS[code] ?? 422;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

export const jsonResponse = (statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { ...JSON_HEADERS, ...headers },
  body: JSON.stringify(body),
});

/** `{"error": {code, message, details?, retryAfterMs?, ...}}`: the error frame without its `type` and `action`. */
export const errorResponse = (frame: ErrorFrame): APIGatewayProxyStructuredResultV2 => {
  const { type: _type, action: _action, ...error } = frame;
  // RFC 9110 section 10.2.3: Retry-After in whole seconds, rounded up so a client never comes back too early.
  const retryAfter = frame.retryAfterMs !== undefined ? { 'retry-after': String(Math.max(1, Math.ceil(frame.retryAfterMs / 1000))) } : undefined;
  return jsonResponse(httpStatusOf(frame.code), { error }, retryAfter);
};

/** The request's body text: HTTP API base64-encodes bodies it takes for binary; they are decoded, then parsed as any. */
const bodyTextOf = (event: APIGatewayProxyEventV2): string => {
  const raw = event.body ?? '';
  return event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
};

/**
 * A JSON request body as the `action` message it stands for: the body is the WebSocket message without `action`
 * (PROTOCOL.md v2 "HTTP API"), parsed by the same strict rules, then given the route's action. A body that names an
 * `action` is refused as the unknown field it is here, rather than silently overridden.
 */
export const messageOfBody = (event: APIGatewayProxyEventV2, action: string): Record<string, unknown> => {
  const text = bodyTextOf(event);
  if (!text.trim()) throw new RequestError('BAD_REQUEST', 'the request needs a JSON object body', [{ path: '', message: 'empty body' }]);
  const body = parseRequestText(text);
  if ('action' in body) throw new RequestError('VALIDATION_FAILED', 'action: unknown field (the path names the action)', [{ path: 'action', message: 'unknown field' }]);
  return { action, ...body };
};

const errorResponses = (): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> => ({
  onError: (request) => {
    const event = request.event;
    // Only a body's clientOrderId is echoed; the route is the action.
    const frame = errorFrameFor(request.error, event.isBase64Encoded ? undefined : event.body);
    if (frame.code === 'INTERNAL') log.error('http route failed', { route: event.routeKey, error: request.error });
    else if (frame.code === 'UNAVAILABLE') log.warn('http route over capacity', { route: event.routeKey, error: request.error });
    request.response = errorResponse(frame);
  },
});

/** An HTTP API route: the handler's answer, or its typed error as the protocol's error body and status. */
export const httpRoute = (route: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>) =>
  middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({ timeoutEarlyInMillis: 0 })
    .use(errorResponses())
    .handler(route);
