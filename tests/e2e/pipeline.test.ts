import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConnectRefused, TestClient, seqs, statuses, type AnyFrame } from './support/ws-client';
import { allOrders, e2e, orderItem, ordersStillOpen, transactionsOf } from './support/stack';
import type { OrderFrame } from '../../lib/notify/frames';
import { parseUiAmount, resolveToken } from '../../lib/tokens';

const open: TestClient[] = [];
const connect = async (account: string, options: { viaHeader?: boolean } = {}): Promise<TestClient> => {
  const key = account === 'dev' ? e2e().devKey : e2e().keys[account];
  const client = await TestClient.connect(e2e().wsUrl, key, options);
  open.push(client);
  return client;
};

// Every accepted order reaches a terminal state: none may be left behind by this file's tests.
afterAll(async () => {
  expect(await ordersStillOpen()).toEqual([]);
}, 40_000);

afterEach(async () => {
  // No frame a test did not ask for may be left on any socket it opened.
  const stray = await Promise.all(open.map((client) => client.strayFrames()));
  await Promise.all(open.splice(0).map((client) => client.close()));
  expect(stray.flat()).toEqual([]);
});

let counter = 0;
const order = (overrides: Record<string, unknown> = {}) => ({
  action: 'execute',
  side: 'buy',
  tokenIn: 'USDC',
  tokenOut: 'SOL',
  amount: 100,
  slippage: 1,
  clientOrderId: `e2e-${Date.now()}-${counter++}`,
  ...overrides,
});

const pendingFor = (client: TestClient, clientOrderId: string): Promise<AnyFrame> =>
  client.next((frame) => frame.type === 'order' && frame.clientOrderId === clientOrderId && frame.status === 'pending');

const BASE58_SIGNATURE = /^[1-9A-HJ-NP-Za-km-z]{86,88}$/;

describe('access', () => {
  it('refuses a connection without a key, or with an unknown one, with 401', async () => {
    await expect(TestClient.connect(e2e().wsUrl, undefined)).rejects.toEqual(new ConnectRefused(401));
    await expect(TestClient.connect(e2e().wsUrl, 'sk_not-a-key')).rejects.toEqual(new ConnectRefused(401));
  });

  it('accepts the key in the x-api-key header and in the apiKey query parameter', async () => {
    const viaHeader = await connect('alice', { viaHeader: true });
    const viaQuery = await connect('dev');
    viaHeader.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 1 });
    viaQuery.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 1 });
    expect((await viaHeader.next()).type).toBe('quote');
    expect((await viaQuery.next()).type).toBe('quote');
  });
});

