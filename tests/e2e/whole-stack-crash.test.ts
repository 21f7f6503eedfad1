import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { spawnStack, type RunningStack } from './support/spawn-stack';
import { TestClient } from './support/ws-client';
import { allOrders, queueDepth, transactionsOf, useStack, e2e } from './support/stack';

/*
 * Section 2 of issue 10: the whole embedded stack dies at once (kill -9 of `npm start`'s process group: start.ts with
 * fauxqs and the poller, serverless-offline, the DynamoDB Local JVM) with 100 orders in flight, realistic latencies.
 * Started again on the same data directory, every acknowledged order reaches a terminal status, and the mock chain
 * holds exactly one transaction per order (random chain failures off, so "executed at most once" is exact).
 */
const ORDERS = 100;
const STAGE = 'wholecrash';
const dataDir = mkdtempSync(join(tmpdir(), 'engine-wholecrash-data-'));
const env = {
  STACK_IN_MEMORY: 'false',
  STACK_DATA_DIR: dataDir,
  MOCK_PROFILE: 'realistic',
  MOCK_FAILURE_RATES: 'blockhashExpired=0,ambiguousTimeout=0,rpcTimeout=0,venue5xx=0',
  // A lease held by the dead run expires soon, and a message back on the queue is seen again soon.
  EXECUTION_TIMEOUT_SECONDS: '5',
  ORDERS_VISIBILITY_TIMEOUT_SECONDS: '12',
};
let first: RunningStack | undefined;
let second: RunningStack | undefined;

afterAll(async () => {
  useStack(undefined);
  await first?.stop();
  await second?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

const isTerminal = (order: Record<string, unknown>): boolean => ['confirmed', 'failed'].includes(String(order.status));

it('kill -9 of the whole stack with 100 orders in flight: after a restart on its data, every order terminal, one transaction each', async () => {
  first = await spawnStack(STAGE, env);
  useStack(first.stack);
  const accounts = ['alice', 'bob', 'carol', 'dave'];
  const clients = await Promise.all(accounts.map((account) => TestClient.connect(e2e().wsUrl, e2e().keys[account])));
  const placed = await Promise.all(
    Array.from({ length: ORDERS }, async (_, n) => {
      const client = clients[n % clients.length] as TestClient;
      const clientOrderId = `whole-${n}`;
      client.send({ action: 'execute', side: n % 2 ? 'sell' : 'buy', tokenIn: n % 2 ? 'SOL' : 'USDC', tokenOut: n % 2 ? 'USDC' : 'SOL', amount: n % 2 ? '0.25' : 40, clientOrderId });
      const pending = await client.next((f) => f.clientOrderId === clientOrderId, 30_000);
      expect(pending).toMatchObject({ type: 'order', status: 'pending', seq: 1 });
      return { orderId: String(pending.orderId), owner: accounts[n % accounts.length] as string };
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 700));
  const before = await allOrders();
  const inFlight = before.filter((order) => !isTerminal(order)).length;
  // The kill must catch orders mid-flight, or this test proves nothing.
  expect(inFlight).toBeGreaterThan(0);

  // The whole process group, as a terminal's kill or an OOM of the session would: no clean shutdown of anything.
  const leader = (JSON.parse(readFileSync(e2e().stateFile, 'utf8')) as { pid: number }).pid;
  process.kill(-leader, 'SIGKILL');
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await first.stop();
  first = undefined;

  second = await spawnStack(STAGE, env);
  useStack(second.stack);
  const deadline = Date.now() + 90_000;
  let orders = await allOrders();
  const mine = (): Record<string, unknown>[] => orders.filter((order) => placed.some((p) => p.orderId === order.orderId));
  while (mine().some((order) => !isTerminal(order)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    orders = await allOrders();
  }
  // None missing, none stuck.
  expect(mine()).toHaveLength(ORDERS);
  expect(mine().filter((order) => !isTerminal(order)).map((order) => `${String(order.orderId)}:${String(order.status)}`)).toEqual([]);
  // Executed at most once on chain (and, with random failures off, exactly once).
  const transactions = await Promise.all(placed.map(({ orderId }) => transactionsOf(orderId)));
  expect(transactions.filter((count) => count !== 1)).toEqual([]);

  // Each owner, reconnected to the new stack, can subscribe to every order it placed and sees its terminal frame.
  for (const account of accounts) {
    const client = await TestClient.connect(e2e().wsUrl, e2e().keys[account]);
    for (const { orderId } of placed.filter((p) => p.owner === account)) {
      client.send({ action: 'subscribe', orderId });
      const replay = await client.next((f) => f.type === 'order' && f.orderId === orderId, 10_000);
      expect(['confirmed', 'failed']).toContain(replay.status);
    }
    await client.close();
  }
  expect(await queueDepth('ordersDlq')).toBe(0);
  console.info(`whole-stack crash: ${ORDERS} orders, ${inFlight} in flight at the kill; all terminal after the restart, 1 transaction each`);
}, 240_000);
