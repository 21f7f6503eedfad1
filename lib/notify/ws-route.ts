import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { RequestError, UnavailableError, isEngineError } from '../errors';
import { echoOf, errorFrame, MAX_FRAME_BYTES, type ErrorFrame } from './frames';
import { isTransient, retryTransient } from '../aws/transient';
import type { Notifier } from './notifier';
import { log } from '../log';

/** One client message on a WebSocket route, parsed and bounded. */
export interface WsMessage {
  connectionId: string;
  /** Where frames for this connection are posted (the Management API of this stage). */
  endpoint: string;
  body: unknown;
}

const OK: APIGatewayProxyResultV2 = { statusCode: 200 };

export const managementEndpointOf = (event: APIGatewayProxyWebsocketEventV2): string =>
  `https://${event.requestContext.domainName}/${event.requestContext.stage}`;

/** Bad input is answered, never thrown at API Gateway: the frame names the code and path, the socket stays open. */
export const parseWsMessage = (event: APIGatewayProxyWebsocketEventV2): WsMessage => {
  const raw = event.body ?? '';
  const message = { connectionId: event.requestContext.connectionId, endpoint: managementEndpointOf(event), body: undefined as unknown };
  if (Buffer.byteLength(raw, 'utf8') > MAX_FRAME_BYTES) {
    throw new RequestError('BAD_REQUEST', `message exceeds ${MAX_FRAME_BYTES} bytes`, [{ path: '', message: 'too large' }]);
  }
  if (event.isBase64Encoded) {
    throw new RequestError('BAD_REQUEST', 'binary frames are not supported; send JSON text', [{ path: '', message: 'binary frame' }]);
  }
  try {
    message.body = JSON.parse(raw);
  } catch {
    throw new RequestError('BAD_REQUEST', 'message is not valid JSON', [{ path: '', message: 'invalid JSON' }]);
  }
  if (typeof message.body !== 'object' || message.body === null || Array.isArray(message.body)) {
    throw new RequestError('BAD_REQUEST', 'message must be a JSON object', [{ path: '', message: 'not an object' }]);
  }
  return message;
};

/** Capacity trouble that escaped a route: nothing was stored, so the client may simply try again. */
const DEFAULT_RETRY_AFTER_MS = 1_000;
/** How long the route keeps trying to deliver its error frame when the Management API is slow. */
const ERROR_POST_BUDGET_MS = 5_000;

/** The `error` frame for what a route threw; bugs hide behind INTERNAL, capacity trouble is UNAVAILABLE. */
export const errorFrameFor = (error: unknown, rawBody: string | undefined): ErrorFrame => {
  const echo = echoOf(rawBody);
  if (error instanceof RequestError) return errorFrame(error.code, error.message, error.issues, { ...echo, retryAfterMs: error.retryAfterMs });
  if (error instanceof UnavailableError) {
    const details =
      error.recorded === 'unknown'
        ? [{ path: '', message: `the order may have been recorded${error.orderId ? ` as ${error.orderId}` : ''}; a retry with the same clientOrderId is safe` }]
        : [{ path: '', message: 'nothing was recorded; retry after retryAfterMs' }];
    return errorFrame('UNAVAILABLE', error.message, details, { ...echo, retryAfterMs: error.retryAfterMs, orderId: error.recorded === 'unknown' ? error.orderId : undefined });
  }
  if (isEngineError(error) && !error.retryable) return errorFrame(error.code, error.message, undefined, echo);
  if ((isEngineError(error) && error.retryable) || isTransient(error)) {
    return errorFrame('UNAVAILABLE', 'the engine is over capacity; nothing was recorded, retry after retryAfterMs', undefined, {
      ...echo,
      retryAfterMs: DEFAULT_RETRY_AFTER_MS,
    });
  }
  return errorFrame('INTERNAL', 'internal error; the request was not processed', undefined, echo);
};

/**
 * middy has no WebSocket error handler (serverless-anchors.md A.2): this one turns typed errors into the protocol's
 * `error` frame on the caller's connection, echoing the request's `action` and `clientOrderId`.
 */
const errorFrames = (notifier: Notifier): MiddlewareObj<APIGatewayProxyWebsocketEventV2, APIGatewayProxyResultV2> => ({
  onError: async (request) => {
    const error = request.error;
    const event = request.event;
    const frame = errorFrameFor(error, event.body);
    if (frame.code === 'INTERNAL') log.error('websocket route failed', { route: event.requestContext.routeKey, error });
    else if (frame.code === 'UNAVAILABLE') log.warn('websocket route over capacity', { route: event.requestContext.routeKey, error });
    const posted = await retryTransient(
      () => notifier.postDirect(managementEndpointOf(event), event.requestContext.connectionId, frame),
      { deadlineMs: Date.now() + ERROR_POST_BUDGET_MS },
    ).catch((postError: unknown) => ({ ok: false as const, error: postError }));
    if (!posted.ok) log.warn('could not post error frame', { error: posted.error });
    request.response = OK;
  },
});

/*
 * No early timeout: answering INTERNAL while the route still runs would tell the client "not processed" and then
 * deliver its `pending` frame anyway. The route finishes or the platform stops it (API Gateway waits at most 29 s).
 */
export const wsMessageRoute = (notifier: Notifier, route: (message: WsMessage) => Promise<void>) =>
  middy<APIGatewayProxyWebsocketEventV2, APIGatewayProxyResultV2>({ timeoutEarlyInMillis: 0 })
    .use(errorFrames(notifier))
    .handler(async (event) => {
      await route(parseWsMessage(event));
      return OK;
    });