describe('one order', () => {
  it('goes pending -> routing -> building -> submitted -> confirmed with seq 1..5 and PROTOCOL.md meta', async () => {
    const client = await connect('alice');
    const request = order({ amount: '250.5' });
    const sentAt = Date.now();
    client.send(request);
    const pending = (await pendingFor(client, request.clientOrderId)) as unknown as OrderFrame;
    const ackMs = Date.now() - sentAt;
    const frames = [pending, ...(await client.orderFrames(pending.orderId))];
    const totalMs = Date.now() - sentAt;

    expect(statuses(frames)).toEqual(['pending', 'routing', 'building', 'submitted', 'confirmed']);
    expect(seqs(frames)).toEqual([1, 2, 3, 4, 5]);
    for (const frame of frames) {
      expect(frame).toMatchObject({ type: 'order', orderId: pending.orderId, clientOrderId: request.clientOrderId, attempt: 1 });
      expect(new Date(frame.at).toISOString()).toBe(frame.at);
    }
    const [, routing, building, submitted, confirmed] = frames as [OrderFrame, OrderFrame, OrderFrame, OrderFrame, OrderFrame];
    expect(pending.meta.order).toEqual({ side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '250.5', slippage: 1, clientOrderId: request.clientOrderId });
    const quotes = routing.meta.quotes as Record<string, string>[];
    expect(quotes.map((quote) => quote.dex).sort()).toEqual(['meteora', 'raydium']);
    for (const quote of quotes) {
      for (const field of ['amountOut', 'price', 'feeAmount', 'priceImpactPct']) expect(quote[field]).toMatch(/^-?\d+(\.\d+)?$/);
    }
    const route = building.meta.route as Record<string, unknown>;
    expect(route).toMatchObject({ amountIn: '250.5' });
    // Compared in base units: the decimal strings drop trailing zeros, so their digits do not line up.
    const sol = resolveToken('SOL')!;
    expect(parseUiAmount(String(route.minAmountOut), sol) <= parseUiAmount(String(route.amountOut), sol)).toBe(true);
    expect(submitted.meta.txHash).toMatch(BASE58_SIGNATURE);
    expect(submitted.meta.dex).toBe(route.dex);
    expect(confirmed.meta).toMatchObject({ dex: route.dex, txHash: submitted.meta.txHash, amountIn: '250.5' });
    expect(confirmed.meta.amountOut).toMatch(/^\d+(\.\d{1,9})?$/);
    expect(confirmed.meta.executedPrice).toMatch(/^\d+(\.\d+)?$/);
    expect(typeof confirmed.meta.slot).toBe('number');
    expect(await transactionsOf(pending.orderId)).toBe(1);
    console.info(`one order: ack ${ackMs} ms, terminal ${totalMs} ms`);
  });

  it('answers quote with every venue and the chosen route, and creates no order', async () => {
    const before = (await allOrders()).length;
    const client = await connect('bob');
    client.send({ action: 'quote', side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '2.5', slippage: 0.5 });
    const quote = await client.next();
    expect(quote.type).toBe('quote');
    expect((quote.quotes as unknown[]).length).toBe(2);
    expect(quote.route).toMatchObject({ amountIn: '2.5' });
    expect((await allOrders()).length).toBe(before);
  });
});

describe('under load', () => {
  it('50 concurrent orders from 5 owners all end terminal with seq 1..n, each frame only on its owner socket', async () => {
    const owners = ['alice', 'bob', 'carol', 'dave', 'erin'];
    const clients = await Promise.all(owners.map((owner) => connect(owner)));
    const started = Date.now();
    const placed = clients.flatMap((client, index) =>
      Array.from({ length: 10 }, (_, n) => {
        const request = order({ side: n % 2 ? 'sell' : 'buy', tokenIn: n % 2 ? 'SOL' : 'USDC', tokenOut: n % 2 ? 'USDC' : 'SOL', amount: n % 2 ? '0.5' : 75 });
        client.send(request);
        return { client, owner: owners[index] as string, request };
      }),
    );
    const results = await Promise.all(
      placed.map(async ({ client, owner, request }) => {
        const pending = (await pendingFor(client, request.clientOrderId)) as unknown as OrderFrame;
        const frames = [pending, ...(await client.orderFrames(pending.orderId, 60_000))];
        return { owner, orderId: pending.orderId, frames };
      }),
    );
    const elapsedMs = Date.now() - started;
    for (const { frames } of results) {
      expect(seqs(frames)).toEqual(frames.map((_, i) => i + 1));
      // The fast profile draws no random failures, and 75 USDC or 0.5 SOL at 1 % slippage moves no pool that far. (Its
      // short blockhash life may cost an order under load a retry, which still ends confirmed.)
      expect(frames.at(-1)?.status).toBe('confirmed');
    }
    // Every order frame each socket received belongs to an order of that socket's owner.
    const ownerOfOrder = new Map(results.map((result) => [result.orderId, result.owner]));
    clients.forEach((client, index) => {
      for (const frame of client.received.filter((f) => f.type === 'order')) expect(ownerOfOrder.get(String(frame.orderId))).toBe(owners[index]);
    });
    console.info(`50 orders / 5 owners: all confirmed in ${elapsedMs} ms`);
  });
});

