import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { errorFrame, MAX_ERROR_DETAILS } from '../../lib/notify/frames';
import { parseWsMessage } from '../../lib/ws/route';
import { sameOrderRequest } from '../../lib/orders/place-order';
import { apiKeyOf } from '../../lib/accounts/connections';
import type { StoredOrderRequest } from '../../lib/aws/orders-table';
import { RequestError } from '../../lib/errors';

const messageEvent = (body: unknown, isBase64Encoded = false): APIGatewayProxyWebsocketEventV2 =>
  ({
    body,
    isBase64Encoded,
    requestContext: { connectionId: 'c1', domainName: 'example.test', stage: 'dev', routeKey: 'quote', eventType: 'MESSAGE' },
  }) as unknown as APIGatewayProxyWebsocketEventV2;

const thrown = (f: () => unknown): RequestError => {
  try {
    f();
  } catch (error) {
    if (error instanceof RequestError) return error;
    throw error;
  }
  throw new Error('did not throw');
};

describe('error frames are bounded', () => {
  it('a thousand long issues make a frame under 4 KB that says how many were left out', () => {
    const issues = Array.from({ length: 1000 }, (_, i) => ({ path: `field${i}`.repeat(50), message: 'unknown field '.repeat(40) }));
    const frame = errorFrame('VALIDATION_FAILED', issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '), issues, { action: 'execute' });
    expect(Buffer.byteLength(JSON.stringify(frame))).toBeLessThan(4096);
    expect(frame.details).toHaveLength(MAX_ERROR_DETAILS + 1);
    expect(frame.details?.at(-1)).toEqual({ path: '', message: `and ${1000 - MAX_ERROR_DETAILS} more` });
  });

  it('short issues pass unchanged', () => {
    const issues = [{ path: 'side', message: 'must be "buy" or "sell"' }];
    expect(errorFrame('VALIDATION_FAILED', 'side: must be "buy" or "sell"', issues).details).toEqual(issues);
  });
});

describe('binary frames', () => {
  const request = JSON.stringify({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '1' });

  it('a frame handed over as bytes (serverless-offline) is refused, though it holds valid JSON', () => {
    expect(thrown(() => parseWsMessage(messageEvent(Buffer.from(request))))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('binary') as unknown });
  });

  it('a frame marked isBase64Encoded (API Gateway) is refused', () => {
    expect(thrown(() => parseWsMessage(messageEvent(Buffer.from(request).toString('base64'), true)))).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('the same request as text is parsed', () => {
    expect(parseWsMessage(messageEvent(request)).body).toMatchObject({ action: 'quote' });
  });
});

describe('sameOrderRequest', () => {
  const requestArb = fc.record({
    side: fc.constantFrom('buy' as const, 'sell' as const),
    tokenIn: fc.constantFrom('USDC', 'SOL', 'BONK'),
    tokenOut: fc.constantFrom('USDC', 'SOL', 'JUP'),
    amountIn: fc.bigInt({ min: 1n, max: 10n ** 18n }).map(String),
    slippageBps: fc.integer({ min: 1, max: 5000 }),
  });

  it('is true for the same request, whatever the order of its forced failures', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        expect(sameOrderRequest(request, { ...request })).toBe(true);
        expect(
          sameOrderRequest({ ...request, mockFailures: { '1': 'RPC_TIMEOUT', '2': 'VENUE_5XX' } }, { ...request, mockFailures: { '2': 'VENUE_5XX', '1': 'RPC_TIMEOUT' } }),
        ).toBe(true);
      }),
    );
  });

  it('is false when any one field differs', () => {
    fc.assert(
      fc.property(requestArb, requestArb, fc.constantFrom('side', 'tokenIn', 'tokenOut', 'amountIn', 'slippageBps'), (a, b, field) => {
        fc.pre(a[field] !== b[field]);
        const changed: StoredOrderRequest = { ...a, [field]: b[field] };
        expect(sameOrderRequest(a, changed)).toBe(false);
      }),
    );
    expect(sameOrderRequest({ side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amountIn: '1', slippageBps: 100 }, { side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amountIn: '1', slippageBps: 100, mockFailures: { '1': 'RPC_TIMEOUT' } })).toBe(false);
  });
});

describe('apiKeyOf', () => {
  const connectEvent = (fields: Record<string, unknown>) => ({ requestContext: { connectionId: 'c1' }, ...fields }) as unknown as Parameters<typeof apiKeyOf>[0];

  it('refuses the query parameter given twice', () => {
    expect(apiKeyOf(connectEvent({ queryStringParameters: { apiKey: 'b' }, multiValueQueryStringParameters: { apiKey: ['a', 'b'] } }))).toEqual({
      ok: false,
      reason: 'the apiKey query parameter is given more than once',
    });
  });

  it('refuses the header given twice', () => {
    expect(apiKeyOf(connectEvent({ headers: { 'X-Api-Key': 'b' }, multiValueHeaders: { 'X-Api-Key': ['a', 'b'] } })).ok).toBe(false);
  });

  it('takes the header over the query parameter', () => {
    expect(apiKeyOf(connectEvent({ headers: { 'x-api-key': 'from-header' }, queryStringParameters: { apiKey: 'from-query' } }))).toEqual({ ok: true, apiKey: 'from-header' });
    expect(apiKeyOf(connectEvent({ queryStringParameters: { apiKey: 'from-query' } }))).toEqual({ ok: true, apiKey: 'from-query' });
  });
});
