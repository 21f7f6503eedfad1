import { afterAll, beforeAll, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { spawnStack, type RunningStack } from './support/spawn-stack';
import { TestClient } from './support/ws-client';
import { allOrders, e2e, names, offlinePid, queueDepth, useStack } from './support/stack';
import { waitForTcp } from '../../infra/env';
import { DEFAULT_MOCK_SEED } from '../../lib/config';
import { setMarketSeed } from '../../lib/venues/market';
import { statusOf, type TxRecord } from '../../lib/chain/cluster';
import { heldFrom, planCrossing, reachedAt, type Crossing } from '../support/market-crossing';
import { WATCH_TICK_MS } from '../../lib/orders/watcher';

/*
 * Fault matrix, limit orders (issue 13): the Lambda host (serverless-offline) is killed with SIGKILL while 50 resting
 * limit orders trigger, the watcher's messages mid-execution; SQS and DynamoDB keep running, as on AWS. The stack's
 * supervisor restarts the host; redelivered messages take the orders over (an interrupted attempt that sent nothing
 * goes back to `open` for the watcher to trigger again, one that sent its transaction is reconciled by signature).
 *
 * The market is a pure function of the seed and the clock (the stack runs the default seed), so the test picks a limit
 * the real-clock market reaches some seconds after the orders are placed and stays past for a while
 * (tests/support/market-crossing.ts). Realistic latencies so that orders really are mid-flight at the kill, random
 * chain failures off, and every order carries an expiresAt so that one the market leaves behind still ends, bounded.
 */
setMarketSeed(DEFAULT_MOCK_SEED);

let running: RunningStack;
const ORDERS = 50;
const ACCOUNTS = ['alice', 'bob', 'carol', 'dave'];
const TERMINAL = ['confirmed', 'failed', 'cancelled', 'expired'];
const IN_FLIGHT = ['routing', 'building', 'submitted'];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  running = await spawnStack('limitcrash', {
    MOCK_PROFILE: 'realistic',
    MOCK_FAILURE_RATES: 'blockhashExpired=0,ambiguousTimeout=0,rpcTimeout=0,venue5xx=0',
    EXECUTION_TIMEOUT_SECONDS: '10',
    ORDERS_VISIBILITY_TIMEOUT_SECONDS: '12',
  });
  useStack(running.stack);
}, 90_000);

afterAll(async () => {
  useStack(undefined);
  await running?.stop();
}, 30_000);

/** The mock chain's ledger records of an order (the byOrder index, then each record whole). */
const ledgerRecordsOf = async (db: DynamoDBDocumentClient, orderId: string): Promise<TxRecord[]> => {
  const { Items = [] } = await db.send(
    new QueryCommand({ TableName: names().ledger, IndexName: 'byOrder', KeyConditionExpression: 'orderId = :o', ExpressionAttributeValues: { ':o': orderId } }),
  );
  const records = await Promise.all(
    Items.map(async (item) => (await db.send(new GetCommand({ TableName: names().ledger, Key: { signature: item.signature }, ConsistentRead: true }))).Item),
  );
  return records.filter((record): record is Record<string, unknown> => record !== undefined) as unknown as TxRecord[];
};

/**
 * A limit the market reaches a few seconds from now and holds past from then on (long holds first); planned again a
 * little later if none. Holds of 30 s or more are preferred, so that most interrupted attempts find the market still
 * past the limit when they are triggered again; the short ones keep the plan from failing in a choppy hour (scanned
 * over two days of the seeded market at 17-minute steps: a plan at the first try from 167 of 170 start times, within
 * the two minutes of tries from all). The re-trigger bound below is measured from when the market is back.
 */
const planTrigger = async (): Promise<Crossing> => {
  for (let tries = 0; tries < 12; tries++) {
    for (const holdsForMs of [45_000, 30_000, 15_000, 5_000]) {
      // A thin margin past the limit is enough here: this test allows a landing that misses on price (the order rests again).
      // From now, so that the orders' placement is inside the checked resting window too.
      const plan = planCrossing(Date.now(), { horizonMs: 75_000, restsForMs: 12_000, holdsForMs, pastBy: 0.0001 });
      if (plan) return plan;
    }
    await sleep(10_000);
  }
  throw new Error('the seeded market crossed no limit within 75 s for two minutes');
};