describe('bad input', () => {
  const cases: [string, unknown, string, string][] = [
    ['non-JSON', 'this is not json', 'BAD_REQUEST', ''],
    ['a JSON array', '[1,2]', 'BAD_REQUEST', ''],
    ['no action', { side: 'buy' }, 'BAD_REQUEST', 'action'],
    ['an unknown action', { action: 'withdraw' }, 'UNKNOWN_ACTION', 'action'],
    ['a missing field', { action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL' }, 'VALIDATION_FAILED', 'amount'],
    ['a wrongly typed field', order({ side: 1 }), 'VALIDATION_FAILED', 'side'],
    ['an extra field', order({ leverage: 10 }), 'VALIDATION_FAILED', 'leverage'],
    ['amount 0', order({ amount: 0 }), 'VALIDATION_FAILED', 'amount'],
    ['a negative amount', order({ amount: '-5' }), 'VALIDATION_FAILED', 'amount'],
    ['more decimals than the token has', order({ amount: '1.0000001' }), 'VALIDATION_FAILED', 'amount'],
    ['an unknown token', order({ tokenOut: 'DOGE' }), 'UNKNOWN_TOKEN', 'tokenOut'],
    ['tokenIn == tokenOut', order({ tokenOut: 'USDC' }), 'VALIDATION_FAILED', 'tokenOut'],
    ['slippage 0', order({ slippage: 0 }), 'VALIDATION_FAILED', 'slippage'],
    ['slippage over 50', order({ slippage: 51 }), 'VALIDATION_FAILED', 'slippage'],
    ['a bad clientOrderId', order({ clientOrderId: 'no spaces allowed' }), 'VALIDATION_FAILED', 'clientOrderId'],
    ['a frame over 32 KB', order({ clientOrderId: 'x', pad: 'x'.repeat(33 * 1024) }), 'BAD_REQUEST', ''],
    ['subscribe without an order id', { action: 'subscribe' }, 'VALIDATION_FAILED', 'orderId'],
  ];

  it.each(cases)('%s gets an error frame with its code and path, creates nothing, and the socket stays open', async (_name, message, code, path) => {
    const before = (await allOrders()).length;
    const client = await connect('carol');
    client.send(message);
    const error = await client.nextError();
    expect(error).toMatchObject({ type: 'error', code });
    expect(typeof error.message).toBe('string');
    if (path) expect((error.details as { path: string }[]).map((d) => d.path)).toContain(path);
    // Still open and still serving.
    client.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 1 });
    expect((await client.next()).type).toBe('quote');
    expect(client.closed).toBe(false);
    expect((await allOrders()).length).toBe(before);
  });
});

