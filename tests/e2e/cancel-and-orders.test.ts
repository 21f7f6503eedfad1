import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TestClient, seqs, statuses, type AnyFrame } from './support/ws-client';
import { e2e, ordersStillOpen, transactionsOf } from './support/stack';
import { httpContractViolation } from './support/http-contract';
import type { OrderFrame } from '../../lib/notify/frames';

/*
 * `cancel` and `orders` (PROTOCOL.md v2) against the running stack, over WebSocket and HTTP. A limit buy of SOL at 1
 * USDC rests `open` (the market is far above it), so it can be cancelled; every order a test leaves resting is
 * cancelled by it, so the suite's "no order left open" check holds.
 */
const clients: TestClient[] = [];
const connect = async (account: string): Promise<TestClient> => {
  const key = e2e().keys[account];
  if (!key) throw new Error(`no key seeded for ${account}`);
  const client = await TestClient.connect(e2e().wsUrl, key);
  clients.push(client);
  return client;
};

afterAll(async () => {
  expect(await ordersStillOpen()).toEqual([]);
}, 40_000);

afterEach(async () => {
  // No frame a test did not ask for: a cancel answered twice (the answer and the stream) would be one.
  const stray = await Promise.all(clients.map((client) => client.strayFrames()));
  await Promise.all(clients.splice(0).map((client) => client.close()));
  expect(stray.flat()).toEqual([]);
});

let counter = 0;
const resting = (overrides: Record<string, unknown> = {}) => ({
  action: 'execute',
  type: 'limit',
  side: 'buy',
  tokenIn: 'USDC',
  tokenOut: 'SOL',
  amount: '10',
  limitPrice: '1',
  clientOrderId: `e2e-cancel-${Date.now()}-${counter++}`,
  ...overrides,
});

const isOrder = (orderId: string) => (frame: AnyFrame) => frame.type === 'order' && frame.orderId === orderId;

/** Places a resting limit order on `client` and waits for it to rest: its pending and open frames. */
const placeResting = async (client: TestClient, overrides: Record<string, unknown> = {}): Promise<{ orderId: string; clientOrderId: string; frames: OrderFrame[] }> => {
  const request = resting(overrides);
  client.send(request);
  const pending = (await client.next((f) => f.type === 'order' && f.clientOrderId === request.clientOrderId && f.status === 'pending')) as unknown as OrderFrame;
  const opened = (await client.next(isOrder(pending.orderId), 15_000)) as unknown as OrderFrame;
  expect(opened.status).toBe('open');
  return { orderId: pending.orderId, clientOrderId: request.clientOrderId, frames: [pending, opened] };
};

/** Every page of a WebSocket `orders` listing. */
const listAll = async (client: TestClient, status: 'open' | 'closed' | 'all', limit: number): Promise<{ pages: OrderFrame[][] }> => {
  const pages: OrderFrame[][] = [];
  let cursor: string | null | undefined;
  for (let i = 0; i < 100; i++) {
    client.send({ action: 'orders', status, limit, ...(cursor ? { cursor } : {}) });
    const answer = await client.next((f) => f.type === 'orders');
    pages.push(answer.orders as OrderFrame[]);
    cursor = answer.cursor as string | null;
    if (cursor === null) return { pages };
  }
  throw new Error('the listing never ended');
};

const newestFirst = (ids: string[]): string[] => [...ids].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));

