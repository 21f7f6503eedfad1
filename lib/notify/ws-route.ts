import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { RequestError, isEngineError } from '../errors';
import { errorFrame, MAX_FRAME_BYTES } from './frames';
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

/**
 * middy has no WebSocket error handler (serverless-anchors.md A.2): this one turns typed errors into the protocol's
 * `error` frame on the caller's connection and hides everything else behind INTERNAL.
 */
const errorFrames = (notifier: Notifier): MiddlewareObj<APIGatewayProxyWebsocketEventV2, APIGatewayProxyResultV2> => ({
  onError: async (request) => {
    const error = request.error;
    const event = request.event;
    const frame =
      error instanceof RequestError
        ? errorFrame(error.code, error.message, error.issues)
        : isEngineError(error) && !error.retryable
          ? errorFrame(error.code, error.message)
          : errorFrame('INTERNAL', 'internal error; the request was not processed');
    if (!(error instanceof RequestError)) {
      log.error('websocket route failed', { route: event.requestContext.routeKey, error });
    }
    try {
      await notifier.postDirect(managementEndpointOf(event), event.requestContext.connectionId, frame);
    } catch (postError) {
      log.warn('could not post error frame', { error: postError });
    }
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
