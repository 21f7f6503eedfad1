import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { RequestError, UnavailableError, isEngineError } from '../errors';
import { errorFrame, MAX_FRAME_BYTES, type ErrorFrame, type ErrorFrameExtras } from '../notify/frames';
import { parseStrictJson, type StrictJsonProblem } from './strict-json';
import { isTransient, retryTransient } from '../aws/transient';
import type { Notifier } from '../notify/notifier';
import { log } from '../log';

const ECHOABLE = /^[\x20-\x7e]{1,64}$/;

/**
 * What an error frame echoes of the request it answers: `action` and `clientOrderId` when they are short printable
 * strings (a client correlates by them; anything else is not worth reflecting back).
 */
export const echoOf = (rawBody: unknown): Pick<ErrorFrameExtras, 'action' | 'clientOrderId'> => {
  // Only text frames are echoed (a binary frame is refused as such).
  if (typeof rawBody !== 'string' || !rawBody || rawBody.length > MAX_FRAME_BYTES) return {};
  // A message with a key twice is not echoed: which `action` or `clientOrderId` it meant is the ambiguity refused.
  const parsed = parseStrictJson(rawBody);
  if (!parsed.ok && parsed.problem.kind !== 'inexact-number') return {};
  let body: unknown;
  try {
    body = parsed.ok ? parsed.value : JSON.parse(rawBody);
  } catch {
    return {};
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  const { action, clientOrderId } = body as { action?: unknown; clientOrderId?: unknown };
  return {
    ...(typeof action === 'string' && ECHOABLE.test(action) ? { action } : {}),
    ...(typeof clientOrderId === 'string' && ECHOABLE.test(clientOrderId) ? { clientOrderId } : {}),
  };
};


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

/** Deeper than any request of the protocol needs; bounds the parser's work on hostile input. */
const MAX_JSON_DEPTH = 16;

/*
 * JSON that two parsers could read differently is refused rather than guessed at: a proxy or an audit log that reads
 * the first of two `side` keys sees another order than we would (JSON.parse keeps the last), and a number with more
 * digits than a double holds is executed as another amount than the one typed (RFC 8259 section 6 leaves both to the
 * implementation).
 */
const requestErrorFor = (problem: StrictJsonProblem): RequestError => {
  switch (problem.kind) {
    case 'syntax':
      return new RequestError('BAD_REQUEST', 'message is not valid JSON', [{ path: '', message: `invalid JSON: ${problem.message}` }]);
    case 'duplicate-key':
      return new RequestError('BAD_REQUEST', `${problem.path}: duplicate key; each key may appear once`, [{ path: problem.path, message: 'duplicate key' }]);
    case 'too-deep':
      return new RequestError('BAD_REQUEST', `message nests deeper than ${MAX_JSON_DEPTH} levels`, [{ path: problem.path, message: 'too deep' }]);
    case 'inexact-number': {
      const shown = problem.literal.length > 40 ? `${problem.literal.slice(0, 40)}…` : problem.literal;
      const message = `the number ${shown} has more digits than a JSON number carries exactly; send it as a decimal string, e.g. "${shown}"`;
      return new RequestError('VALIDATION_FAILED', `${problem.path}: ${message}`, [{ path: problem.path, message }]);
    }
  }
};

/**
 * A request's JSON text as one object, by the same rules on every route, WebSocket or HTTP: at most MAX_FRAME_BYTES,
 * strict JSON (no duplicate key, no number a double cannot hold as written), an object. Throws the RequestError to
 * answer with.
 */
export const parseRequestText = (raw: string): Record<string, unknown> => {
  if (Buffer.byteLength(raw, 'utf8') > MAX_FRAME_BYTES) {
    throw new RequestError('BAD_REQUEST', `message exceeds ${MAX_FRAME_BYTES} bytes`, [{ path: '', message: 'too large' }]);
  }
  const parsed = parseStrictJson(raw, { maxDepth: MAX_JSON_DEPTH });
  if (!parsed.ok) throw requestErrorFor(parsed.problem);
  const body = parsed.value;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError('BAD_REQUEST', 'message must be a JSON object', [{ path: '', message: 'not an object' }]);
  }
  return body as Record<string, unknown>;
};

