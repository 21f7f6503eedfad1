import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { errorResponse, httpStatusOf, messageOfBody } from '../../lib/http/route';
import { errorFrame } from '../../lib/notify/frames';
import { apiKeyOfHeaders } from '../../lib/accounts/http-access';
import { RequestError } from '../../lib/errors';
import { parseReadyLine } from '../../infra/stack-process';

const eventWith = (body: string | undefined, isBase64Encoded = false): APIGatewayProxyEventV2 => ({ body, isBase64Encoded }) as APIGatewayProxyEventV2;

describe('HTTP error answers (PROTOCOL.md v2 "HTTP API")', () => {
  it('RATE_LIMITED is 429 with Retry-After in whole seconds rounded up, and the error frame as the body', () => {
    const response = errorResponse(errorFrame('RATE_LIMITED', 'over the limit', [{ path: '', message: 'limit orders' }], { action: 'execute', clientOrderId: 'c-1', retryAfterMs: 1_201 }));
    expect(response.statusCode).toBe(429);
    expect(response.headers?.['retry-after']).toBe('2');
    expect(JSON.parse(response.body as string)).toEqual({
      error: { code: 'RATE_LIMITED', message: 'over the limit', details: [{ path: '', message: 'limit orders' }], clientOrderId: 'c-1', retryAfterMs: 1_201 },
    });
  });

  it('a wait under a second is still Retry-After 1 (never 0: that would invite an immediate retry)', () => {
    expect(errorResponse(errorFrame('RATE_LIMITED', 'x', [], { retryAfterMs: 40 })).headers?.['retry-after']).toBe('1');
  });

  it('UNAVAILABLE is 503 with Retry-After; a code without a wait has no Retry-After', () => {
    const unavailable = errorResponse(errorFrame('UNAVAILABLE', 'over capacity', [], { retryAfterMs: 1_000 }));
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers?.['retry-after']).toBe('1');
    expect(errorResponse(errorFrame('NOT_FOUND', 'order x not found')).headers?.['retry-after']).toBeUndefined();
  });

  it.each([
    ['BAD_REQUEST', 400],
    ['VALIDATION_FAILED', 400],
    ['UNKNOWN_TOKEN', 400],
    ['UNAUTHORIZED', 401],
    ['NOT_FOUND', 404],
    ['DUPLICATE_CLIENT_ORDER_ID', 409],
    ['INTERNAL', 500],
    ['NO_ROUTE', 422],
    ['INSUFFICIENT_LIQUIDITY', 422],
  ])('%s is HTTP %i', (code, status) => {
    expect(httpStatusOf(code)).toBe(status);
  });
});

describe('request bodies', () => {
  it('the body is the message without action: the route names it', () => {
    expect(messageOfBody(eventWith('{"side":"buy","amount":"1"}'), 'execute')).toEqual({ action: 'execute', side: 'buy', amount: '1' });
  });

  it('a body naming an action is refused as an unknown field, never overridden', () => {
    expect(() => messageOfBody(eventWith('{"action":"quote","side":"buy"}'), 'execute')).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', issues: [{ path: 'action', message: 'unknown field' }] }),
    );
  });

  it('an empty body, a duplicate key and a non-object are BAD_REQUEST, as on the WebSocket', () => {
    for (const body of [undefined, ' ', '{"side":"buy","side":"sell"}', '[1]', 'side=buy']) {
      expect(() => messageOfBody(eventWith(body), 'execute'), String(body)).toThrow(RequestError);
      try {
        messageOfBody(eventWith(body), 'execute');
      } catch (error) {
        expect((error as RequestError).code).toBe('BAD_REQUEST');
      }
    }
  });

  it('a base64-encoded body is decoded before it is parsed', () => {
    const body = Buffer.from('{"side":"sell"}', 'utf8').toString('base64');
    expect(messageOfBody(eventWith(body, true), 'quote')).toEqual({ action: 'quote', side: 'sell' });
  });
});

describe('the x-api-key header', () => {
  it('is read whatever its case; absent or blank is no key', () => {
    expect(apiKeyOfHeaders({ 'X-Api-Key': 'sk_a' })).toEqual({ ok: true, apiKey: 'sk_a' });
    expect(apiKeyOfHeaders({})).toEqual({ ok: true, apiKey: undefined });
    expect(apiKeyOfHeaders({ 'x-api-key': ' ' })).toEqual({ ok: true, apiKey: undefined });
  });

  it('given twice (HTTP API joins repeated headers with a comma) is refused', () => {
    expect(apiKeyOfHeaders({ 'x-api-key': 'sk_a,sk_b' }).ok).toBe(false);
  });
});

describe('the ready line', () => {
  it('names the WebSocket URL with the key first, then the HTTP base URL', () => {
    expect(parseReadyLine('ready ws://127.0.0.1:3001?apiKey=sk_abc-_1 http://127.0.0.1:3000')).toEqual({
      wsUrl: 'ws://127.0.0.1:3001',
      devKey: 'sk_abc-_1',
      httpUrl: 'http://127.0.0.1:3000',
    });
  });

  it('a line without the HTTP URL is not a ready line', () => {
    expect(() => parseReadyLine('ready ws://127.0.0.1:3001?apiKey=sk_abc')).toThrow(/not a ready line/);
  });
});
