import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { connect, EngineRequestError, type EngineClient, type OrderFrame, type ProtocolProblem, type WebSocketConstructor } from '../../client/sdk';

const ORDER_ID = '01JD000000000000000000000A';
const STATUSES = ['pending', 'routing', 'building', 'submitted', 'confirmed'] as const;

const frameOf = (seq: number, clientOrderId?: string): OrderFrame => ({
  type: 'order',
  orderId: ORDER_ID,
  ...(clientOrderId ? { clientOrderId } : {}),
  status: STATUSES[seq - 1] ?? 'confirmed',
  seq,
  at: new Date(0).toISOString(),
  attempt: 1,
  meta: {},
});

type Message = Record<string, unknown>;

/** A fake engine on 127.0.0.1: `onMessage` answers each client message; it sees every connection and message. */
const fakeEngine = async (onMessage: (socket: WebSocket, message: Message, connection: number) => void) => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const received: { connection: number; message: Message }[] = [];
  const headers: (string | undefined)[] = [];
  let connections = 0;
  server.on('connection', (socket, request) => {
    const connection = ++connections;
    headers.push(request.headers['x-api-key'] as string | undefined);
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Message;
      received.push({ connection, message });
      onMessage(socket, message, connection);
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    received,
    headers,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
};

const send = (socket: WebSocket, frame: unknown): void => socket.send(JSON.stringify(frame));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const setup = async (onMessage: Parameters<typeof fakeEngine>[0], extra: { onProtocolError?: (p: ProtocolProblem) => void } = {}) => {
  const engine = await fakeEngine(onMessage);
  cleanups.push(engine.close);
  const client: EngineClient = await connect({ url: engine.url, apiKey: 'k-test', reconnect: { baseMs: 10, capMs: 40 }, ...extra });
  cleanups.push(() => client.close());
  return { engine, client };
};

describe('client SDK', () => {
  it('pings on the keepalive interval while open, and a pong is no protocol error', async () => {
    const problems: ProtocolProblem[] = [];
    const engine = await fakeEngine((socket, message) => {
      if (message.action === 'ping') send(socket, { type: 'pong', at: new Date().toISOString() });
    });
    cleanups.push(engine.close);
    const client = await connect({ url: engine.url, apiKey: 'k-test', keepaliveMs: 30, onProtocolError: (p) => problems.push(p) });
    cleanups.push(() => client.close());
    await new Promise((resolve) => setTimeout(resolve, 200));
    const pings = engine.received.filter((r) => r.message.action === 'ping').length;
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(pings).toBeLessThanOrEqual(8);
    expect(problems).toEqual([]);
  });

  it('runs an order from pending to confirmed, frames in seq order, de-duplicated', async () => {
    const problems: ProtocolProblem[] = [];
    const { engine, client } = await setup(
      (socket, message) => {
        if (message.action !== 'execute') return;
        const id = message.clientOrderId as string;
        send(socket, frameOf(1, id));
        send(socket, { type: 'pong', at: 'x' }); // unknown frame type: ignored
        send(socket, { type: 'order', orderId: ORDER_ID, seq: 'two' }); // malformed: reported, not thrown
        send(socket, frameOf(2, id));
        send(socket, frameOf(2, id)); // duplicate
        for (const seq of [3, 4, 5]) send(socket, frameOf(seq, id));
      },
      { onProtocolError: (problem) => problems.push(problem) },
    );
    const handle = client.execute({ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '2' });
    expect(handle.clientOrderId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(await handle.orderId).toBe(ORDER_ID);
    const seen: OrderFrame[] = [];
    for await (const frame of handle.frames) seen.push(frame);
    expect(seen.map((f) => f.status)).toEqual(['pending', 'routing', 'building', 'submitted', 'confirmed']);
    expect((await handle.done).status).toBe('confirmed');
    expect(handle.gaps).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(engine.headers[0]).toBe('k-test');
    expect(engine.received[0]?.message).toMatchObject({ action: 'execute', side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '2', clientOrderId: handle.clientOrderId });
  });

  it('rejects done with a typed error when the engine refuses the request', async () => {
    const { client } = await setup((socket, message) => {
      send(socket, { type: 'error', code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 250, action: message.action, clientOrderId: message.clientOrderId });
    });
    const handle = client.execute({ side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 100, clientOrderId: 'bot7-1' });
    const error = await handle.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineRequestError);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 250, clientOrderId: 'bot7-1', retryable: true });
    await expect(handle.orderId).rejects.toBeInstanceOf(EngineRequestError);
  });

  it('reconnects after the socket is dropped mid-order, resubscribes, and delivers each later frame once', async () => {
    let current = 0;
    const { engine, client } = await setup((socket, message, connection) => {
      if (message.action === 'execute') {
        send(socket, frameOf(1, message.clientOrderId as string));
        send(socket, frameOf(2, message.clientOrderId as string));
        current = 2;
        setTimeout(() => socket.terminate(), 20);
      } else if (message.action === 'subscribe' && connection === 2) {
        // The replay from fromSeq (3, what the client missed), then what follows; a duplicate would still be dropped.
        send(socket, frameOf(current));
        for (const seq of [3, 4, 5]) send(socket, frameOf(seq));
      }
    });
    const handle = client.execute({ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '2' });
    const seen: number[] = [];
    handle.onFrame((frame) => seen.push(frame.seq));
    expect((await handle.done).status).toBe('confirmed');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(engine.connections()).toBe(2);
    expect(engine.received.filter((r) => r.connection === 2).map((r) => r.message)).toEqual([{ action: 'subscribe', orderId: ORDER_ID, fromSeq: 3 }]);
    expect(handle.gaps).toEqual([]);
  });

  it('records a gap and still delivers the later frame', async () => {
    const { client } = await setup((socket, message) => {
      send(socket, frameOf(1, message.clientOrderId as string));
      send(socket, frameOf(4, message.clientOrderId as string));
      send(socket, frameOf(5, message.clientOrderId as string));
    });
    const handle = client.execute({ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '2' });
    await handle.done;
    expect(handle.gaps).toEqual([{ from: 2, to: 3 }]);
  });

  it('answers quotes in the order they were sent, and a refused quote with a typed error', async () => {
    const { client } = await setup((socket, message) => {
      if (message.amount === 'bad') send(socket, { type: 'error', code: 'VALIDATION_FAILED', message: 'amount', action: 'quote', details: [{ path: 'amount', message: 'no' }] });
      else send(socket, { type: 'quote', quotes: [{ dex: 'raydium', amountOut: String(message.amount) }], route: { dex: 'raydium' } });
    });
    const first = client.quote({ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '1' });
    const refused = client.quote({ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: 'bad' });
    const third = client.quote({ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '3' });
    expect((await first).quotes).toEqual([{ dex: 'raydium', amountOut: '1' }]);
    await expect(refused).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'amount', message: 'no' }] });
    expect((await third).quotes).toEqual([{ dex: 'raydium', amountOut: '3' }]);
  });

  it('cancel resolves with the cancelled frame, by orderId or clientOrderId, and rejects a refusal with its code', async () => {
    const { engine, client } = await setup((socket, message) => {
      if (message.action !== 'cancel') return;
      if (message.orderId === ORDER_ID) send(socket, { ...frameOf(2), status: 'cancelled', meta: { reason: 'client' } });
      else if (message.clientOrderId === 'c-1') send(socket, { ...frameOf(2, 'c-1'), orderId: '01JD000000000000000000000B', status: 'cancelled', meta: { reason: 'client' } });
      else send(socket, { type: 'error', code: 'NOT_CANCELLABLE', message: 'confirmed', action: 'cancel', clientOrderId: message.clientOrderId, details: [{ path: 'status', message: 'confirmed' }] });
    });
    const [byId, byClient, refused] = await Promise.allSettled([
      client.cancel({ orderId: ORDER_ID }),
      client.cancel({ clientOrderId: 'c-1' }),
      client.cancel({ clientOrderId: 'c-2' }),
    ]);
    expect(byId).toMatchObject({ status: 'fulfilled', value: { orderId: ORDER_ID, status: 'cancelled' } });
    expect(byClient).toMatchObject({ status: 'fulfilled', value: { clientOrderId: 'c-1', status: 'cancelled' } });
    expect(refused.status).toBe('rejected');
    const error = (refused as PromiseRejectedResult).reason as EngineRequestError;
    expect(error).toBeInstanceOf(EngineRequestError);
    expect(error.code).toBe('NOT_CANCELLABLE');
    expect(error.details).toEqual([{ path: 'status', message: 'confirmed' }]);
    expect(engine.received.map((r) => r.message)).toEqual([
      { action: 'cancel', orderId: ORDER_ID },
      { action: 'cancel', clientOrderId: 'c-1' },
      { action: 'cancel', clientOrderId: 'c-2' },
    ]);
    expect(() => client.cancel({} as never)).toThrow(RangeError);
  });

  it('orders sends status, limit and cursor and resolves with the page; a refusal rejects', async () => {
    const { engine, client } = await setup((socket, message) => {
      if (message.action !== 'orders') return;
      if (message.cursor === 'bad') send(socket, { type: 'error', code: 'VALIDATION_FAILED', message: 'cursor', action: 'orders', details: [{ path: 'cursor', message: 'no' }] });
      else send(socket, { type: 'orders', orders: [frameOf(5)], cursor: message.cursor ? null : 'next' });
    });
    await expect(client.orders({ status: 'closed', limit: 1 })).resolves.toEqual({ type: 'orders', orders: [frameOf(5)], cursor: 'next' });
    await expect(client.orders({ cursor: 'next' })).resolves.toMatchObject({ cursor: null });
    await expect(client.orders({ cursor: 'bad' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(engine.received.map((r) => r.message)).toEqual([
      { action: 'orders', status: 'closed', limit: 1 },
      { action: 'orders', cursor: 'next' },
      { action: 'orders', cursor: 'bad' },
    ]);
  });

  it('does not reconnect after the caller closes', async () => {
    const { engine, client } = await setup(() => undefined);
    const handle = client.subscribe(ORDER_ID);
    await client.close();
    await expect(handle.done).rejects.toThrow(/closed by the caller/);
    await sleep(150);
    expect(engine.connections()).toBe(1);
    expect(client.state).toBe('closed');
  });

  it('gives up without reconnecting after a policy close (1008)', async () => {
    const { engine, client } = await setup((socket) => socket.close(1008, 'policy'));
    const handle = client.subscribe(ORDER_ID);
    await expect(handle.done).rejects.toMatchObject({ closeCode: 1008 });
    await sleep(100);
    expect(engine.connections()).toBe(1);
  });

  it('takes an injected browser-style constructor (key in the query)', async () => {
    const engine = await fakeEngine(() => undefined);
    cleanups.push(engine.close);
    const seenUrls: string[] = [];
    const Browserish = class extends WebSocket {
      constructor(url: string) {
        seenUrls.push(url);
        super(url);
      }
    } as unknown as WebSocketConstructor;
    const client = await connect({ url: engine.url, apiKey: 'k y', WebSocket: Browserish });
    cleanups.push(() => client.close());
    expect(seenUrls[0]).toBe(`${engine.url}?apiKey=k%20y`);
  });
});
