import { expect, it } from 'vitest';
import { TestClient, type AnyFrame } from './support/ws-client';
import { e2e, ordersStillOpen } from './support/stack';

/*
 * Issue 10, section 1: a burst (a bot rebalancing, a front end after a reconnect) is acknowledged in full. 200
 * `execute` messages are sent at once over 4 connections of 4 accounts; each must be answered by its own `pending`
 * frame (seq 1), none by an error, and every order must end terminal.
 */
const ORDERS = 200;

it('a burst of 200 orders sent at once over 4 connections gets 200 acknowledgements and no error', async () => {
  const accounts = ['alice', 'bob', 'carol', 'dave'];
  const clients = await Promise.all(accounts.map((account) => TestClient.connect(e2e().wsUrl, e2e().keys[account])));
  const tag = Date.now().toString(36);
  const answers = await Promise.all(
    Array.from({ length: ORDERS }, (_, n) => {
      const client = clients[n % clients.length] as TestClient;
      const clientOrderId = `burst-${tag}-${n}`;
      client.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '5', clientOrderId });
      return client.next((f: AnyFrame) => f.clientOrderId === clientOrderId, 60_000);
    }),
  );
  const errors = answers.filter((frame) => frame.type === 'error');
  if (errors.length) console.error('burst errors:', JSON.stringify(errors.slice(0, 3)));
  expect(errors).toEqual([]);
  expect(answers.every((frame) => frame.type === 'order' && frame.status === 'pending' && frame.seq === 1)).toBe(true);
  expect(new Set(answers.map((frame) => frame.orderId)).size).toBe(ORDERS);
  expect(await ordersStillOpen(90_000)).toEqual([]);
  await Promise.all(clients.map((client) => client.close()));
}, 180_000);
