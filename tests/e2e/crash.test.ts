import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnStack, type RunningStack } from './support/spawn-stack';
import { TestClient } from './support/ws-client';
import { allOrders, offlinePid, transactionsOf, useStack, queueDepth, e2e } from './support/stack';
import { waitForTcp } from '../../infra/env';

/*
 * Fault matrix 10: the Lambda host (serverless-offline) is killed with SIGKILL while 200 orders are in flight; SQS
 * and DynamoDB keep running, as they do on AWS. The stack's supervisor restarts the host; redelivered messages take
 * over the orders (reconciling by signature where a transaction was already sent). This stack runs the realistic
 * latency profile so that orders really are mid-flight, with the random chain failures off so "one transaction per
 * order" is exact, and a short visibility timeout so the retry window fits in the test.
 */
let running: RunningStack;
const ORDERS = 200;
const VISIBILITY_SECONDS = 12;

beforeAll(async () => {
  running = await spawnStack('crash', {
    MOCK_PROFILE: 'realistic',
    MOCK_FAILURE_RATES: 'blockhashExpired=0,ambiguousTimeout=0,rpcTimeout=0,venue5xx=0',
    EXECUTION_TIMEOUT_SECONDS: '10',
    ORDERS_VISIBILITY_TIMEOUT_SECONDS: String(VISIBILITY_SECONDS),
  });
  useStack(running.stack);
}, 90_000);

afterAll(async () => {
  useStack(undefined);
  await running?.stop();
}, 30_000);

it('kill -9 of the Lambda host with 200 orders in flight: every order terminal, none executed twice, none stuck', async () => {
  const accounts = ['alice', 'bob', 'carol', 'dave'];
  const clients = await Promise.all(accounts.map((account) => TestClient.connect(e2e().wsUrl, e2e().keys[account])));
  const orderIds = await Promise.all(
    Array.from({ length: ORDERS }, async (_, n) => {
      const client = clients[n % clients.length] as TestClient;
      const clientOrderId = `crash-${n}`;
      client.send({ action: 'execute', side: n % 2 ? 'sell' : 'buy', tokenIn: n % 2 ? 'SOL' : 'USDC', tokenOut: n % 2 ? 'USDC' : 'SOL', amount: n % 2 ? '0.25' : 40, clientOrderId });
      const pending = await client.next((f) => f.type === 'order' && f.clientOrderId === clientOrderId && f.status === 'pending', 30_000);
      return String(pending.orderId);
    }),
  );
  // Let executions get under way, then kill the host mid-flight.
  await new Promise((resolve) => setTimeout(resolve, 800));
  const before = await allOrders();
  const inFlight = before.filter((order) => !['confirmed', 'failed'].includes(String(order.status))).length;
  // The kill must catch orders mid-flight, or this test proves nothing about taking them over.
  expect(inFlight).toBeGreaterThan(0);
  const killedPid = offlinePid();
  const killedAt = Date.now();
  process.kill(killedPid, 'SIGKILL');

  // The supervisor restarts the host on a new pid.
  const restartDeadline = Date.now() + 30_000;
  while (offlinePid() === killedPid && Date.now() < restartDeadline) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(offlinePid()).not.toBe(killedPid);
  expect(await waitForTcp(Number(new URL(e2e().wsUrl).port), 10_000)).toBe(true);
  const restartedMs = Date.now() - killedAt;

  // Within the retry window (visibility timeout + backoffs + execution), every order is terminal.
  const deadline = Date.now() + 120_000;
  let orders = await allOrders();
  while (orders.some((order) => !['confirmed', 'failed'].includes(String(order.status))) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    orders = await allOrders();
  }
  const terminalMs = Date.now() - killedAt;
  const mine = orders.filter((order) => orderIds.includes(String(order.orderId)));
  expect(mine).toHaveLength(ORDERS);
  const stuck = mine.filter((order) => !['confirmed', 'failed'].includes(String(order.status)));
  if (stuck.length) console.error('stuck:', JSON.stringify(stuck.map(({ orderId, status, seq, attempt, leaseUntilMs, leaseHolder, tx, lastError, updatedAtMs }) => ({ orderId, status, seq, attempt, leaseUntilMs, leaseHolder, signature: (tx as { signature?: string } | undefined)?.signature, lastError, updatedAtMs })), null, 1));
  expect(stuck).toEqual([]);

  // Executed at most once on chain: exactly one transaction per order (random chain failures are off).
  const transactions = await Promise.all(orderIds.map((orderId) => transactionsOf(orderId)));
  expect(transactions.filter((count) => count !== 1)).toEqual([]);
  const confirmed = mine.filter((order) => order.status === 'confirmed').length;
  const attempts = mine.map((order) => Number(order.attempt));
  /*
   * Every message is consumed. A delivery of an order that another delivery held (the poller's re-invoke after the
   * kill, or SQS's redelivery of the killed batch) comes back when that lease ends and is then deleted: it may still
   * be on its way back when the orders are all terminal, so the queue is given its visibility window to drain.
   */
  const drainDeadline = Date.now() + 30_000;
  while ((await queueDepth('ordersQueue')) > 0 && Date.now() < drainDeadline) await new Promise((resolve) => setTimeout(resolve, 500));
  expect(await queueDepth('ordersQueue')).toBe(0);
  expect(await queueDepth('ordersDlq')).toBe(0);

  // The owner can always learn the outcome: a new connection's subscribe replays the terminal frame.
  const back = await TestClient.connect(e2e().wsUrl, e2e().keys.alice);
  const sample = orderIds.filter((_, n) => n % clients.length === 0).slice(0, 10);
  for (const orderId of sample) {
    back.send({ action: 'subscribe', orderId });
    const replay = await back.next((f) => f.type === 'order' && f.orderId === orderId);
    expect(['confirmed', 'failed']).toContain(replay.status);
  }
  await back.close();
  await Promise.all(clients.map((client) => client.close()));
  console.info(
    `crash: ${ORDERS} orders, ${inFlight} in flight at the kill; host back in ${restartedMs} ms; all terminal ${terminalMs} ms after the kill; ` +
      `${confirmed} confirmed; max attempt ${Math.max(...attempts)}; 1 transaction each`,
  );
}, 210_000);
