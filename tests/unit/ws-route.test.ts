import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { errorFrameFor, wsMessageRoute } from '../../lib/ws/route';
import type { Notifier } from '../../lib/notify/notifier';
import { RequestError, UnavailableError } from '../../lib/errors';

/*
 * The WebSocket error middleware without a stack: a typed error becomes its frame, anything else INTERNAL; with a
 * route response the frame is the route's answer, without one (lifecycle routes) it is posted.
 */
const event = (body: unknown): APIGatewayProxyWebsocketEventV2 =>
  ({
    body,
    isBase64Encoded: false,
    requestContext: { connectionId: 'conn-1', domainName: 'example.test', stage: 'dev', routeKey: 'execute', eventType: 'MESSAGE' },
  }) as unknown as APIGatewayProxyWebsocketEventV2;

const context = {} as Context;

const recordingNotifier = () => {
  const posts: Array<{ endpoint: string; connectionId: string; frame: unknown }> = [];
  const notifier = {
    postDirect: async (endpoint: string, connectionId: string, frame: unknown) => {
      posts.push({ endpoint, connectionId, frame });
      return 'sent' as const;
    },
  } as unknown as Notifier;
  return { notifier, posts };
};

const bodyOf = (result: APIGatewayProxyResultV2): unknown => JSON.parse((result as { body: string }).body);

describe('errorFrameFor', () => {
  const raw = JSON.stringify({ action: 'execute', clientOrderId: 'bot7-1' });

  it('a RequestError keeps its code, details and retryAfterMs, and echoes action and clientOrderId', () => {
    const frame = errorFrameFor(new RequestError('RATE_LIMITED', 'slow down', [{ path: '', message: 'limit' }], { retryAfterMs: 120.2 }), raw);
    expect(frame).toEqual({ type: 'error', code: 'RATE_LIMITED', message: 'slow down', details: [{ path: '', message: 'limit' }], action: 'execute', clientOrderId: 'bot7-1', retryAfterMs: 121 });
  });

  it('an UnavailableError that may have recorded says so and names the order id', () => {
    const frame = errorFrameFor(new UnavailableError('busy', { recorded: 'unknown', orderId: '01ABC' }), raw);
    expect(frame).toMatchObject({ code: 'UNAVAILABLE', orderId: '01ABC', retryAfterMs: 1000 });
    expect(frame.details?.[0]?.message).toContain('may have been recorded as 01ABC');
  });

  it('a transient AWS error is UNAVAILABLE; anything else is INTERNAL and says nothing of it', () => {
    expect(errorFrameFor(Object.assign(new Error('x'), { name: 'ThrottlingException' }), raw).code).toBe('UNAVAILABLE');
    const frame = errorFrameFor(new TypeError('cannot read properties of undefined (secret internals)'), raw);
    expect(frame).toEqual({ type: 'error', code: 'INTERNAL', message: 'internal error; the request was not processed', action: 'execute', clientOrderId: 'bot7-1' });
  });

  it('echoes nothing of a body with a duplicate key or of a binary body', () => {
    expect(errorFrameFor(new RequestError('BAD_REQUEST', 'dup'), '{"action":"quote","action":"execute"}')).not.toHaveProperty('action');
    expect(errorFrameFor(new RequestError('BAD_REQUEST', 'binary'), Buffer.from(raw))).not.toHaveProperty('action');
  });
});

describe('wsMessageRoute', () => {
  it('with a route response: an error is the answer itself, and nothing is posted', async () => {
    const { notifier, posts } = recordingNotifier();
    const handler = wsMessageRoute(notifier, async () => {
      throw new RequestError('VALIDATION_FAILED', 'side: must be "buy" or "sell"', [{ path: 'side', message: 'must be "buy" or "sell"' }]);
    });
    const result = await handler(event('{"action":"execute","side":"hold"}'), context);
    expect(bodyOf(result)).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED', action: 'execute', details: [{ path: 'side' }] });
    expect(posts).toEqual([]);
  });

  it('with a route response: what the route returns is the answer; a route that returns nothing answers nothing', async () => {
    const { notifier } = recordingNotifier();
    expect(bodyOf(await wsMessageRoute(notifier, async () => ({ type: 'quote' }))(event('{"action":"quote"}'), context))).toEqual({ type: 'quote' });
    expect(await wsMessageRoute(notifier, async () => undefined)(event('{"action":"subscribe"}'), context)).toEqual({ statusCode: 200 });
  });

  it('without a route response: the error frame is posted to the caller, and the route answers 200 with no body', async () => {
    const { notifier, posts } = recordingNotifier();
    const handler = wsMessageRoute(
      notifier,
      async () => {
        throw new RequestError('UNKNOWN_ACTION', 'unknown action "$disconnect"');
      },
      { routeResponse: false },
    );
    expect(await handler(event('{"action":"$disconnect"}'), context)).toEqual({ statusCode: 200 });
    expect(posts).toEqual([
      { endpoint: 'https://example.test/dev', connectionId: 'conn-1', frame: expect.objectContaining({ code: 'UNKNOWN_ACTION', action: '$disconnect' }) as unknown },
    ]);
  });

  it('a bug in a route is INTERNAL to the client, and the connection is kept (the route answers, it does not throw)', async () => {
    const { notifier } = recordingNotifier();
    const handler = wsMessageRoute(notifier, async () => {
      throw new Error('boom');
    });
    const result = await handler(event('{"action":"execute"}'), context);
    expect(bodyOf(result)).toMatchObject({ code: 'INTERNAL' });
    expect((result as { statusCode: number }).statusCode).toBe(200);
  });
});
