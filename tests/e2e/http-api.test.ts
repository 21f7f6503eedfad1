import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TestClient, seqs, statuses } from './support/ws-client';
import { allOrders, e2e, ordersStillOpen } from './support/stack';
import { httpContractViolation } from './support/http-contract';

/*
 * The HTTP API (PROTOCOL.md v2 "HTTP API") as curl uses it, against the suite's stack: the same validation, codes,
 * idempotency and owner isolation as the WebSocket routes. (The 429 with Retry-After is in admission.test.ts, whose
 * stack has limits small enough to reach.)
 */

const open: TestClient[] = [];
const keyOf = (account: string): string => {
  const key = e2e().keys[account];
  if (!key) throw new Error(`no key seeded for ${account}`);
  return key;
};

afterAll(async () => {
  expect(await ordersStillOpen()).toEqual([]);
}, 40_000);

afterEach(async () => {
  const stray = await Promise.all(open.map((client) => client.strayFrames()));
  await Promise.all(open.splice(0).map((client) => client.close()));
  expect(stray.flat()).toEqual([]);
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

const request = async (method: string, path: string, options: { key?: string | undefined; body?: string | object } = {}): Promise<Answer> => {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.key !== undefined) headers['x-api-key'] = options.key;
  const response = await fetch(`${e2e().httpUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  // Every answer is one the OpenAPI document describes for this path, method and status.
  expect(httpContractViolation(method, path, response.status, body)).toBeUndefined();
  return { status: response.status, headers: response.headers, body };
};

let counter = 0;
const order = (overrides: Record<string, unknown> = {}) => ({
  side: 'buy',
  tokenIn: 'USDC',
  tokenOut: 'SOL',
  amount: '40',
  slippage: 1,
  clientOrderId: `http-${Date.now()}-${counter++}`,
  ...overrides,
});

const errorOf = (answer: Answer) => answer.body.error as { code: string; message: string; details?: Array<{ path: string; message: string }>; retryAfterMs?: number };

const untilTerminal = async (orderId: string, key: string, timeoutMs = 20_000): Promise<Record<string, unknown>> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await request('GET', `/api/orders/${orderId}`, { key });
    expect(answer.status).toBe(200);
    const frame = answer.body.order as Record<string, unknown>;
    if (['confirmed', 'failed'].includes(String(frame.status)) || Date.now() > deadline) return frame;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

describe('POST /api/orders/execute', () => {
  it('places an order: 202 with its pending frame and how to follow it; it executes and GET shows it confirmed', async () => {
    const body = order();
    const placed = await request('POST', '/api/orders/execute', { key: keyOf('alice'), body });
    expect(placed.status).toBe(202);
    expect(placed.body).toMatchObject({ clientOrderId: body.clientOrderId, status: 'pending', seq: 1, ws: { url: e2e().wsUrl } });
    const orderId = placed.body.orderId as string;
    expect(orderId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(placed.body.order).toMatchObject({ type: 'order', orderId, status: 'pending', seq: 1, meta: { order: { side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '40', slippage: 1 } } });
    expect((placed.body.ws as { subscribe: unknown }).subscribe).toEqual({ action: 'subscribe', orderId, fromSeq: 1 });

    const terminal = await untilTerminal(orderId, keyOf('alice'));
    expect(terminal).toMatchObject({ orderId, status: 'confirmed', seq: 5, clientOrderId: body.clientOrderId });
    expect((terminal.meta as Record<string, unknown>).amountIn).toBe('40');
    // And its history: every frame, seq 1..5, the last one the current frame.
    const history = (await request('GET', `/api/orders/${orderId}`, { key: keyOf('alice') })).body.history as Array<Record<string, unknown>>;
    expect(history.map((frame) => `${String(frame.seq)}:${String(frame.status)}`)).toEqual(['1:pending', '2:routing', '3:building', '4:submitted', '5:confirmed']);
    expect(history.at(-1)).toEqual(terminal);
  });

  it('the answer\'s subscribe message, sent on the named WebSocket, streams the order', async () => {
    const placed = await request('POST', '/api/orders/execute', { key: keyOf('alice'), body: order({ amount: '12.5' }) });
    expect(placed.status).toBe(202);
    const ws = placed.body.ws as { url: string; subscribe: object };
    const client = await TestClient.connect(ws.url, keyOf('alice'));
    open.push(client);
    client.send(ws.subscribe);
    const frames = await client.orderFrames(placed.body.orderId as string);
    expect(statuses(frames).at(-1)).toBe('confirmed');
    // The replay is the current frame, then every later one once, in order.
    const seen = seqs(frames);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.at(-1)).toBe(5);
  });

  it('refuses bad input with the WebSocket routes\' codes and creates nothing', async () => {
    const key = keyOf('alice');
    const before = (await allOrders()).length;
    const tooMuchSlippage = await request('POST', '/api/orders/execute', { key, body: order({ slippage: 60 }) });
    expect(tooMuchSlippage.status).toBe(400);
    expect(errorOf(tooMuchSlippage)).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'slippage', message: 'must be <= 50' }] });

    const unknownToken = await request('POST', '/api/orders/execute', { key, body: order({ tokenOut: 'NOPE' }) });
    expect(unknownToken.status).toBe(400);
    expect(errorOf(unknownToken).code).toBe('UNKNOWN_TOKEN');

    const duplicateKey = await request('POST', '/api/orders/execute', { key, body: '{"side":"buy","side":"sell","tokenIn":"USDC","tokenOut":"SOL","amount":"1"}' });
    expect(duplicateKey.status).toBe(400);
    expect(errorOf(duplicateKey)).toMatchObject({ code: 'BAD_REQUEST', details: [{ path: 'side' }] });

    const notJson = await request('POST', '/api/orders/execute', { key, body: 'side=buy' });
    expect(notJson.status).toBe(400);
    expect(errorOf(notJson).code).toBe('BAD_REQUEST');

    const withAction = await request('POST', '/api/orders/execute', { key, body: { action: 'quote', ...order() } });
    expect(withAction.status).toBe(400);
    expect(errorOf(withAction)).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'action', message: 'unknown field' }] });

    const misspelt = await request('POST', '/api/orders/execute', { key, body: { ...order(), slipage: 2 } });
    expect(misspelt.status).toBe(400);
    expect(errorOf(misspelt)).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'slipage', message: 'unknown field' }] });

    expect((await allOrders()).length).toBe(before);
  });

  it('401 without a key or with an unknown one, whatever the body', async () => {
    const none = await request('POST', '/api/orders/execute', { body: order() });
    expect(none.status).toBe(401);
    expect(errorOf(none).code).toBe('UNAUTHORIZED');
    const unknown = await request('POST', '/api/orders/execute', { key: 'sk_not-a-key', body: 'not json' });
    expect(unknown.status).toBe(401);
    expect(errorOf(unknown).code).toBe('UNAUTHORIZED');
    const get = await request('GET', '/api/orders/01M8V2JDJN6FW4VG8A219VVP76');
    expect(get.status).toBe(401);
  });

  it('a repeated clientOrderId answers 200 with the same order; a different order under it is 409 and creates nothing', async () => {
    const key = keyOf('bob');
    const body = order({ amount: '7' });
    const first = await request('POST', '/api/orders/execute', { key, body });
    expect(first.status).toBe(202);
    const again = await request('POST', '/api/orders/execute', { key, body });
    expect(again.status).toBe(200);
    expect(again.body.orderId).toBe(first.body.orderId);
    expect((again.body.order as { orderId: string }).orderId).toBe(first.body.orderId);

    const different = await request('POST', '/api/orders/execute', { key, body: { ...body, amount: '8' } });
    expect(different.status).toBe(409);
    expect(errorOf(different)).toMatchObject({ code: 'DUPLICATE_CLIENT_ORDER_ID', details: [{ path: 'clientOrderId' }] });

    // Another owner may use the same key: a new order of its own.
    const otherOwner = await request('POST', '/api/orders/execute', { key: keyOf('carol'), body });
    expect(otherOwner.status).toBe(202);
    expect(otherOwner.body.orderId).not.toBe(first.body.orderId);

    const mine = (await allOrders()).filter((item) => item.clientOrderId === body.clientOrderId);
    expect(mine.map((item) => item.owner).sort()).toEqual(['bob', 'carol']);
    expect((await untilTerminal(first.body.orderId as string, key)).status).toBe('confirmed');
    expect((await untilTerminal(otherOwner.body.orderId as string, keyOf('carol'))).status).toBe('confirmed');
  });
});

describe('GET /api/orders/{orderId}', () => {
  it("another account's order and an unknown id are the same 404 NOT_FOUND", async () => {
    const placed = await request('POST', '/api/orders/execute', { key: keyOf('alice'), body: order({ amount: '3' }) });
    expect(placed.status).toBe(202);
    const theirs = await request('GET', `/api/orders/${placed.body.orderId as string}`, { key: keyOf('bob') });
    const unknown = await request('GET', '/api/orders/01M8V2JDJN6FW4VG8A219VVP76', { key: keyOf('bob') });
    expect(theirs.status).toBe(404);
    expect(unknown.status).toBe(404);
    // Nothing tells the two apart but the id the caller sent.
    expect(errorOf(theirs).code).toBe('NOT_FOUND');
    expect(errorOf(theirs).details).toEqual(errorOf(unknown).details);
    expect((await untilTerminal(placed.body.orderId as string, keyOf('alice'))).status).toBe('confirmed');
  });

  it('a malformed id is VALIDATION_FAILED, as for subscribe', async () => {
    const answer = await request('GET', '/api/orders/not-an-id', { key: keyOf('alice') });
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'orderId' }] });
  });
});

describe('POST /api/quote', () => {
  it('answers the quote frame; a pair with no pool is 422 with the order failure code', async () => {
    const answer = await request('POST', '/api/quote', { key: keyOf('alice'), body: { side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '2.5' } });
    expect(answer.status).toBe(200);
    expect(answer.body.type).toBe('quote');
    expect((answer.body.quotes as Array<{ dex: string }>).map((quote) => quote.dex).sort()).toEqual(['meteora', 'raydium']);
    expect(answer.body.route).toMatchObject({ amountIn: '2.5' });

    const noPool = await request('POST', '/api/quote', { key: keyOf('alice'), body: { side: 'sell', tokenIn: 'WIF', tokenOut: 'PYTH', amount: '1' } });
    expect(noPool.status).toBe(422);
    expect(errorOf(noPool).code).toBe('NO_ROUTE');
  });
});
