import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { processBatch } from '../../lib/aws/sqs-batch';
import { parseConfig } from '../../lib/config';
import { createEngineContext, type EngineContext } from '../../lib/engine';
import { executeOrderMessage } from '../../lib/orders/execute-order';
import { TAKE_MORE, waitingOrdersTaker } from '../../lib/orders/take-more';
import { sqsRecord } from '../support/factories';
import { engineEnv, placeTestOrder, stubDirectPosts, takeMessages, useEngineEnv } from './support/engine';
import { purgeQueues, queueDepth, resource, sqsClient, stack } from './support/stack';

/*
 * An execution invocation with room takes orders waiting in its queue itself (lib/orders/take-more.ts), so the orders
 * acknowledged after the first invocations started do not wait for one of them to end. Against the emulators' queue,
 * the fast profile.
 */
const sqs = sqsClient();
const orders = resource('OrdersQueue');

const engineWith = (env: Record<string, string> = {}): EngineContext => {
  const ctx = createEngineContext(parseConfig(engineEnv(env)));
  stubDirectPosts(ctx);
  return ctx;
};

const takerFor = (ctx: EngineContext, deadlineMs: number, onTaken: (count: number) => void = () => undefined) =>
  waitingOrdersTaker(ctx, { queueName: ctx.config.ORDERS_QUEUE_NAME, queueArn: orders.arn as string, region: stack().region, deadlineMs, onTaken });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(() => useEngineEnv());
beforeEach(() => purgeQueues(sqs));
afterAll(() => sqs.destroy());

describe('an execution invocation taking waiting orders', () => {
  it('works the orders waiting in its queue beside its own, confirms them, and removes their messages', async () => {
    const ctx = engineWith();
    const ownOrderId = await placeTestOrder(ctx);
    const [own] = await takeMessages(sqs, orders.url as string, 1);
    expect(own?.body).toContain(ownOrderId);
    const waitingIds = [await placeTestOrder(ctx), await placeTestOrder(ctx), await placeTestOrder(ctx)];
    const deadlineMs = Date.now() + 25_000;
    let taken = 0;
    const worked: string[] = [];
    const response = await processBatch(
      [sqsRecord(own!.body, { messageId: own!.messageId })],
      async (record: SQSRecord) => {
        // The invocation's own order is still in progress (landing, on a realistic profile) when the others are taken.
        if (record.messageId === own!.messageId) await sleep(1_500);
        worked.push(record.messageId);
        return executeOrderMessage(ctx, { messageId: record.messageId, body: record.body, receiveCount: Number(record.attributes.ApproximateReceiveCount), deadlineMs });
      },
      { concurrency: 10, takeMore: takerFor(ctx, deadlineMs, (count) => (taken += count)) },
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(taken).toBe(3);
    // Taken while the invocation's own order was in progress: they were worked before it.
    expect(worked.at(-1)).toBe(own!.messageId);
    for (const orderId of [ownOrderId, ...waitingIds]) expect((await ctx.orders.get(orderId))?.status).toBe('confirmed');
    expect(await queueDepth(sqs, orders.url as string)).toMatchObject({ total: 0 });
  });

  it(`takes nothing with less than ${TAKE_MORE.minRemainingMs / 1000} s of the invocation left, or when turned off`, async () => {
    const ctx = engineWith();
    await placeTestOrder(ctx);
    expect(await takerFor(ctx, Date.now() + TAKE_MORE.minRemainingMs - 1_000)?.take(10)).toEqual([]);
    expect(await queueDepth(sqs, orders.url as string)).toMatchObject({ visible: 1 });
    expect(takerFor(engineWith({ EXECUTION_TAKE_MORE_EVERY_MS: '0' }), Date.now() + 25_000)).toBeUndefined();
    const [record] = (await takerFor(ctx, Date.now() + 25_000)?.take(10)) ?? [];
    expect(record?.attributes.ApproximateReceiveCount).toBe('1');
    expect(record?.eventSourceARN).toBe(orders.arn);
  });
});