/** Bad input is answered, never thrown at API Gateway: the frame names the code and path, the socket stays open. */
export const parseWsMessage = (event: APIGatewayProxyWebsocketEventV2): WsMessage => {
  /*
   * API Gateway marks a binary frame isBase64Encoded; serverless-offline hands the route the frame's bytes as a
   * Buffer instead of a string. Either way it is refused before anything reads it as JSON.
   */
  const raw: unknown = event.body ?? '';
  if (event.isBase64Encoded || typeof raw !== 'string') {
    throw new RequestError('BAD_REQUEST', 'binary frames are not supported; send JSON text', [{ path: '', message: 'binary frame' }]);
  }
  return { connectionId: event.requestContext.connectionId, endpoint: managementEndpointOf(event), body: parseRequestText(raw) };
};

/** Capacity trouble that escaped a route: nothing was stored, so the client may simply try again. */
const DEFAULT_RETRY_AFTER_MS = 1_000;
/** How long the route keeps trying to deliver its error frame when the Management API is slow. */
const ERROR_POST_BUDGET_MS = 5_000;

/** The `error` frame for what a route threw; bugs hide behind INTERNAL, capacity trouble is UNAVAILABLE. */
export const errorFrameFor = (error: unknown, rawBody: unknown): ErrorFrame => {
  const echo = echoOf(rawBody);
  if (error instanceof RequestError) return errorFrame(error.code, error.message, error.issues, { ...echo, retryAfterMs: error.retryAfterMs, orderId: error.orderId });
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

export interface WsRouteOptions {
  /**
   * The route has a route response (serverless.yml `routeResponseSelectionExpression: $default`): what the handler
   * returns as `body` is sent to the caller by API Gateway itself. `$connect` and `$disconnect` cannot have one.
   */
  routeResponse: boolean;
}

/*
 * An answer that goes back as the route response costs no Management API call: under a flood of refused messages
 * that call was most of the work per message (measured: 200 refused messages/s kept serverless-offline's
 * Management API so busy that the error posts themselves timed out), and on AWS it is one request less per answer.
 */
const reply = (frame: unknown): APIGatewayProxyResultV2 => ({ statusCode: 200, body: JSON.stringify(frame) });

/**
 * middy has no WebSocket error handler (serverless-anchors.md A.2): this one turns typed errors into the protocol's
 * `error` frame on the caller's connection, echoing the request's `action` and `clientOrderId`.
 */
const errorFrames = (notifier: Notifier, options: WsRouteOptions): MiddlewareObj<APIGatewayProxyWebsocketEventV2, APIGatewayProxyResultV2> => ({
  onError: async (request) => {
    const error = request.error;
    const event = request.event;
    const frame = errorFrameFor(error, event.body);
    if (frame.code === 'INTERNAL') log.error('websocket route failed', { route: event.requestContext.routeKey, error });
    else if (frame.code === 'UNAVAILABLE') log.warn('websocket route over capacity', { route: event.requestContext.routeKey, error });
    if (options.routeResponse) {
      request.response = reply(frame);
      return;
    }
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
 * A route may return a frame: with a route response it is the answer (a quote); frames that must stay ordered with
 * an order's later frames (its `pending`, a subscribe's replay) are posted by the route before it returns instead.
 */
export const wsMessageRoute = (
  notifier: Notifier,
  route: (message: WsMessage) => Promise<unknown>,
  options: WsRouteOptions = { routeResponse: true },
) =>
  middy<APIGatewayProxyWebsocketEventV2, APIGatewayProxyResultV2>({ timeoutEarlyInMillis: 0 })
    .use(errorFrames(notifier, options))
    .handler(async (event) => {
      const frame = await route(parseWsMessage(event));
      if (frame === undefined) return OK;
      if (options.routeResponse) return reply(frame);
      await notifier.postDirect(managementEndpointOf(event), event.requestContext.connectionId, frame);
      return OK;
    });