describe('cancel over WebSocket', () => {
  it('cancels a resting limit order: the connection that follows it gets the cancelled frame once, and nothing is sent on chain', async () => {
    const alice = await connect('alice');
    const { orderId, frames } = await placeResting(alice);
    const startedAt = Date.now();
    alice.send({ action: 'cancel', orderId });
    const cancelled = (await alice.next(isOrder(orderId))) as unknown as OrderFrame;
    const roundTripMs = Date.now() - startedAt;
    expect(cancelled).toMatchObject({ status: 'cancelled', seq: 3, meta: { reason: 'client' } });
    const all = [...frames, cancelled];
    expect(statuses(all)).toEqual(['pending', 'open', 'cancelled']);
    expect(seqs(all)).toEqual([1, 2, 3]);
    expect(await transactionsOf(orderId)).toBe(0);
    // The cancel round trip, for the README's figure.
    console.info(`cancel round trip (WebSocket, resting order): ${roundTripMs} ms`);

    // Cancelled is terminal: a second cancel says so.
    alice.send({ action: 'cancel', orderId });
    const again = await alice.nextError();
    expect(again).toMatchObject({ code: 'NOT_CANCELLABLE', action: 'cancel', details: [{ path: 'status', message: 'cancelled' }] });
  });

  it("another account's order is NOT_FOUND, by id or clientOrderId; the owner cancels it by clientOrderId from another connection", async () => {
    const alice = await connect('alice');
    const { orderId, clientOrderId } = await placeResting(alice);
    const bob = await connect('bob');
    bob.send({ action: 'cancel', orderId });
    expect(await bob.nextError()).toMatchObject({ code: 'NOT_FOUND', action: 'cancel' });
    bob.send({ action: 'cancel', clientOrderId });
    expect(await bob.nextError()).toMatchObject({ code: 'NOT_FOUND', action: 'cancel', clientOrderId });

    // A second connection of alice's does not follow the order: the frame is its answer; the first gets it from its stream.
    const aliceElsewhere = await connect('alice');
    aliceElsewhere.send({ action: 'cancel', clientOrderId });
    const answer = await aliceElsewhere.next(isOrder(orderId));
    expect(answer).toMatchObject({ status: 'cancelled', seq: 3, clientOrderId, meta: { reason: 'client' } });
    expect(await alice.next(isOrder(orderId))).toEqual(answer);
    expect(await transactionsOf(orderId)).toBe(0);
  });

  it('an order already executed is NOT_CANCELLABLE with its status; a malformed cancel is VALIDATION_FAILED', async () => {
    const alice = await connect('alice');
    const clientOrderId = `e2e-market-${Date.now()}`;
    alice.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '5', clientOrderId });
    const pending = await alice.next((f) => f.type === 'order' && f.clientOrderId === clientOrderId);
    const frames = await alice.orderFrames(pending.orderId as string);
    const final = frames.at(-1) as OrderFrame;
    alice.send({ action: 'cancel', clientOrderId });
    expect(await alice.nextError()).toMatchObject({ code: 'NOT_CANCELLABLE', action: 'cancel', clientOrderId, details: [{ path: 'status', message: final.status }] });
    alice.send({ action: 'cancel', orderId: pending.orderId, clientOrderId });
    expect(await alice.nextError()).toMatchObject({ code: 'VALIDATION_FAILED', action: 'cancel' });
  });
});