it(`kill -9 of the Lambda host while ${ORDERS} limit orders trigger: every order terminal, executed at most once, never worse than its limit`, async () => {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: e2e().dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
  const { order, crossesAtMs } = await planTrigger();
  const limit = Number(order.limitPrice);
  // Long enough for the watcher to trigger again what the kill interrupted; an order left behind still ends.
  const expiresAtMs = crossesAtMs + 90_000;
  const clients = await Promise.all(ACCOUNTS.map((account) => TestClient.connect(e2e().wsUrl, e2e().keys[account])));
  const orderIds = await Promise.all(
    Array.from({ length: ORDERS }, async (_, n) => {
      const client = clients[n % clients.length] as TestClient;
      const clientOrderId = `limitcrash-${n}`;
      client.send({ action: 'execute', type: 'limit', slippage: 1, ...order, expiresAt: new Date(expiresAtMs).toISOString(), clientOrderId });
      const pending = await client.next((f) => f.type === 'order' && f.clientOrderId === clientOrderId, 30_000);
      expect(pending.status).toBe('pending');
      return String(pending.orderId);
    }),
  );
  const mine = async (): Promise<Record<string, unknown>[]> => (await allOrders()).filter((o) => orderIds.includes(String(o.orderId)));

  // All resting before the market gets there (the plan leaves 12 s).
  const openDeadline = Date.now() + 20_000;
  let orders = await mine();
  while (orders.some((o) => o.status !== 'open') && Date.now() < openDeadline) {
    await sleep(200);
    orders = await mine();
  }
  expect(orders.map((o) => o.status)).toEqual(orderIds.map(() => 'open'));
  const restingBeforeMs = crossesAtMs - Date.now();
  expect(restingBeforeMs).toBeGreaterThan(0);

  // The watcher triggers them when the market gets there: kill the host once the first ones are mid-execution, at the
  // first one sent (`submitted`: its takeover reconciles by signature) or 3 s after the first trigger was seen.
  const triggerDeadline = crossesAtMs + 15_000;
  let firstSeenMs: number | undefined;
  for (;;) {
    const inFlightNow = orders.filter((o) => IN_FLIGHT.includes(String(o.status)));
    if (inFlightNow.length > 0) firstSeenMs ??= Date.now();
    if (inFlightNow.some((o) => o.status === 'submitted') || (firstSeenMs !== undefined && Date.now() - firstSeenMs > 3_000)) break;
    if (Date.now() > triggerDeadline) break;
    await sleep(50);
    orders = await mine();
  }
  const killedPid = offlinePid();
  const killedAt = Date.now();
  process.kill(killedPid, 'SIGKILL');
  const triggerLagMs = killedAt - crossesAtMs;
  // What the kill left: orders mid-execution (their invocations died with the host), and how far the others got.
  await sleep(300);
  const atKill = await mine();
  const countOf = (list: Record<string, unknown>[], statuses: string[]): number => list.filter((o) => statuses.includes(String(o.status))).length;
  const inFlight = countOf(atKill, IN_FLIGHT);
  const submittedAtKill = countOf(atKill, ['submitted']);
  const stillOpen = countOf(atKill, ['open']);
  const doneAtKill = countOf(atKill, TERMINAL);
  // The kill must catch orders mid-execution, or this test proves nothing about taking them over. If it did not, say
  // what it caught: whether the watcher triggered nothing by the deadline, or everything had already ended.
  const statusCounts = Object.fromEntries([...new Set(atKill.map((o) => String(o.status)))].map((status) => [status, countOf(atKill, [status])]));
  expect(inFlight, JSON.stringify({ triggerLagMs, firstSeenAfterCrossingMs: firstSeenMs === undefined ? null : firstSeenMs - crossesAtMs, statusCounts, limit: order })).toBeGreaterThan(0);

  // The supervisor restarts the host on a new pid.
  const restartDeadline = Date.now() + 30_000;
  while (offlinePid() === killedPid && Date.now() < restartDeadline) await sleep(100);
  expect(offlinePid()).not.toBe(killedPid);
  expect(await waitForTcp(Number(new URL(e2e().wsUrl).port), 10_000)).toBe(true);
  const restartedMs = Date.now() - killedAt;

  // Every order ends: executed, or expired at the latest (the watcher expires a resting order at expiresAt).
  const terminalDeadline = Math.max(Date.now() + 60_000, expiresAtMs + 30_000);
  orders = await mine();
  while (orders.some((o) => !TERMINAL.includes(String(o.status))) && Date.now() < terminalDeadline) {
    await sleep(500);
    orders = await mine();
  }
  const terminalMs = Date.now() - killedAt;
  expect(orders).toHaveLength(ORDERS);
  const stuck = orders.filter((o) => !TERMINAL.includes(String(o.status)));
  if (stuck.length) console.error('stuck:', JSON.stringify(stuck.map(({ orderId, status, seq, attempt, leaseUntilMs, leaseHolder, updatedAtMs }) => ({ orderId, status, seq, attempt, leaseUntilMs, leaseHolder, updatedAtMs })), null, 1));
  expect(stuck).toEqual([]);

  const nowMs = Date.now();
  let transactions = 0;
  for (const o of orders) {
    const orderId = String(o.orderId);
    const history = (o.history ?? []) as Array<{ status: string; seq: number; meta: Record<string, unknown> }>;
    // Ended exactly once: seqs 1..n with no gap, one terminal frame, the last.
    expect(history.map((f) => f.seq), orderId).toEqual(history.map((_, k) => k + 1));
    expect(history.filter((f) => TERMINAL.includes(f.status)).map((f) => f.status), orderId).toEqual([o.status]);
    const records = await ledgerRecordsOf(db, orderId);
    transactions += records.length;
    // Executed at most once on chain: at most one of its transactions landed and swapped.
    const swapped = records.filter((record) => statusOf(record, nowMs).state === 'confirmed');
    if (o.status === 'confirmed') {
      expect(swapped.map((record) => record.signature), orderId).toEqual([(o.tx as { signature: string }).signature]);
      const executedPrice = Number((history.at(-1)?.meta ?? {}).executedPrice);
      if (order.side === 'buy') expect(executedPrice, orderId).toBeLessThanOrEqual(limit);
      else expect(executedPrice, orderId).toBeGreaterThanOrEqual(limit);
    } else {
      expect(swapped, orderId).toEqual([]);
      // Never triggered, or every attempt's transaction failed on chain (a price that moved back): nothing swapped.
      if (!history.some((f) => f.status === 'submitted')) expect(records, orderId).toEqual([]);
    }
  }
  // When each order's last attempt started (its last routing frame), after the host came back.
  const routedAfterBackMs = orders
    .map((o) => ((o.history ?? []) as Array<{ status: string; at: string }>).filter((f) => f.status === 'routing').at(-1))
    .filter((f): f is { status: string; at: string } => f !== undefined)
    .map((f) => Date.parse(f.at) - (killedAt + restartedMs))
    .sort((a, b) => a - b);
  /*
   * An attempt the kill interrupted before it sent anything goes back to `open` when its lease ends, for the watcher
   * to trigger again: the watcher died with the host and runs again with it (infra/start.ts), so that is a tick away,
   * not the schedule's next minute, once the market is past the limit. The gap is measured from the later of the
   * `open` frame and the market's next lasting reach of the limit (the seeded market, read as the engine reads it):
   * the plan prefers a market that stays past, but a choppy one may have moved back meanwhile.
   */
  const retriggerGapsMs: number[] = [];
  // What a slow re-trigger looked like, to tell a watcher that was not running from an execution that waited.
  const slowRetriggers: Array<{ orderId: string; openAt: string; backAt: string; routedAt: string; frames: string[] }> = [];
  let priceMisses = 0;
  for (const o of orders) {
    const history = (o.history ?? []) as Array<{ status: string; at: string; meta: { lastError?: { code: string } } }>;
    history.forEach((f, k) => {
      if (f.status !== 'open' || !history.slice(0, k).some((g) => g.status === 'routing')) return;
      // Back to open after a landing that failed on price (the market moved against the limit meanwhile): the limit
      // held, and the trigger waits for the market, not only for the watcher.
      if (f.meta.lastError?.code !== 'ATTEMPT_INTERRUPTED') {
        priceMisses += f.meta.lastError?.code === 'SLIPPAGE_EXCEEDED' ? 1 : 0;
        return;
      }
      const next = history.slice(k + 1).find((g) => g.status === 'routing' || TERMINAL.includes(g.status));
      if (next?.status !== 'routing') return;
      // Back means back for two watcher ticks: a shorter touch may rightly fall between ticks, and a gap counted from
      // it would read as a slow re-trigger. An order triggered on such a touch is measured from the touch.
      const openAtMs = Date.parse(f.at);
      const untilNextMs = Date.parse(next.at) - openAtMs;
      const backAtMs = heldFrom(order, openAtMs, untilNextMs, 2 * WATCH_TICK_MS) ?? reachedAt(order, openAtMs, untilNextMs) ?? openAtMs;
      retriggerGapsMs.push(Date.parse(next.at) - backAtMs);
      if (Date.parse(next.at) - backAtMs > 15_000) {
        const frames = history.map((g) => `${g.at} ${g.status}${g.meta.lastError ? ` ${g.meta.lastError.code}` : ''}`);
        slowRetriggers.push({ orderId: String(o.orderId), openAt: f.at, backAt: new Date(backAtMs).toISOString(), routedAt: next.at, frames });
      }
    });
  }
  const timeline = { killedAt: new Date(killedAt).toISOString(), backAt: new Date(killedAt + restartedMs).toISOString(), slowRetriggers };
  expect(retriggerGapsMs.filter((gap) => gap > 15_000), JSON.stringify(timeline, null, 1)).toEqual([]);
  const confirmed = countOf(orders, ['confirmed']);
  const expired = countOf(orders, ['expired']);
  const attempts = orders.map((o) => Number(o.attempt));

  // Every message is consumed (a redelivered copy comes back when the lease it met ends: its visibility window).
  const drainDeadline = Date.now() + 30_000;
  while ((await queueDepth('ordersQueue')) > 0 && Date.now() < drainDeadline) await sleep(500);
  expect(await queueDepth('ordersQueue')).toBe(0);
  expect(await queueDepth('ordersDlq')).toBe(0);
  await Promise.all(clients.map((client) => client.close()));
  db.destroy();
  console.info(
    `limit trigger crash: ${ORDERS} ${order.side} limits at ${order.limitPrice}, resting ${Math.round(restingBeforeMs / 1000)} s before the market got there; ` +
      `killed ${triggerLagMs} ms after it with ${inFlight} mid-execution (${submittedAtKill} submitted), ${stillOpen} still open, ${doneAtKill} done; ` +
      `host back in ${restartedMs} ms; all terminal ${terminalMs} ms after the kill: ${confirmed} confirmed, ${expired} expired, ` +
      `${ORDERS - confirmed - expired} other; ${transactions} transactions; max attempt ${Math.max(...attempts)}; ` +
      `last routing after the host was back: ${routedAfterBackMs.filter((t) => t >= 0).length} orders, ${routedAfterBackMs.find((t) => t >= 0)}..${routedAfterBackMs.at(-1)} ms; ` +
      `${retriggerGapsMs.length} interrupted attempts back to open, triggered again after ${retriggerGapsMs.length ? `${Math.min(...retriggerGapsMs)}..${Math.max(...retriggerGapsMs)}` : '-'} ms; ` +
      `${priceMisses} landings failed on price (back to open, limit held)`,
  );
  // Most were executed: the market held past the limit long enough for the takeover (expiry is the bound, not the aim).
  expect(confirmed).toBeGreaterThan(0);
}, 300_000);
