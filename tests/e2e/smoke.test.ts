import { afterEach, describe, expect, it } from 'vitest';
import { ConnectRefused, TestClient, seqs, statuses } from './support/ws-client';
import { e2e } from './support/stack';
import type { OrderFrame } from '../../lib/notify/frames';
import { canTransition, type OrderStatus } from '../../lib/orders/state-machine';

/*
 * Smoke tests that need nothing but the WebSocket URL and one API key: the deploy workflow runs this file against a
 * stage on AWS (E2E_WS_URL, E2E_API_KEY; tests/e2e/global-setup.ts), and the e2e project runs it against the embedded
 * stack like every other file. No table or queue is read here: on AWS the runner has no business in them.
 */
const open: TestClient[] = [];
const connect = async (): Promise<TestClient> => {
  const client = await TestClient.connect(e2e().wsUrl, e2e().devKey);
  open.push(client);
  return client;
};

afterEach(async () => {
  const stray = await Promise.all(open.map((client) => client.strayFrames()));
  await Promise.all(open.splice(0).map((client) => client.close()));
  expect(stray.flat()).toEqual([]);
});

const run = `smoke-${Date.now().toString(36)}`;
let counter = 0;
const order = (overrides: Record<string, unknown> = {}) => ({
  action: 'execute',
  side: 'buy',
  tokenIn: 'USDC',
  tokenOut: 'SOL',
  amount: '10',
  slippage: 1,
  clientOrderId: `${run}-${counter++}`,
  ...overrides,
});


describe('smoke', () => {
  it('refuses a connection without a valid key (401)', async () => {
    await expect(TestClient.connect(e2e().wsUrl, `sk_smoke-${run}-unknown`)).rejects.toEqual(new ConnectRefused(401));
  });

  it('an order goes from pending to a terminal status, seq 1..n, each step one the protocol allows', async () => {
    const client = await connect();
    const request = order();
    client.send(request);
    const pending = (await client.next((f) => f.type === 'order' && f.clientOrderId === request.clientOrderId)) as unknown as OrderFrame;
    expect(pending.status).toBe('pending');
    const frames = [pending, ...(await client.orderFrames(pending.orderId, 60_000))];
    expect(seqs(frames)).toEqual(frames.map((_, i) => i + 1));
    const path = statuses(frames);
    expect(['confirmed', 'failed']).toContain(path.at(-1));
    // Each step one the lifecycle allows (a retry goes back to pending with the next attempt).
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1] as OrderStatus, path[i] as OrderStatus), path.join(' -> ')).toBe(true);
    // The happy path passes through every status (a failed order may stop anywhere).
    if (path.at(-1) === 'confirmed') expect(path).toEqual(expect.arrayContaining(['pending', 'routing', 'building', 'submitted', 'confirmed']));
  });

  it('answers bad input with an error frame naming the field, and keeps the socket serving', async () => {
    const client = await connect();
    client.send(order({ amount: 0 }));
    const error = await client.nextError();
    expect(error).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
    expect((error.details as { path: string }[]).map((d) => d.path)).toContain('amount');
    client.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 1 });
    expect((await client.next()).type).toBe('quote');
    expect(client.closed).toBe(false);
  });
});
