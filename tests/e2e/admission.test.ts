import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { spawnStack, type RunningStack } from './support/spawn-stack';
import { ConnectRefused, TestClient, type AnyFrame } from './support/ws-client';
import { allOrders, connectionRow, e2e, names, ordersStillOpen, useStack } from './support/stack';

/*
 * Admission control through the real stack (PROTOCOL.md v2 "Admission control"), with small limits so that the test
 * is bounded: 5 orders/s with a burst of 10 per account, 3 connections per account, 10 messages/s with a burst of 30
 * per connection. A few hundred messages in all, on 127.0.0.1.
 */
const ORDERS_PER_SECOND = 5;
const ORDERS_BURST = 10;
const CONNECTIONS = 3;
const MESSAGES_PER_SECOND = 10;
const MESSAGES_BURST = 30;

let running: RunningStack;
const open: TestClient[] = [];

beforeAll(async () => {
  running = await spawnStack('admission', {
    LIMIT_ORDERS_PER_SECOND: String(ORDERS_PER_SECOND),
    LIMIT_ORDERS_BURST: String(ORDERS_BURST),
    LIMIT_CONNECTIONS: String(CONNECTIONS),
    LIMIT_MESSAGES_PER_SECOND: String(MESSAGES_PER_SECOND),
    LIMIT_MESSAGES_BURST: String(MESSAGES_BURST),
  });
  useStack(running.stack);
}, 90_000);

afterAll(async () => {
  try {
    await Promise.all(open.splice(0).map((client) => client.close()));
    // Every admitted order ends, and gives its open-order slot back (alongside its terminal frame: a moment later).
    expect(await ordersStillOpen()).toEqual([]);
    const deadline = Date.now() + 5_000;
    const openOrders = async () => Promise.all(['alice', 'bob'].map(async (account) => Number((await limitsItem(account))?.openOrders ?? 0)));
    while ((await openOrders()).some((count) => count !== 0) && Date.now() < deadline) await sleep(100);
    expect(await openOrders()).toEqual([0, 0]);
  } finally {
    useStack(undefined);
    await running?.stop();
  }
}, 60_000);

const connect = async (account: string): Promise<TestClient> => {
  const client = await TestClient.connect(e2e().wsUrl, e2e().keys[account]);
  open.push(client);
  return client;
};

let documentClient: DynamoDBDocumentClient | undefined;
const limitsItem = async (accountId: string): Promise<Record<string, unknown> | undefined> => {
  documentClient ??= DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: e2e().dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  );
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: names().limits, Key: { accountId }, ConsistentRead: true }),
  );
  return Item;
};

const order = (clientOrderId: string) => ({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 10, slippage: 1, clientOrderId });

/** The one answer to an `execute`: its `pending` frame or an `error` frame echoing its clientOrderId. */
const answerTo = (client: TestClient, clientOrderId: string, timeoutMs = 30_000): Promise<AnyFrame> =>
  client.next((frame) => frame.clientOrderId === clientOrderId && (frame.type === 'error' || (frame.type === 'order' && frame.status === 'pending')), timeoutMs);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const expectRateLimited = (frame: AnyFrame, action: string): void => {
  expect(frame).toMatchObject({ type: 'error', code: 'RATE_LIMITED', action, message: expect.any(String) });
  expect(Number.isInteger(frame.retryAfterMs)).toBe(true);
  expect(frame.retryAfterMs as number).toBeGreaterThan(0);
};

