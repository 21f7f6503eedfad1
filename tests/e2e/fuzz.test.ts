import { afterAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { TestClient, type AnyFrame } from './support/ws-client';
import { allOrders, e2e, ordersStillOpen } from './support/stack';

/*
 * Bad input at volume (issue 5): at least 1,000 generated and mutated frames over real WebSocket connections. Each one
 * gets exactly one well-formed answer (an `error` frame with a stable code, a `quote`, or the `pending` frame of a
 * valid order); the stack keeps answering; and no order exists that was not validly requested.
 */
afterAll(async () => {
  // The fuzz's valid orders execute too, and must all end terminal.
  expect(await ordersStillOpen()).toEqual([]);
}, 40_000);

const FRAMES = 1_000;
const CONNECTIONS = 4;
// PROTOCOL.md's error codes, plus the routing outcomes a `quote` can meet (the same codes an order would fail with).
const ERROR_CODES = ['BAD_REQUEST', 'UNKNOWN_ACTION', 'VALIDATION_FAILED', 'UNKNOWN_TOKEN', 'NOT_FOUND', 'FORBIDDEN', 'RATE_LIMITED', 'INTERNAL', 'NO_ROUTE', 'INSUFFICIENT_LIQUIDITY'];

let unique = 0;
const tokens = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('SOL', 'USDC') }, { weight: 1, arbitrary: fc.constantFrom('SOL', 'USDC', 'USDT', 'BONK', 'JUP', 'RAY', 'sol', 'DOGE', '', 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', 'So11111111111111111111111111111111111111112') });
const amounts = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 500 }) },
  fc.double({ min: -10, max: 1e6, noNaN: false }),
  fc.integer({ min: -5, max: 10_000 }),
  fc.constantFrom('1', '0.000001', '1e3', '0', '-1', '1.2.3', ' 5 ', '0x10', '9'.repeat(40), '100.1234567891'),
);
const baseOrder = fc.record({
  action: fc.constantFrom('execute', 'quote'),
  side: fc.constantFrom('buy', 'sell', 'BUY', 'hold'),
  tokenIn: tokens,
  tokenOut: tokens,
  amount: amounts,
  slippage: fc.oneof(fc.double({ min: -1, max: 60 }), { weight: 3, arbitrary: fc.constantFrom(0.5, 1, 3, 50) }),
});

type Mutation = (order: Record<string, unknown>) => unknown;
// Half the frames are near-valid (unmutated), so accepted orders and quotes are exercised, not only rejections.
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Mutation>((order) => order) },
  fc.constantFrom('action', 'side', 'tokenIn', 'tokenOut', 'amount', 'slippage').map<Mutation>((key) => (order) => {
    const { [key]: _dropped, ...rest } = order;
    return rest;
  }),
  fc.tuple(fc.constantFrom('action', 'side', 'tokenIn', 'tokenOut', 'amount', 'slippage', 'clientOrderId', 'orderId', 'extra'), fc.jsonValue()).map<Mutation>(
    ([key, value]) => (order) => ({ ...order, [key]: value }),
  ),
  fc.constant<Mutation>((order) => [order]),
  fc.constant<Mutation>((order) => JSON.stringify(order).slice(0, 17)),
  fc.string({ maxLength: 200 }).map<Mutation>((text) => () => text),
  fc.constant<Mutation>(() => ({ action: 'subscribe', orderId: '01JD0000000000000000000000' })),
  fc.constant<Mutation>(() => ({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 1, pad: 'x'.repeat(40_000) })),
  fc.constant<Mutation>(() => '{"action":"execute","__proto__":{"polluted":true},"side":"buy"}'),
);

const frames = fc.sample(fc.tuple(baseOrder, mutation), { numRuns: FRAMES, seed: 20261125 }).map(([order, mutate]) => {
  const mutated = mutate({ ...order });
  // A valid-looking execute gets a unique clientOrderId, so its answer is its own `pending` frame.
  if (mutated && typeof mutated === 'object' && !Array.isArray(mutated) && (mutated as { action?: unknown }).action === 'execute' && Math.random() < 0.5) {
    (mutated as Record<string, unknown>).clientOrderId = `fuzz-${unique++}`;
  }
  return typeof mutated === 'string' ? mutated : JSON.stringify(mutated);
});

const isAnswer = (frame: AnyFrame): boolean => frame.type === 'error' || frame.type === 'quote' || (frame.type === 'order' && frame.status === 'pending');

it(`answers ${FRAMES} generated and mutated frames one by one, and creates only the orders validly requested`, async () => {
  const before = (await allOrders()).filter((order) => order.owner === 'fuzz').length;
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => TestClient.connect(e2e().wsUrl, e2e().keys.fuzz)));
  const accepted = new Set<string>();
  const codes = new Map<string, number>();
  const started = Date.now();
  await Promise.all(
    clients.map(async (client, index) => {
      for (let n = index; n < frames.length; n += CONNECTIONS) {
        client.send(frames[n] as string);
        const answer = await client.next(isAnswer, 15_000);
        if (answer.type === 'error') {
          expect(ERROR_CODES).toContain(answer.code);
          expect(typeof answer.message).toBe('string');
          expect(answer.code).not.toBe('INTERNAL');
          codes.set(String(answer.code), (codes.get(String(answer.code)) ?? 0) + 1);
        } else if (answer.type === 'order') {
          accepted.add(String(answer.orderId));
          codes.set('pending', (codes.get('pending') ?? 0) + 1);
        } else {
          codes.set('quote', (codes.get('quote') ?? 0) + 1);
        }
      }
    }),
  );
  const elapsedMs = Date.now() - started;
  for (const client of clients) expect(client.closed).toBe(false);

  // Still answering after the storm.
  clients[0]!.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 1 });
  expect((await clients[0]!.next((frame) => frame.type === 'quote')).type).toBe('quote');

  // Exactly the orders that were acknowledged exist for this owner.
  const orders = (await allOrders()).filter((order) => order.owner === 'fuzz');
  expect(orders.length - before).toBe(accepted.size);
  const created = orders.filter((order) => Number(order.createdAtMs) >= started).map((order) => String(order.orderId));
  expect(new Set(created)).toEqual(accepted);
  await Promise.all(clients.map((client) => client.close()));
  console.info(`fuzz: ${FRAMES} frames in ${elapsedMs} ms over ${CONNECTIONS} connections; answers ${JSON.stringify(Object.fromEntries(codes))}`);
}, 180_000);
