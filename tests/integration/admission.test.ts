import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { engineEnv, executeBody, stubDirectPosts, takeMessages, useEngineEnv } from './support/engine';
import { dynamoClient, purgeQueues, resource, sqsClient } from './support/stack';
import { createEngineContext, type EngineContext } from '../../lib/engine';
import { parseConfig } from '../../lib/config';
import { admit, registerConnection, type Charge } from '../../lib/accounts/admission';
import { closeConnection, openConnection } from '../../lib/accounts/connections';
import { hashApiKey } from '../../lib/accounts/api-key';
import { executeOnConnection, placeOrder } from '../../lib/orders/place-order';
import { StoreTurns } from '../../lib/accounts/store-turns';
import { validateExecute } from '../../lib/orders/request';
import { executeOrderMessage } from '../../lib/orders/execute-order';
import { RequestError } from '../../lib/errors';

/*
 * Admission control against DynamoDB Local (PROTOCOL.md v2 "Admission control"): the conditional writes of
 * lib/aws/limits-table.ts make the decisions lib/accounts/admission.ts computes, across "instances" and under
 * concurrency; refusals change nothing; open-order slots and connections are counted and given back.
 * Each test uses its own account, so what one process remembers of an account cannot leak between tests.
 */
const sqs = sqsClient();
const db = DynamoDBDocumentClient.from(dynamoClient());
const limitsTable = (): string => resource('LimitsTable').name;

const LIMITS = {
  LIMIT_ORDERS_PER_SECOND: '5',
  LIMIT_ORDERS_BURST: '3',
  LIMIT_QUOTES_PER_SECOND: '2',
  LIMIT_QUOTES_BURST: '5',
  LIMIT_OPEN_ORDERS: '3',
  LIMIT_CONNECTIONS: '2',
  LIMIT_MESSAGES_PER_SECOND: '10',
  LIMIT_MESSAGES_BURST: '5',
};

/** An engine with the limits above (and overrides) whose clock the test moves. */
const engineAt = (
  overrides: Record<string, string> = {},
  now?: () => number,
): { ctx: EngineContext; clock: { now: number }; writes: () => number } => {
  const clock = { now: Date.now() };
  const ctx = createEngineContext(parseConfig(engineEnv({ ...LIMITS, ...overrides })), { now: now ?? (() => clock.now) });
  stubDirectPosts(ctx);
  let writes = 0;
  const realAdmit = ctx.limits.admit.bind(ctx.limits);
  ctx.limits.admit = (...args) => {
    writes++;
    return realAdmit(...args);
  };
  return { ctx, clock, writes: () => writes };
};

const item = async (accountId: string): Promise<Record<string, unknown> | undefined> =>
  (await db.send(new GetCommand({ TableName: limitsTable(), Key: { accountId }, ConsistentRead: true }))).Item;

/** Another instance moved a bucket: the process's hint about it is now stale. */
const setAttribute = (accountId: string, name: string, value: number) =>
  db.send(new UpdateCommand({ TableName: limitsTable(), Key: { accountId }, UpdateExpression: 'SET #n = :v', ExpressionAttributeNames: { '#n': name }, ExpressionAttributeValues: { ':v': value } }));

const refusal = async (promise: Promise<unknown>): Promise<RequestError> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RequestError);
  return error as RequestError;
};

const newAccount = () => ({ owner: `acct-${randomUUID()}`, connectionId: `conn-${randomUUID()}` });

beforeAll(() => useEngineEnv());
beforeEach(() => purgeQueues(sqs));
afterAll(() => sqs.destroy());