describe('orders over WebSocket', () => {
  it("pages the caller's orders newest first, each once; open and closed split them; another account never sees them", async () => {
    const dave = await connect('dave');
    const placed: string[] = [];
    for (let i = 0; i < 5; i++) placed.push((await placeResting(dave)).orderId);

    const open = (await listAll(dave, 'open', 2)).pages;
    expect(open.every((page) => page.length <= 2)).toBe(true);
    const openIds = open.flat().map((f) => f.orderId);
    expect(new Set(openIds).size).toBe(openIds.length);
    expect(openIds).toEqual(newestFirst(openIds));
    expect(openIds.filter((id) => placed.includes(id))).toEqual(newestFirst(placed));
    expect(open.flat().filter((f) => placed.includes(f.orderId)).every((f) => f.status === 'open')).toBe(true);

    const erin = await connect('erin');
    const erinsIds = (await listAll(erin, 'all', 100)).pages.flat().map((f) => f.orderId);
    expect(erinsIds.filter((id) => placed.includes(id))).toEqual([]);

    // Cancelled, they move from open to closed. Each cancel's round trip (send -> the cancelled frame), for the README.
    const roundTrips: number[] = [];
    for (const orderId of placed) {
      const sentAt = Date.now();
      dave.send({ action: 'cancel', orderId });
      expect(await dave.next(isOrder(orderId))).toMatchObject({ status: 'cancelled' });
      roundTrips.push(Date.now() - sentAt);
    }
    console.info(`cancel round trips (WebSocket, resting orders, warm): ${roundTrips.join(', ')} ms`);
    const stillOpen = (await listAll(dave, 'open', 100)).pages.flat().map((f) => f.orderId);
    expect(stillOpen.filter((id) => placed.includes(id))).toEqual([]);
    const closed = (await listAll(dave, 'closed', 3)).pages.flat();
    expect(closed.map((f) => f.orderId).filter((id) => placed.includes(id))).toEqual(newestFirst(placed));
    expect(closed.every((f) => ['confirmed', 'failed', 'cancelled', 'expired'].includes(f.status))).toBe(true);
    const everything = (await listAll(dave, 'all', 100)).pages.flat().map((f) => f.orderId);
    expect(everything.filter((id) => placed.includes(id))).toEqual(newestFirst(placed));
  });

  it("refuses another account's cursor and a garbled one (VALIDATION_FAILED on cursor), and a bad status or limit", async () => {
    const dave = await connect('dave');
    dave.send({ action: 'orders', limit: 1 });
    const first = await dave.next((f) => f.type === 'orders');
    expect(first.cursor).toEqual(expect.any(String));
    const erin = await connect('erin');
    erin.send({ action: 'orders', limit: 1, cursor: first.cursor });
    expect(await erin.nextError()).toMatchObject({ code: 'VALIDATION_FAILED', action: 'orders', details: [{ path: 'cursor' }] });
    erin.send({ action: 'orders', cursor: 'garbled' });
    expect(await erin.nextError()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'cursor' }] });
    erin.send({ action: 'orders', status: 'pending' });
    expect(await erin.nextError()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'status' }] });
    erin.send({ action: 'orders', limit: 101 });
    expect(await erin.nextError()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'limit' }] });
  });
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const http = async (method: string, path: string, account: string | undefined): Promise<Answer> => {
  const headers: Record<string, string> = {};
  if (account !== undefined) headers['x-api-key'] = e2e().keys[account] as string;
  const response = await fetch(`${e2e().httpUrl}${path}`, { method, headers });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  expect(httpContractViolation(method, path, response.status, body)).toBeUndefined();
  return { status: response.status, body };
};

describe('cancel and orders over HTTP', () => {
  it('GET /api/orders pages like the action; DELETE /api/orders/{orderId} cancels (200), then 409; another account 404', async () => {
    const carol = await connect('carol');
    const placed: string[] = [];
    for (let i = 0; i < 3; i++) placed.push((await placeResting(carol)).orderId);

    const listed: OrderFrame[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/api/orders?status=open&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await http('GET', query, 'carol');
      expect(page.status).toBe(200);
      expect(page.body.type).toBe('orders');
      const orders = page.body.orders as OrderFrame[];
      expect(orders.length).toBeLessThanOrEqual(2);
      listed.push(...orders);
      cursor = page.body.cursor as string | null;
    } while (cursor !== null);
    expect(listed.map((f) => f.orderId).filter((id) => placed.includes(id))).toEqual(newestFirst(placed));

    expect((await http('GET', '/api/orders', undefined)).status).toBe(401);
    const badCursor = await http('GET', '/api/orders?cursor=garbled', 'carol');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: [{ path: 'cursor' }] } });
    expect((await http('GET', '/api/orders?limit=0', 'carol')).status).toBe(400);

    const [first, ...others] = placed as [string, ...string[]];
    const intruder = await http('DELETE', `/api/orders/${first}`, 'bob');
    expect(intruder.status).toBe(404);
    expect(intruder.body).toMatchObject({ error: { code: 'NOT_FOUND' } });

    const cancelled = await http('DELETE', `/api/orders/${first}`, 'carol');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ type: 'order', orderId: first, status: 'cancelled', seq: 3, meta: { reason: 'client' } });
    // Carol's connection follows the order: it gets the frame from its stream too.
    expect(await carol.next(isOrder(first))).toEqual(cancelled.body);
    const again = await http('DELETE', `/api/orders/${first}`, 'carol');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'NOT_CANCELLABLE', details: [{ path: 'status', message: 'cancelled' }] } });

    for (const orderId of others) {
      expect((await http('DELETE', `/api/orders/${orderId}`, 'carol')).status).toBe(200);
      expect(await carol.next(isOrder(orderId))).toMatchObject({ status: 'cancelled' });
    }
    const closed = await http('GET', '/api/orders?status=closed&limit=100', 'carol');
    expect((closed.body.orders as OrderFrame[]).map((f) => f.orderId).filter((id) => placed.includes(id))).toEqual(newestFirst(placed));
  });
});
