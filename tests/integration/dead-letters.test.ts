import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { drainStatusFrames, framesOf, placeTestOrder, takeMessages, testContext } from './support/engine';
import { purgeQueues, queueDepth, resource, sqsClient } from './support/stack';
import type { EngineContext } from '../../lib/engine';

import { executeOrderMessage } from '../../lib/orders/execute-order';
import { settleDeadLetter } from '../../lib/orders/dead-letter';

const sqs = sqsClient();
const ordersUrl = resource('OrdersQueue').url as string;
const dlqUrl = resource('OrdersDeadLetterQueue').url as string;
let ctx: EngineContext;

beforeAll(() => {
  ctx = testContext();
});
beforeEach(() => purgeQueues(sqs));
afterAll(() => sqs.destroy());

/** Places an order and removes its orders-queue message (as if every delivery of it had been used up). */
const place = async (): Promise<{ orderId: string; messageId: string; body: string }> => {
  const orderId = await placeTestOrder(ctx);
  const [message] = await takeMessages(sqs, ordersUrl, 1);
  expect(message && JSON.parse(message.body)).toMatchObject({ orderId });
  return { orderId, messageId: message!.messageId, body: message!.body };
};

/** What the redrive policy does: the message moves to the DLQ. Then the deadLetters handler's work, record by record. */
const deadLetter = async (body: string) => {
  await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: body }));
  const [dead] = await takeMessages(sqs, dlqUrl, 1);
  expect(dead?.body).toBe(body);
  const outcome = await settleDeadLetter(ctx, { messageId: dead!.messageId, body: dead!.body, receiveCount: 1, deadlineMs: Date.now() });
  expect((await queueDepth(sqs, dlqUrl)).total).toBe(0);
  return outcome;
};

describe('dead-letter backstop (settleDeadLetter)', () => {
  it('an order left pending is marked failed with a reason, and its owner gets the failed frame', async () => {
    const m = await place();
    await drainStatusFrames(sqs, 100);
    await expect(deadLetter(m.body)).resolves.toEqual({ kind: 'done' });
    const item = await ctx.orders.get(m.orderId);
    expect(item).toMatchObject({ status: 'failed', seq: 2, attempt: 1, lastError: { code: 'DEAD_LETTERED', message: expect.any(String) } });
    const frames = framesOf(await drainStatusFrames(sqs), m.orderId);
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ status: 'failed', seq: 2, attempt: 1, meta: { error: { code: 'DEAD_LETTERED' }, attempts: 1 } });
    expect(item?.lastFrame).toEqual(frames[0]);
    expect(await ctx.ledger.signaturesOf(m.orderId)).toHaveLength(0);
  });

  it('an order already confirmed stays confirmed: the dead letter is acknowledged and nothing is written', async () => {
    const m = await place();
    await expect(executeOrderMessage(ctx, { ...m, receiveCount: 1, deadlineMs: Date.now() + 25_000 })).resolves.toEqual({ kind: 'done' });
    const confirmed = await ctx.orders.get(m.orderId);
    expect(confirmed).toMatchObject({ status: 'confirmed', seq: 5 });
    await drainStatusFrames(sqs, 200);

    await expect(deadLetter(m.body)).resolves.toEqual({ kind: 'done' });
    expect(await ctx.orders.get(m.orderId)).toEqual(confirmed);
    expect(framesOf(await drainStatusFrames(sqs, 200), m.orderId)).toEqual([]);
    expect(await ctx.ledger.signaturesOf(m.orderId)).toHaveLength(1);
  });

  it('a submitted order whose transaction confirmed on chain ends confirmed, not failed', async () => {
    const m = await place();
    const realSend = ctx.chain.sendTransaction.bind(ctx.chain);
    ctx.chain.sendTransaction = async (tx) => {
      await realSend(tx);
      throw new Error('host died');
    };
    try {
      await expect(executeOrderMessage(ctx, { ...m, receiveCount: 1, deadlineMs: Date.now() + 25_000 })).resolves.toMatchObject({ kind: 'retry' }); // the error is caught: the message comes back after a backoff
    } finally {
      ctx.chain.sendTransaction = realSend;
    }
    const submitted = await ctx.orders.get(m.orderId);
    expect(submitted).toMatchObject({ status: 'submitted', seq: 4 });
    // The backstop looks only once the chain has confirmed it: wait until the instant its record says it confirms.
    const record = await ctx.ledger.get(submitted?.tx?.signature as string);
    expect(record?.confirmAtMs).toEqual(expect.any(Number));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (record?.confirmAtMs as number) - ctx.now() + 1)));
    await drainStatusFrames(sqs, 100);

    await expect(deadLetter(m.body)).resolves.toEqual({ kind: 'done' });
    const item = await ctx.orders.get(m.orderId);
    expect(item).toMatchObject({ status: 'confirmed', seq: 5, attempt: 1 });
    const frames = framesOf(await drainStatusFrames(sqs), m.orderId);
    expect(frames.map((f) => `${f.seq}:${f.status}`)).toEqual(['5:confirmed']);
    expect(frames[0]?.meta).toMatchObject({ txHash: submitted?.tx?.signature, amountIn: '25' });
    expect(await ctx.ledger.signaturesOf(m.orderId)).toEqual([submitted?.tx?.signature]);
  });
});