describe('per-connection messages', () => {
  it('admits the burst, then answers RATE_LIMITED with the exact retryAfterMs; a refusal changes nothing; admitted again after it', async () => {
    const { ctx, clock, writes } = engineAt();
    const { owner, connectionId } = newAccount();
    expect(await registerConnection(ctx, owner, connectionId)).toBe(true);
    const message = () => admit(ctx, { owner, connectionId, charge: 'message' });

    for (let n = 0; n < 5; n++) await message();
    expect(writes()).toBe(5);
    const before = await item(owner);
    // 10/s, burst 5: the bucket's tat is now 5 intervals (500 ms) ahead; the tolerance is 400 ms.
    const refused = await refusal(message());
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 100 });
    expect(refused.message).toMatch(/messages on this connection: 10\/s, burst 5/);
    // This process saw the tat with its last write: a certain refusal costs no round trip and changes nothing.
    expect(writes()).toBe(5);
    expect(await item(owner)).toEqual(before);

    clock.now += 99;
    await expect(message()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 1 });
    clock.now += 1;
    await message();
    expect(writes()).toBe(6);
  });

  it('the table refuses what another instance used up, with its retryAfterMs, and changes nothing', async () => {
    const { ctx, clock, writes } = engineAt();
    const { owner, connectionId } = newAccount();
    await registerConnection(ctx, owner, connectionId);
    await admit(ctx, { owner, connectionId, charge: 'message' });
    // Another instance admitted a burst meanwhile: the tat is 650 ms ahead (tolerance 400 ms).
    await setAttribute(owner, `c#${connectionId}`, (clock.now + 650) * 1000);
    const before = await item(owner);
    await expect(admit(ctx, { owner, connectionId, charge: 'message' })).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 250 });
    expect(writes()).toBe(2);
    expect(await item(owner)).toEqual(before);
  });

  it('a concurrent flood on one connection, on the real clock: the burst and the rate are admitted, the rest RATE_LIMITED', async () => {
    const ctx = createEngineContext(parseConfig(engineEnv(LIMITS)));
    const { owner, connectionId } = newAccount();
    await registerConnection(ctx, owner, connectionId);
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => admit(ctx, { owner, connectionId, charge: 'message' })));
    const elapsedS = (Date.now() - started) / 1000;
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as RequestError] : []));
    for (const error of refused) expect(error).toMatchObject({ code: 'RATE_LIMITED' });
    const admitted = results.length - refused.length;
    expect(admitted).toBeGreaterThanOrEqual(5);
    expect(admitted).toBeLessThanOrEqual(5 + Math.ceil(10 * elapsedS));
  });

  it('a connection that is not registered on its account is refused FORBIDDEN', async () => {
    const { ctx } = engineAt();
    const { owner, connectionId } = newAccount();
    await expect(admit(ctx, { owner, connectionId, charge: 'message' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('account buckets', () => {
  it('an idle bucket stores no credit: the admission that finds it behind now raises it to now + interval', async () => {
    const { ctx, clock, writes } = engineAt({ LIMIT_MESSAGES_PER_SECOND: '0' });
    const { owner, connectionId } = newAccount();
    await admit(ctx, { owner, connectionId, charge: 'quote' });
    expect(writes()).toBe(1);
    // An hour later the tat is far behind now: the admission charges it, then raises it to now + one interval (500 ms).
    clock.now += 3_600_000;
    await admit(ctx, { owner, connectionId, charge: 'quote' });
    expect(writes()).toBe(2);
    expect((await item(owner))?.quoteTat).toBe((clock.now + 500) * 1000);
    // So the hour of idleness bought no more than the burst: 4 more at once (burst 5), then RATE_LIMITED.
    for (let n = 0; n < 4; n++) await admit(ctx, { owner, connectionId, charge: 'quote' });
    await expect(admit(ctx, { owner, connectionId, charge: 'quote' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('an idle bucket costs one write; a bucket believed idle that another instance charged costs a second, additive one', async () => {
    const { ctx, clock, writes } = engineAt({ LIMIT_MESSAGES_PER_SECOND: '0' });
    const { owner, connectionId } = newAccount();
    await admit(ctx, { owner, connectionId, charge: 'quote' });
    clock.now += 60_000;
    await admit(ctx, { owner, connectionId, charge: 'quote' });
    expect(writes()).toBe(2);
    expect((await item(owner))?.quoteTat).toBe((clock.now + 500) * 1000);
    // A minute later this process believes the bucket idle, but another instance charged it 200 ms ahead meanwhile:
    // the idle form's condition fails, and the additive form admits (200 ms ahead is within the 2 s tolerance).
    clock.now += 60_000;
    await setAttribute(owner, 'quoteTat', (clock.now + 200) * 1000);
    await admit(ctx, { owner, connectionId, charge: 'quote' });
    expect(writes()).toBe(4);
    expect((await item(owner))?.quoteTat).toBe((clock.now + 200 + 500) * 1000);
  });

  it('a bucket believed idle found charged after two writes spent waiting out stamp skew is still admitted, not UNAVAILABLE', async () => {
    // Seen in CI's flood (tests/e2e/admission.test.ts): an order within the burst answered UNAVAILABLE "the limits item
    // changed under the request", because a wrong idle belief on the third write counted as one write too many.
    // Quotes: 2/s, burst 5 (interval 500 ms, tolerance 2 s). Messages: 10/s, burst 5 (interval 100 ms).
    const { ctx, clock, writes } = engineAt();
    const { owner, connectionId } = newAccount();
    expect(await registerConnection(ctx, owner, connectionId)).toBe(true);
    clock.now += 1_000;
    // Other instances, between this request's writes: twice they leave the quote bucket 50 ms past this one's
    // now + tolerance (each write is refused by a stamp skew, waited out), then a message on the connection charges it.
    const counted = ctx.limits.admit.bind(ctx.limits);
    let write = 0;
    ctx.limits.admit = async (...args) => {
      write++;
      const { nowUs } = args[1];
      if (write <= 2) await setAttribute(owner, 'quoteTat', nowUs + (2_000 + 50) * 1000);
      if (write === 3) await setAttribute(owner, `c#${connectionId}`, nowUs);
      const result = await counted(...args);
      // The 50 ms that a refusal asks for pass.
      if (write <= 2) clock.now += 50;
      return result;
    };
    await expect(admit(ctx, { owner, connectionId, charge: 'quote' })).resolves.toMatchObject({ openOrderReserved: false });
    expect(writes()).toBe(4);
    const after = await item(owner);
    expect(after?.quoteTat).toBe((clock.now + 2_000 + 500) * 1000);
    expect(after?.[`c#${connectionId}`]).toBe((clock.now + 100) * 1000);
  });

  it('concurrent requests at one instant: exactly the burst is admitted, the rest RATE_LIMITED', async () => {
    const { ctx } = engineAt({ LIMIT_MESSAGES_PER_SECOND: '0' });
    const { owner, connectionId } = newAccount();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => admit(ctx, { owner, connectionId, charge: 'quote' })));
    const admitted = results.filter((result) => result.status === 'fulfilled');
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as RequestError] : []));
    expect(admitted).toHaveLength(5);
    expect(refused).toHaveLength(15);
    for (const error of refused) expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    expect((await item(owner))?.quoteTat).toBeGreaterThan(0);
  });

  it('a write stamped a moment before one that landed first is still admitted within the burst (it waits out the difference)', async () => {
    const startedAt = Date.now();
    let behindBy = 0;
    const { ctx, writes } = engineAt({ LIMIT_MESSAGES_PER_SECOND: '0' }, () => Date.now() - behindBy);
    const { owner, connectionId } = newAccount();
    await admit(ctx, { owner, connectionId, charge: 'quote' });
    // Another instance, whose clock is 80 ms ahead of this one's, took 4 places: the tat it wrote is its now + 4 intervals.
    behindBy = Date.now() - startedAt;
    await setAttribute(owner, 'quoteTat', (startedAt + 80 + 4 * 500) * 1000);
    // The fifth place: the item is 80 ms ahead of this instance's now + tolerance, so the table refuses the first write;
    // the request waits that out and its second write is admitted.
    await expect(admit(ctx, { owner, connectionId, charge: 'quote' })).resolves.toMatchObject({ openOrderReserved: false });
    expect(writes()).toBe(3);
    // The sixth is over the burst, and answered at once.
    await expect(admit(ctx, { owner, connectionId, charge: 'quote' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('a write slow to land is judged again from its answer: the time it already spent counts toward its wait', async () => {
    // Quotes: 2/s, burst 5, tolerance 2 s. Another instance left the bucket 150 ms past this one's now + tolerance.
    const { ctx, clock, writes } = engineAt({ LIMIT_MESSAGES_PER_SECOND: '0' });
    const { owner, connectionId } = newAccount();
    await setAttribute(owner, 'quoteTat', (clock.now + 2_000 + 150) * 1000);
    // The write takes 200 ms to land: by its answer, the 150 ms the table asked for have passed.
    const counted = ctx.limits.admit.bind(ctx.limits);
    ctx.limits.admit = async (...args) => {
      const result = await counted(...args);
      clock.now += 200;
      return result;
    };
    await expect(admit(ctx, { owner, connectionId, charge: 'quote' })).resolves.toMatchObject({ openOrderReserved: false });
    expect(writes()).toBe(2);
  });

  it('a flood arriving faster than the table answers costs about one write per admission, not one per message', async () => {
    // Frozen clock: the bucket never refills, so exactly the burst is admitted; the other 495 are refused.
    const { ctx, writes } = engineAt({ LIMIT_MESSAGES_PER_SECOND: '0' });
    const { owner, connectionId } = newAccount();
    const results = await Promise.allSettled(Array.from({ length: 500 }, () => admit(ctx, { owner, connectionId, charge: 'quote' })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(5);
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as RequestError] : []));
    expect(refused.every((error) => error.code === 'RATE_LIMITED')).toBe(true);
    // The 5 admissions, plus the few requests that raced the first answer; without the in-flight count it was 500.
    expect(writes()).toBeLessThanOrEqual(10);
  });

  it('orders: the burst, then the open-order cap; a refusal takes no slot; a released slot admits again', async () => {
    const { ctx, clock } = engineAt();
    const { owner, connectionId } = newAccount();
    await registerConnection(ctx, owner, connectionId);
    const order = (charge: Charge = 'order') => admit(ctx, { owner, connectionId, charge });
    for (let n = 0; n < 3; n++) await expect(order()).resolves.toEqual({ openOrderReserved: true });
    // 5/s, burst 3: the fourth at the same instant is over the rate.
    await expect(order()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 200 });
    expect((await item(owner))?.openOrders).toBe(3);
    // A second later the bucket has tokens again, but three orders are open: the cap refuses, and takes nothing.
    clock.now += 1_000;
    const capped = await refusal(order());
    expect(capped).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 1_000 });
    expect(capped.message).toMatch(/3 open orders/);
    expect(await item(owner)).toMatchObject({ openOrders: 3 });
    // A quote is not an order: it is not held back by the open-order cap.
    await expect(order('quote')).resolves.toEqual({ openOrderReserved: false });
    await ctx.limits.releaseOpenOrder(owner, Date.now() * 1000);
    await expect(order()).resolves.toEqual({ openOrderReserved: true });
    expect((await item(owner))?.openOrders).toBe(3);
  });

  it('a write whose answer arrives after a later one is not counted twice: the whole burst is admitted', async () => {
    // Orders: burst 3. The first order's write lands but its answer is held back; the second's answer (whose tat already
    // holds both) arrives first. The third, begun after that answer, must count only itself: the burst's last token.
    const { ctx } = engineAt();
    const { owner, connectionId } = newAccount();
    await registerConnection(ctx, owner, connectionId);
    const counted = ctx.limits.admit.bind(ctx.limits);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstLanded!: () => void;
    const landed = new Promise<void>((resolve) => (firstLanded = resolve));
    let writes = 0;
    ctx.limits.admit = async (...args) => {
      const first = writes++ === 0;
      const result = await counted(...args);
      if (first) {
        firstLanded();
        await held;
      }
      return result;
    };
    const order = () => admit(ctx, { owner, connectionId, charge: 'order' });
    const first = order();
    await landed;
    await expect(order()).resolves.toEqual({ openOrderReserved: true });
    await expect(order()).resolves.toEqual({ openOrderReserved: true });
    release();
    await expect(first).resolves.toEqual({ openOrderReserved: true });
    expect(writes).toBe(3);
    expect((await item(owner))?.openOrders).toBe(3);
  });

  it('0 turns a limit off: no bucket is written for it', async () => {
    const { ctx, writes } = engineAt({ LIMIT_MESSAGES_PER_SECOND: '0', LIMIT_QUOTES_PER_SECOND: '0' });
    const { owner, connectionId } = newAccount();
    for (let n = 0; n < 20; n++) await admit(ctx, { owner, connectionId, charge: 'quote' });
    expect(writes()).toBe(0);
    expect(await item(owner)).toBeUndefined();
  });
});

describe('open-order slots follow the orders', () => {
  it('an order gives its slot back when it ends; a duplicate clientOrderId gives back the slot it was admitted with', async () => {
    // The real clock: the execution below waits on the mock chain's timeline.
    const ctx = createEngineContext(parseConfig(engineEnv(LIMITS)));
    stubDirectPosts(ctx);
    const { owner, connectionId } = newAccount();
    await registerConnection(ctx, owner, connectionId);
    const place = async (clientOrderId: string) => {
      const admission = await admit(ctx, { owner, connectionId, charge: 'order' });
      return placeOrder(ctx, {
        reply: { connectionId, endpoint: 'http://127.0.0.1:9' },
        owner,
        order: validateExecute(executeBody({ clientOrderId }), { testHooks: true }),
        openOrderReserved: admission.openOrderReserved,
      });
    };
    const placed = await place('adm-1');
    expect(placed.created).toBe(true);
    expect((await item(owner))?.openOrders).toBe(1);
    const duplicate = await place('adm-1');
    expect(duplicate).toMatchObject({ orderId: placed.orderId, created: false });
    expect((await item(owner))?.openOrders).toBe(1);

    const [message] = await takeMessages(sqs, resource('OrdersQueue').url as string, 1);
    expect(JSON.parse(message!.body)).toMatchObject({ orderId: placed.orderId });
    await expect(executeOrderMessage(ctx, { messageId: message!.messageId, body: message!.body, receiveCount: 1, deadlineMs: Date.now() + 25_000 })).resolves.toEqual({ kind: 'done' });
    expect(await ctx.orders.get(placed.orderId)).toMatchObject({ status: 'confirmed' });
    expect((await item(owner))?.openOrders).toBe(0);
    // Never below zero, whatever gives back a slot it did not take.
    await ctx.limits.releaseOpenOrder(owner, Date.now() * 1000);
    expect((await item(owner))?.openOrders).toBe(0);
  });
});

describe('open-order recount', () => {
  /** An engine on a clock the test moves, whose index counts are counted; `place` admits and records an order. */
  const recountEngine = async () => {
    const { ctx, clock } = engineAt();
    const { owner, connectionId } = newAccount();
    await registerConnection(ctx, owner, connectionId);
    let counts = 0;
    const realCount = ctx.orderListing.countOpen.bind(ctx.orderListing);
    ctx.orderListing.countOpen = (...args) => {
      counts++;
      return realCount(...args);
    };
    const admitOrder = () => admit(ctx, { owner, connectionId, charge: 'order' });
    const place = async (clientOrderId: string) => {
      const admission = await admitOrder();
      const placed = await placeOrder(ctx, {
        reply: { connectionId, endpoint: 'http://127.0.0.1:9' },
        owner,
        order: validateExecute(executeBody({ clientOrderId }), { testHooks: true }),
        openOrderReserved: admission.openOrderReserved,
      });
      expect(placed.created).toBe(true);
    };
    return { ctx, clock, owner, admitOrder, place, counts: () => counts };
  };

  it('a count that lost its give-backs is corrected at the cap once it has been still: the open orders are counted, the refused order admitted', async () => {
    const { clock, owner, admitOrder, place, counts } = await recountEngine();
    await place('recount-1');
    // Two slots reserved for orders never recorded (an UNAVAILABLE answer that may have recorded them): the leak.
    await admitOrder();
    await admitOrder();
    expect((await item(owner))?.openOrders).toBe(3);
    // A second later the count is still moving (an order being placed has its slot before its record): not recounted.
    clock.now += 1_000;
    await expect(admitOrder()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 1_000 });
    expect(counts()).toBe(0);
    // Still for 10 s: the index has one open order; the count becomes 1, and this order takes a second slot.
    clock.now += 10_000;
    await expect(admitOrder()).resolves.toEqual({ openOrderReserved: true });
    expect(counts()).toBe(1);
    expect((await item(owner))?.openOrders).toBe(2);
  });

  it('an account really at its cap keeps its count, and is recounted at most once per 30 s however often it asks', async () => {
    const { clock, owner, admitOrder, place, counts } = await recountEngine();
    for (const n of [1, 2, 3]) {
      await place(`full-${n}`);
      clock.now += 400; // within the 5/s order bucket
    }
    clock.now += 11_000;
    for (let n = 0; n < 5; n++) await expect(admitOrder()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(counts()).toBe(1);
    expect((await item(owner))?.openOrders).toBe(3);
    clock.now += 30_000;
    await expect(admitOrder()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(counts()).toBe(2);
    expect((await item(owner))?.openOrders).toBe(3);
  });

  it('a count written before its change time was kept is recounted too; an index that cannot be read leaves the count as it is', async () => {
    const { ctx, clock, owner, admitOrder } = await recountEngine();
    // An item from before `openChangedAt` existed: three slots, no order, no change time.
    await setAttribute(owner, 'openOrders', 3);
    const realCount = ctx.orderListing.countOpen.bind(ctx.orderListing);
    ctx.orderListing.countOpen = async () => {
      throw new Error('index unavailable');
    };
    await expect(admitOrder()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect((await item(owner))?.openOrders).toBe(3);
    // 30 s later the next recount may run, and this time the index answers.
    clock.now += 30_000;
    ctx.orderListing.countOpen = realCount;
    await expect(admitOrder()).resolves.toEqual({ openOrderReserved: true });
    expect((await item(owner))?.openOrders).toBe(1);
  });

  it('a give-back that lands during the recount is not overwritten: the count is left to the writes', async () => {
    const { ctx, clock, owner, admitOrder, counts } = await recountEngine();
    for (let n = 0; n < 3; n++) await admitOrder();
    clock.now += 11_000;
    const realCount = ctx.orderListing.countOpen.bind(ctx.orderListing);
    ctx.orderListing.countOpen = async (...args) => {
      await ctx.limits.releaseOpenOrder(owner, clock.now * 1000);
      return realCount(...args);
    };
    // The index counts 0, but the count moved to 2 meanwhile: no correction; the request writes again and takes a slot.
    await expect(admitOrder()).resolves.toEqual({ openOrderReserved: true });
    expect(counts()).toBe(1);
    expect((await item(owner))?.openOrders).toBe(3);
  });
});

describe('connections per account', () => {
  const seedKey = async (ctx: EngineContext, accountId: string): Promise<string> => {
    const apiKey = `sk_test_${randomUUID()}`;
    await ctx.accounts.put({ apiKeyHash: hashApiKey(apiKey), accountId, label: 'itest', createdAt: new Date().toISOString() });
    return apiKey;
  };
  const connectEvent = (apiKey: string, connectionId = `conn-${randomUUID()}`) =>
    ({ requestContext: { connectionId }, queryStringParameters: { apiKey } }) as unknown as Parameters<typeof openConnection>[1];

  it('refuses a connection over the cap with no row; a $disconnect frees its place', async () => {
    const { ctx } = engineAt();
    const { owner } = newAccount();
    const apiKey = await seedKey(ctx, owner);
    const [first, second, third] = [connectEvent(apiKey), connectEvent(apiKey), connectEvent(apiKey)];
    await expect(openConnection(ctx, first)).resolves.toEqual({ outcome: 'opened', owner });
    await expect(openConnection(ctx, second)).resolves.toEqual({ outcome: 'opened', owner });
    // A repeated $connect of the same connection is not counted twice.
    await expect(openConnection(ctx, second)).resolves.toEqual({ outcome: 'opened', owner });
    await expect(openConnection(ctx, third)).resolves.toEqual({ outcome: 'over-limit', limit: 2 });
    expect(await ctx.connections.get(third.requestContext.connectionId, ctx.now())).toBeUndefined();
    expect(await item(owner)).toMatchObject({ connections: 2 });

    await closeConnection(ctx, first.requestContext.connectionId);
    expect(await item(owner)).toMatchObject({ connections: 1 });
    // A second $disconnect of the same connection does not uncount another one.
    await closeConnection(ctx, first.requestContext.connectionId);
    expect(await item(owner)).toMatchObject({ connections: 1 });
    await expect(openConnection(ctx, third)).resolves.toEqual({ outcome: 'opened', owner });
    expect(await item(owner)).toMatchObject({ connections: 2 });
  });

  it('a missed $disconnect is repaired when the cap is hit: closed connections idle past the grace are uncounted', async () => {
    const { ctx, clock } = engineAt();
    const { owner } = newAccount();
    const apiKey = await seedKey(ctx, owner);
    const live = connectEvent(apiKey);
    const lost = connectEvent(apiKey);
    await openConnection(ctx, live);
    await openConnection(ctx, lost);
    // The connection closed, its row went (a 410 seen by the notifier), but its $disconnect never reached the count.
    await ctx.connections.delete(lost.requestContext.connectionId);
    const next = connectEvent(apiKey);
    // Within the grace (a connect may be half done), nothing is taken for closed.
    await expect(openConnection(ctx, next)).resolves.toEqual({ outcome: 'over-limit', limit: 2 });
    clock.now += 31_000;
    await expect(openConnection(ctx, next)).resolves.toEqual({ outcome: 'opened', owner });
    const after = await item(owner);
    expect(after?.connections).toBe(2);
    expect(Object.keys(after ?? {}).filter((name) => name.startsWith('c#')).sort()).toEqual(
      [`c#${live.requestContext.connectionId}`, `c#${next.requestContext.connectionId}`].sort(),
    );
    // The live connection, idle as long, was kept.
    await expect(admit(ctx, { owner, connectionId: live.requestContext.connectionId, charge: 'message' })).resolves.toBeDefined();
  });
});

describe('turns at the store (lib/accounts/store-turns.ts)', () => {
  it("a placement keeps its turn through its ack and enqueue: another account's order is not recorded while the first one's ack is still being posted", async () => {
    const { ctx } = engineAt();
    ctx.storeTurns = new StoreTurns({ capacity: 1, waitBudgetMs: 10_000, maxWaiting: 10 });
    const events: string[] = [];
    const [alice, bob] = [newAccount(), newAccount()];
    for (const { owner, connectionId } of [alice, bob]) {
      await registerConnection(ctx, owner, connectionId);
      await ctx.connections.put({ connectionId, owner, connectedAtMs: Date.now(), expiresAt: Math.floor(Date.now() / 1000) + 3600 });
    }
    const ownerOfOrder = (item: { owner: string }): string => (item.owner === alice.owner ? 'alice' : 'bob');
    const realCreate = ctx.orders.create.bind(ctx.orders);
    ctx.orders.create = (item) => {
      events.push(`record ${ownerOfOrder(item)}`);
      return realCreate(item);
    };
    let releaseAlicesAck: () => void = () => undefined;
    const alicesAckPosted = new Promise<void>((resolve) => (releaseAlicesAck = resolve));
    let alicesAckStarted: () => void = () => undefined;
    const alicesAckWaiting = new Promise<void>((resolve) => (alicesAckStarted = resolve));
    ctx.notifier.postDirect = async (_endpoint, connectionId) => {
      const who = connectionId === alice.connectionId ? 'alice' : 'bob';
      events.push(`ack ${who}`);
      if (who === 'alice') {
        alicesAckStarted();
        await alicesAckPosted;
      }
      return 'sent';
    };
    const realSend = ctx.queues.sendTogether.bind(ctx.queues);
    ctx.queues.sendTogether = (queue, messages) => {
      if (queue === ctx.config.ORDERS_QUEUE_NAME) {
        events.push(`enqueue ${(messages[0]?.body as { placed: { owner: string } }).placed.owner === alice.owner ? 'alice' : 'bob'}`);
      }
      return realSend(queue, messages);
    };

    const endpoint = 'http://127.0.0.1:9';
    const alicesOrder = executeOnConnection(ctx, { connectionId: alice.connectionId, endpoint, body: executeBody({ clientOrderId: 'turn-alice' }) });
    await alicesAckWaiting;
    const bobsOrder = executeOnConnection(ctx, { connectionId: bob.connectionId, endpoint, body: executeBody({ clientOrderId: 'turn-bob' }) });
    // Long enough for bob's admission and record to have run, had his request been given a turn.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events).toEqual(['record alice', 'ack alice']);
    releaseAlicesAck();
    await Promise.all([alicesOrder, bobsOrder]);
    expect(events).toEqual(['record alice', 'ack alice', 'enqueue alice', 'record bob', 'ack bob', 'enqueue bob']);
  });
});