describe('orders per account', () => {
  it("a flood from one account gets RATE_LIMITED with retryAfterMs and creates nothing for it; another account's orders are all acknowledged", async () => {
    // Two connections, 25 orders each: within each connection's message burst, five times the account's order burst.
    const alice = [await connect('alice'), await connect('alice')];
    const bob = await connect('bob');
    const FLOOD = 50;
    const flood = Array.from({ length: FLOOD }, (_, n) => ({ client: alice[n % 2] as TestClient, clientOrderId: `flood-${n}` }));
    const bobIds = Array.from({ length: 8 }, (_, n) => `bob-${n}`);

    const started = Date.now();
    for (const [n, { client, clientOrderId }] of flood.entries()) {
      client.send(order(clientOrderId));
      if (n % 6 === 0) {
        const id = bobIds[n / 6];
        if (id) bob.send(order(id));
      }
    }
    const answers = await Promise.all(flood.map(({ client, clientOrderId }) => answerTo(client, clientOrderId)));
    const elapsedS = (Date.now() - started) / 1000;
    const bobAnswers = await Promise.all(bobIds.map((id) => answerTo(bob, id)));

    const accepted = answers.filter((frame) => frame.type === 'order');
    const refused = answers.filter((frame) => frame.type === 'error');
    for (const frame of refused) expectRateLimited(frame, 'execute');
    // The burst, plus what the rate refilled while the flood lasted; never more.
    expect(accepted.length).toBeGreaterThanOrEqual(ORDERS_BURST);
    expect(accepted.length).toBeLessThanOrEqual(ORDERS_BURST + Math.ceil(ORDERS_PER_SECOND * elapsedS));
    expect(refused.length).toBe(FLOOD - accepted.length);

    // The other account's bucket is its own: every one of its orders placed during the flood is acknowledged.
    expect(bobAnswers.map((frame) => `${frame.type}:${String(frame.status)}`)).toEqual(bobIds.map(() => 'order:pending'));

    // Exactly the acknowledged orders exist: a refusal created nothing.
    const floodOrders = (await allOrders()).filter((item) => item.owner === 'alice' && String(item.clientOrderId).startsWith('flood-'));
    expect(new Set(floodOrders.map((item) => String(item.clientOrderId)))).toEqual(new Set(accepted.map((frame) => String(frame.clientOrderId))));
    expect(new Set(floodOrders.map((item) => String(item.orderId)))).toEqual(new Set(accepted.map((frame) => String(frame.orderId))));

    // After the wait it names, the account may place an order again.
    const last = refused.at(-1) as AnyFrame;
    await sleep(Number(last.retryAfterMs) + 50);
    const again = alice[0] as TestClient;
    again.send(order('after-wait'));
    expect(await answerTo(again, 'after-wait')).toMatchObject({ type: 'order', status: 'pending' });

    // Every admitted order runs to its end (its frames are consumed, so nothing is left on the sockets).
    for (const frame of [...accepted, ...bobAnswers]) {
      const client = String(frame.clientOrderId).startsWith('bob-') ? bob : (flood.find((entry) => entry.clientOrderId === frame.clientOrderId)?.client as TestClient);
      const frames = await client.orderFrames(String(frame.orderId));
      expect(['confirmed', 'failed']).toContain(frames.at(-1)?.status);
    }
    console.info(
      `admission: ${FLOOD} orders in ${(elapsedS * 1000).toFixed(0)} ms from one account: ${accepted.length} accepted, ${refused.length} RATE_LIMITED ` +
        `(retryAfterMs ${Math.min(...refused.map((f) => Number(f.retryAfterMs)))}-${Math.max(...refused.map((f) => Number(f.retryAfterMs)))}); other account ${bobAnswers.length}/${bobIds.length} acknowledged`,
    );
  }, 120_000);
});

