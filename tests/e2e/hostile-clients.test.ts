import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { OrderFrame } from '../../lib/notify/frames';
import { ConnectRefused, TestClient, type AnyFrame } from './support/ws-client';
import { allOrders, e2e, orderItem, transactionsOf } from './support/stack';

/*
 * What a hostile or careless client tries (PROTOCOL.md, README "Protocol notes"): each case is answered, changes
 * nothing it should not, and leaves the socket usable. All on the suite's stack, on 127.0.0.1.
 */
const open: TestClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((client) => client.close()));
});

const connect = async (account = 'carol', options: { viaHeader?: boolean } = {}): Promise<TestClient> => {
  const client = await TestClient.connect(e2e().wsUrl, e2e().keys[account], options);
  open.push(client);
  return client;
};

let counter = 0;
const uniqueId = (prefix: string): string => `${prefix}-${Date.now()}-${counter++}`;

const ordersOf = async (owner: string): Promise<number> => (await allOrders()).filter((item) => item.kind === 'order' && item.owner === owner).length;

/** Sends raw text and waits for the error frame that answers it. */
const errorFor = async (client: TestClient, text: string): Promise<AnyFrame> => {
  client.send(text);
  return client.nextError();
};

/** The socket still works: a quote gets its answer. */
const stillServes = async (client: TestClient): Promise<void> => {
  client.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '10' });
  expect((await client.next((frame) => frame.type !== 'error' || frame.code === 'RATE_LIMITED')).type).toBe('quote');
};

describe('a reused clientOrderId', () => {
  it('with a different order is refused with DUPLICATE_CLIENT_ORDER_ID naming the existing order, and places nothing', async () => {
    const client = await connect('carol');
    const clientOrderId = uniqueId('bot7');
    client.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '100', clientOrderId });
    const pending = (await client.next((f) => f.type === 'order' && f.clientOrderId === clientOrderId)) as unknown as OrderFrame;
    const frames = await client.orderFrames(pending.orderId);
    expect(frames.at(-1)?.status).toBe('confirmed');
    const before = await ordersOf('carol');

    // A bot whose counter restarted: a sell under the id of an earlier buy.
    client.send({ action: 'execute', side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '5', clientOrderId });
    const refused = await client.nextError();
    expect(refused).toMatchObject({ code: 'DUPLICATE_CLIENT_ORDER_ID', orderId: pending.orderId, clientOrderId, action: 'execute' });
    expect(refused.details).toEqual([{ path: 'clientOrderId', message: expect.stringContaining(pending.orderId) as unknown }]);

    // The same amount on another pair, or another slippage, is a different order too.
    client.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '100', slippage: 2, clientOrderId });
    expect(await client.nextError()).toMatchObject({ code: 'DUPLICATE_CLIENT_ORDER_ID', orderId: pending.orderId });

    expect(await ordersOf('carol')).toBe(before);
    expect(await transactionsOf(pending.orderId)).toBe(1);
    expect(await client.strayFrames()).toEqual([]);
  });

  it('with the identical order is answered with the existing order (a retry of a lost answer), amount written differently or not', async () => {
    const client = await connect('carol');
    const clientOrderId = uniqueId('retry');
    client.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '100', clientOrderId });
    const pending = (await client.next((f) => f.type === 'order' && f.clientOrderId === clientOrderId)) as unknown as OrderFrame;
    await client.orderFrames(pending.orderId);
    // "100.0" and 100 are the same amount in base units, and slippage 1 is the default.
    client.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 100, slippage: 1, clientOrderId });
    const replayed = await client.next((f) => f.type === 'order' || f.type === 'error');
    expect(replayed).toMatchObject({ type: 'order', orderId: pending.orderId, status: 'confirmed' });
    expect(await client.strayFrames()).toEqual([]);
  });
});

describe('JSON that reads differently to different parsers', () => {
  it('a duplicate key is refused with BAD_REQUEST naming it, and nothing is placed', async () => {
    const client = await connect('carol');
    const before = await ordersOf('carol');
    const quoteThenExecute = '{"action":"quote","side":"buy","tokenIn":"USDC","tokenOut":"SOL","amount":"1","action":"execute"}';
    expect(await errorFor(client, quoteThenExecute)).toMatchObject({ code: 'BAD_REQUEST', details: [{ path: 'action', message: expect.stringContaining('duplicate') as unknown }] });
    const buyThenSell = `{"action":"execute","side":"buy","tokenIn":"USDC","tokenOut":"SOL","amount":"1","side":"sell","clientOrderId":"${uniqueId('dup')}"}`;
    expect(await errorFor(client, buyThenSell)).toMatchObject({ code: 'BAD_REQUEST', details: [{ path: 'side' }] });
    expect(await ordersOf('carol')).toBe(before);
    await stillServes(client);
  });

  it('a number the engine would not read exactly as written is refused, asking for a decimal string', async () => {
    const client = await connect('carol');
    const before = await ordersOf('carol');
    for (const literal of ['12345678901.123456', '1234567890123.4567']) {
      const refused = await errorFor(client, `{"action":"execute","side":"sell","tokenIn":"USDC","tokenOut":"SOL","amount":${literal},"clientOrderId":"${uniqueId('num')}"}`);
      expect(refused).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'amount', message: expect.stringContaining('decimal string') as unknown }] });
    }
    expect(await ordersOf('carol')).toBe(before);
    // Up to 15 significant digits a JSON number is exact enough.
    client.send('{"action":"quote","side":"buy","tokenIn":"USDC","tokenOut":"SOL","amount":12.5}');
    expect((await client.next()).type).toBe('quote');
  });
});