describe('idempotency and subscriptions', () => {
  it('the same clientOrderId sent twice at once, from two sockets of one owner, makes one order and both hear its id', async () => {
    const first = await connect('dave');
    const second = await connect('dave');
    const request = order();
    first.send(request);
    second.send(request);
    const [a, b] = await Promise.all([
      first.next((f) => f.type === 'order' && f.clientOrderId === request.clientOrderId),
      second.next((f) => f.type === 'order' && f.clientOrderId === request.clientOrderId),
    ]);
    expect(a.orderId).toBe(b.orderId);
    const orderId = String(a.orderId);
    // Both sockets now follow the order to its end; seq never repeats on either.
    for (const [client, answer] of [
      [first, a],
      [second, b],
    ] as const) {
      const rest = await client.orderFrames(orderId).catch(() => [] as OrderFrame[]);
      const all = [answer.seq, ...rest.map((f) => f.seq)];
      expect(new Set(all).size, `seqs seen: ${all.join(',')}`).toBe(all.length);
    }
    expect((await allOrders()).filter((item) => item.clientOrderId === request.clientOrderId && item.owner === 'dave')).toHaveLength(1);
    expect(await transactionsOf(orderId)).toBe(1);
  });

  it('two owners may use the same clientOrderId', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const request = order();
    alice.send(request);
    bob.send(request);
    const [a, b] = await Promise.all([pendingFor(alice, request.clientOrderId), pendingFor(bob, request.clientOrderId)]);
    expect(a.orderId).not.toBe(b.orderId);
    await Promise.all([alice.orderFrames(String(a.orderId)), bob.orderFrames(String(b.orderId))]);
  });

  it("another owner's order, or an unknown one, is NOT_FOUND", async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const request = order();
    alice.send(request);
    const pending = await pendingFor(alice, request.clientOrderId);
    await alice.orderFrames(String(pending.orderId));
    bob.send({ action: 'subscribe', orderId: pending.orderId });
    expect(await bob.nextError()).toMatchObject({ code: 'NOT_FOUND' });
    bob.send({ action: 'subscribe', orderId: '01JD0000000000000000000000' });
    expect(await bob.nextError()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a client that disconnects mid-order does not break it; reconnecting and subscribing replays the terminal frame', async () => {
    const leaving = await TestClient.connect(e2e().wsUrl, e2e().keys.erin);
    const request = order({ mockFailures: { 1: 'RPC_TIMEOUT' } });
    leaving.send(request);
    const pending = await leaving.next((f) => f.type === 'order' && f.status === 'pending');
    await leaving.close();
    const orderId = String(pending.orderId);
    const deadline = Date.now() + 20_000;
    let item = await orderItem(orderId);
    while (item && !['confirmed', 'failed'].includes(String(item.status)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      item = await orderItem(orderId);
    }
    expect(item?.status).toBe('confirmed');
    expect(item?.attempt).toBe(2);
    const back = await connect('erin');
    back.send({ action: 'subscribe', orderId });
    const replay = await back.next((f) => f.type === 'order' && f.orderId === orderId);
    expect(replay).toMatchObject({ status: 'confirmed', seq: item?.seq, attempt: 2 });
  });

  it('subscribe with fromSeq replays exactly the frames missed, in order, then the ones that follow; the order keeps its history', async () => {
    // Attempt 1 fails (RPC timeout), so the order lives for 1 s of backoff: the client leaves after `pending` and comes
    // back while it is still executing.
    const leaving = await TestClient.connect(e2e().wsUrl, e2e().keys.erin);
    const request = order({ mockFailures: { 1: 'RPC_TIMEOUT' } });
    leaving.send(request);
    const pending = await leaving.next((f) => f.type === 'order' && f.status === 'pending');
    await leaving.close();
    const orderId = String(pending.orderId);
    let item = await orderItem(orderId);
    while (item && Number(item.seq) < 3) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      item = await orderItem(orderId);
    }
    const back = await connect('erin');
    back.send({ action: 'subscribe', orderId, fromSeq: 2 });
    const frames = await back.orderFrames(orderId);
    // seq 2 to the end, each once, in order: nothing the client had (seq 1), nothing missed.
    expect(seqs(frames)).toEqual(Array.from({ length: frames.length }, (_, n) => n + 2));
    expect(frames.at(-1)).toMatchObject({ status: 'confirmed', attempt: 2 });
    expect(statuses(frames)).toEqual(['routing', 'building', 'submitted', 'pending', 'routing', 'building', 'submitted', 'confirmed']);
    // The stored history is every frame, seq 1..n, as they were sent.
    const stored = (await orderItem(orderId))?.history as OrderFrame[];
    expect(stored.map((frame) => frame.seq)).toEqual(Array.from({ length: frames.length + 1 }, (_, n) => n + 1));
    expect(stored.slice(1)).toEqual(frames);
    // A fromSeq past the end replays nothing; an invalid one is refused at its path.
    back.send({ action: 'subscribe', orderId, fromSeq: 99 });
    back.send({ action: 'subscribe', orderId, fromSeq: 0 });
    expect(await back.nextError()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'fromSeq', message: expect.any(String) }] });
  });
});

describe('ping', () => {
  it('answers pong with the engine time; extra fields are refused like any message', async () => {
    const client = await connect('alice');
    const before = Date.now();
    client.send({ action: 'ping' });
    const pong = await client.next();
    expect(pong.type).toBe('pong');
    expect(Date.parse(String(pong.at))).toBeGreaterThanOrEqual(before - 1_000);
    client.send({ action: 'ping', extra: 1 });
    expect(await client.nextError()).toMatchObject({ code: 'VALIDATION_FAILED', action: 'ping', details: [{ path: 'extra' }] });
  });
});