describe('the HTTP API shares the account\'s order bucket', () => {
  it('a flood of POST /api/orders/execute gets 429 with Retry-After and the RATE_LIMITED body, creating nothing for it', async () => {
    const FLOOD = 25;
    const post = async (clientOrderId: string) => {
      const response = await fetch(`${e2e().httpUrl}/api/orders/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': e2e().keys.carol as string },
        body: JSON.stringify({ side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '5', clientOrderId }),
      });
      return { clientOrderId, status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> };
    };
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: FLOOD }, (_, n) => post(`http-flood-${n}`)));
    const elapsedS = (Date.now() - started) / 1000;
    const accepted = answers.filter((answer) => answer.status === 202);
    const refused = answers.filter((answer) => answer.status !== 202);
    expect(accepted.length).toBeGreaterThanOrEqual(ORDERS_BURST);
    expect(accepted.length).toBeLessThanOrEqual(ORDERS_BURST + Math.ceil(ORDERS_PER_SECOND * elapsedS));
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      const error = answer.body.error as { code: string; retryAfterMs: number };
      expect(error.code).toBe('RATE_LIMITED');
      expect(error.retryAfterMs).toBeGreaterThan(0);
      // Retry-After is in whole seconds, rounded up from retryAfterMs.
      expect(answer.retryAfter).toBe(String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
    }
    const carolOrders = (await allOrders()).filter((item) => item.owner === 'carol' && String(item.clientOrderId).startsWith('http-flood-'));
    expect(new Set(carolOrders.map((item) => item.clientOrderId))).toEqual(new Set(accepted.map((answer) => answer.clientOrderId)));
  }, 60_000);
});

describe('messages per connection', () => {
  it('a flood of messages on one connection is limited, every route counted; another connection of the account is not', async () => {
    const flooded = await connect('carol');
    const other = await connect('carol');
    const started = Date.now();
    const answer = (): Promise<AnyFrame> => flooded.next((frame) => frame.type === 'error' || frame.type === 'quote', 30_000);
    // First spend the burst with quotes and wait for every answer.
    const SPEND = MESSAGES_BURST + 10;
    for (let n = 0; n < SPEND; n++) flooded.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 1 });
    const first: AnyFrame[] = [];
    for (let n = 0; n < SPEND; n++) first.push(await answer());
    // Then one of each kind at once, round after round, until each kind has met a refusal (the bucket refills at
    // MESSAGES_PER_SECOND while the flood goes on, so this ends within a few rounds; at most 10).
    const second: AnyFrame[] = [];
    const refusedKinds = new Set<string>();
    for (let round = 0; round < 10 && refusedKinds.size < 3; round++) {
      flooded.send({ action: 'subscribe', orderId: '01JD0000000000000000000000' });
      flooded.send('not json');
      flooded.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 1 });
      for (let n = 0; n < 3; n++) {
        const frame = await answer();
        second.push(frame);
        if (frame.code === 'RATE_LIMITED') refusedKinds.add(String(frame.action ?? '$default'));
      }
    }
    const elapsedS = (Date.now() - started) / 1000;
    other.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 1 });
    expect((await other.next()).type).toBe('quote');

    const answers = [...first, ...second];
    const FLOOD = answers.length;
    const limited = answers.filter((frame) => frame.code === 'RATE_LIMITED');
    const served = answers.filter((frame) => frame.code !== 'RATE_LIMITED');
    expect(first.some((frame) => frame.code === 'RATE_LIMITED')).toBe(true);
    for (const frame of limited) {
      expect(frame.retryAfterMs as number).toBeGreaterThan(0);
      expect(String(frame.message)).toMatch(/messages on this connection/);
    }
    // Every kind of message was counted, the unparseable ones ($default) included.
    expect(refusedKinds).toEqual(new Set(['subscribe', '$default', 'quote']));
    // The bucket's bound: the burst, the rate over the whole run, and the credit of the moments between $connect and
    // the first message (an idle bucket is raised to now only after the write that found it idle).
    expect(served.length).toBeGreaterThanOrEqual(MESSAGES_BURST);
    expect(served.length).toBeLessThanOrEqual(MESSAGES_BURST + Math.ceil(MESSAGES_PER_SECOND * elapsedS) + 2);
    for (const frame of served) expect(['NOT_FOUND', 'BAD_REQUEST', undefined]).toContain(frame.code);
    console.info(`admission: ${FLOOD} messages in ${(elapsedS * 1000).toFixed(0)} ms on one connection: ${served.length} served, ${limited.length} RATE_LIMITED`);
  }, 60_000);
});

describe('connections per account', () => {
  it('a connection over the cap is refused with 429 and leaves no row; closing one makes room', async () => {
    const dave = [await connect('dave'), await connect('dave'), await connect('dave')];
    await expect(TestClient.connect(e2e().wsUrl, e2e().keys.dave)).rejects.toEqual(new ConnectRefused(429));
    expect(await connectionRow((row) => row.owner === 'dave')).toHaveLength(CONNECTIONS);
    // Another account is not held back by dave's.
    await connect('erin');

    await (dave[0] as TestClient).close();
    // $disconnect runs once the socket is closed: the place frees shortly after.
    const deadline = Date.now() + 10_000;
    let fourth: TestClient | undefined;
    while (!fourth && Date.now() < deadline) {
      fourth = await connect('dave').catch((error: unknown) => {
        if (!(error instanceof ConnectRefused) || error.status !== 429) throw error;
        return undefined;
      });
      if (!fourth) await sleep(100);
    }
    expect(fourth).toBeDefined();
    expect(await connectionRow((row) => row.owner === 'dave')).toHaveLength(CONNECTIONS);
    expect(await limitsItem('dave')).toMatchObject({ connections: CONNECTIONS });
  }, 60_000);
});