describe('reserved route keys and binary frames', () => {
  it('{"action":"$disconnect"} is an unknown action and leaves the connection registered', async () => {
    const client = await connect('carol');
    expect(await errorFor(client, '{"action":"$disconnect"}')).toMatchObject({ code: 'UNKNOWN_ACTION', action: '$disconnect' });
    // Its connection row is still there: an order is accepted, not FORBIDDEN.
    const clientOrderId = uniqueId('after-disconnect');
    client.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '1', clientOrderId });
    const answer = await client.next((f) => f.type === 'error' || f.clientOrderId === clientOrderId);
    expect(answer).toMatchObject({ type: 'order', status: 'pending' });
    await client.orderFrames(answer.orderId as string);
  });

  it('{"action":"$connect"} is an unknown action', async () => {
    const client = await connect('carol');
    expect(await errorFor(client, '{"action":"$connect"}')).toMatchObject({ code: 'UNKNOWN_ACTION', action: '$connect' });
    await stillServes(client);
  });

  it('a binary frame holding a valid request is refused, not executed', async () => {
    const client = await connect('carol');
    const socket = (client as unknown as { socket: WebSocket }).socket;
    socket.send(Buffer.from(JSON.stringify({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '1' })), { binary: true });
    const answer = await client.next();
    expect(answer).toMatchObject({ type: 'error', code: 'BAD_REQUEST', message: expect.stringContaining('binary') as unknown });
    expect(await client.strayFrames()).toEqual([]);
  });
});

describe('large messages', () => {
  it('an error about a 30 KB message is a short frame, not an echo of it', async () => {
    const client = await connect('carol');
    const manyUnknownKeys = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`k${String(i).padStart(15, '0')}`, 1]));
    const text = JSON.stringify({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '1', ...manyUnknownKeys });
    expect(text.length).toBeGreaterThan(29_000);
    expect(text.length).toBeLessThan(32 * 1024);
    client.send(text);
    const socket = (client as unknown as { socket: WebSocket }).socket;
    const raw = await new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
    expect(JSON.parse(raw)).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
    expect(Buffer.byteLength(raw)).toBeLessThan(4096);
    await client.next(); // the same frame, from the client's own buffer
  });

  it('a message over API Gateway\'s 128 KB quota closes the connection with 1009, and nothing else', async () => {
    const client = await connect('carol');
    const socket = (client as unknown as { socket: WebSocket }).socket;
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(JSON.stringify({ action: 'quote', pad: 'x'.repeat(129 * 1024) }));
    expect(await closed).toBe(1009);
    const other = await connect('carol');
    await stillServes(other);
  });
});

describe('the API key on $connect', () => {
  const key = (): string => e2e().keys.carol as string;

  it('given twice in the query is refused with 400', async () => {
    const url = `${e2e().wsUrl}?apiKey=${encodeURIComponent(key())}&apiKey=${encodeURIComponent(key())}`;
    await expect(TestClient.connect(url, undefined)).rejects.toEqual(new ConnectRefused(400));
  });

  it('in both the header and the query: the header wins', async () => {
    const withHeader = (header: string, query: string): Promise<TestClient> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`${e2e().wsUrl}?apiKey=${encodeURIComponent(query)}`, { headers: { 'x-api-key': header } });
        socket.once('open', () => {
          socket.close();
          resolve(undefined as unknown as TestClient);
        });
        socket.once('unexpected-response', (_request, response) => reject(new ConnectRefused(response.statusCode ?? 0)));
        socket.once('error', reject);
      });
    await expect(withHeader(key(), 'sk_wrong')).resolves.toBeUndefined();
    await expect(withHeader('sk_wrong', key())).rejects.toEqual(new ConnectRefused(401));
  });
});

// Guards against a test above passing because nothing answered at all.
it('an order placed after all of that still completes', async () => {
  const client = await connect('carol');
  const clientOrderId = uniqueId('final');
  client.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '3', clientOrderId });
  const pending = (await client.next((f) => f.clientOrderId === clientOrderId)) as unknown as OrderFrame;
  expect((await client.orderFrames(pending.orderId)).at(-1)?.status).toBe('confirmed');
  expect(await orderItem(pending.orderId)).toMatchObject({ status: 'confirmed' });
});
