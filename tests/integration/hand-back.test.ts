import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Queues } from '../../lib/aws/queues';
import { parseConfig } from '../../lib/config';
import { createEngineContext, type EngineContext } from '../../lib/engine';
import { executeOrderMessage, type OrderDelivery } from '../../lib/orders/execute-order';
import { HAND_BACK } from '../../lib/orders/patience';
import { drainStatusFrames, engineEnv, framesOf, placeTestOrder, stubDirectPosts, takeMessages, useEngineEnv } from './support/engine';
import { createTestQueue, deleteTestQueue, purgeQueues, resource, sqsClient } from './support/stack';

/*
 * A delivery that sent its transaction gives a still-landing order back while other orders wait for an execution
 * slot (EXECUTION_HAND_BACK_AFTER_MS), so one slow landing does not hold a slot that a whole batch could use. The
 * fast profile; a cluster that drops every send keeps the transaction in flight for as long as a test needs.
 */
const sqs = sqsClient();
const ordersUrl = resource('OrdersQueue').url as string;
const HAND_BACK_AFTER_MS = 50;

const engineWith = (env: Record<string, string>): EngineContext => {
  const ctx = createEngineContext(parseConfig(engineEnv({ EXECUTION_HAND_BACK_AFTER_MS: String(HAND_BACK_AFTER_MS), ...env })));
  stubDirectPosts(ctx);
  return ctx;
};
/** Every send is dropped on its way to the leader: the transaction stays in flight until its blockhash expires. */
const neverLands = () => engineWith({ MOCK_FAILURE_RATES: 'blockhashExpired=1,ambiguousTimeout=0' });

/** Places a no-fee order and takes its message off the orders queue, as the event source mapping would. */
const placedMessage = async (ctx: EngineContext) => {
  const orderId = await placeTestOrder(ctx, { priorityFee: 'none' });
  const [message] = (await takeMessages(sqs, ordersUrl, 1)).filter((m) => m.body.includes(orderId));
  expect(message).toBeDefined();
  return { orderId, message: message! };
};

const delivery = (message: { messageId: string; body: string }, over: Partial<OrderDelivery> = {}): OrderDelivery => ({
  messageId: message.messageId,
  body: message.body,
  receiveCount: 1,
  deadlineMs: Date.now() + 20_000,
  ...over,
});

beforeAll(() => useEngineEnv());
beforeEach(() => purgeQueues(sqs));
afterAll(() => sqs.destroy());

describe('giving a landing order back', () => {
  it('while others wait, the sender gives it back for a look a second later; the re-check settles the same signature', async () => {
    const sender = neverLands();
    const { orderId, message } = await placedMessage(sender);
    let asked = 0;
    const startedMs = Date.now();
    const outcome = await executeOrderMessage(sender, delivery(message, { othersWaiting: async () => (asked++, true) }));
    const heldMs = Date.now() - startedMs;

    expect(outcome).toEqual({ kind: 'retry', visibilitySeconds: HAND_BACK.lookAgainSeconds });
    expect(asked).toBe(1);
    // It gave the slot back soon after the threshold, not at the invocation's deadline (20 s) or the blockhash's expiry.
    expect(heldMs).toBeLessThan(5_000);
    const handedBack = await sender.orders.get(orderId);
    expect(handedBack).toMatchObject({ status: 'submitted' });
    // Its lease released: the next delivery takes it over at once instead of waiting the lease out.
    expect(handedBack?.leaseUntilMs).toBe(0);
    const [signature] = await sender.ledger.signaturesOf(orderId);

    // Another execution environment takes the message again, on a cluster where sends land: it rebroadcasts the same
    // transaction and confirms it. A re-check never gives the order back, however many orders wait.
    const recheck = engineWith({});
    let askedOnRecheck = 0;
    const settled = await executeOrderMessage(recheck, delivery(message, { receiveCount: 2, othersWaiting: async () => (askedOnRecheck++, true) }));
    expect(settled).toEqual({ kind: 'done' });
    expect(askedOnRecheck).toBe(0);
    const frames = framesOf(await drainStatusFrames(sqs), orderId);
    expect(frames.map((frame) => frame.status)).toEqual(['routing', 'building', 'submitted', 'confirmed']);
    expect(frames.at(-1)?.meta.txHash).toBe(signature);
    expect(await recheck.ledger.signaturesOf(orderId)).toEqual([signature]);
  });

  it('while nobody waits, the sender keeps its slot and asks again until the outcome', async () => {
    const ctx = neverLands();
    const { message } = await placedMessage(ctx);
    let asked = 0;
    const startedMs = Date.now();
    // The invocation's deadline comes first here (1.5 s): the order is given back the usual way, at that deadline.
    const outcome = await executeOrderMessage(ctx, delivery(message, { deadlineMs: startedMs + 1_500, othersWaiting: async () => (asked++, false) }));
    expect(outcome).toMatchObject({ kind: 'retry' });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(1_400);
    // Asked every probe interval from the threshold to the deadline, not once.
    expect(asked).toBeGreaterThanOrEqual(3);
  });

  it('a question that fails is answered no: the order keeps its slot', async () => {
    const ctx = neverLands();
    const { message } = await placedMessage(ctx);
    const startedMs = Date.now();
    const outcome = await executeOrderMessage(
      ctx,
      delivery(message, {
        deadlineMs: Date.now() + 1_000,
        othersWaiting: async () => {
          throw new Error('GetQueueAttributes refused');
        },
      }),
    );
    expect(outcome).toMatchObject({ kind: 'retry' });
    // Held to the invocation's deadline.
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(900);
  });

  it('with the threshold at 0 the order is never given back', async () => {
    const ctx = engineWith({ EXECUTION_HAND_BACK_AFTER_MS: '0', MOCK_FAILURE_RATES: 'blockhashExpired=1,ambiguousTimeout=0' });
    const { message } = await placedMessage(ctx);
    let asked = 0;
    const startedMs = Date.now();
    const outcome = await executeOrderMessage(ctx, delivery(message, { deadlineMs: startedMs + 1_000, othersWaiting: async () => (asked++, true) }));
    expect(outcome).toMatchObject({ kind: 'retry' });
    expect(asked).toBe(0);
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(900);
  });
});

describe('Queues.waitingMessages', () => {
  it('counts the messages nobody has received, and one read serves the callers of its freshness window', async () => {
    const queue = await createTestQueue(sqs, { visibilityTimeout: 30 });
    try {
      const queues = new Queues(() => sqs);
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: [0, 1, 2].map((n) => ({ Id: String(n), MessageBody: `{"n":${n}}` })) }));
      expect(await queues.waitingMessages(queue.name, { maxAgeMs: 0 })).toBe(3);
      // Within the window the same answer comes back without asking, even after the queue changed...
      await takeMessages(sqs, queue.url, 3);
      expect(await queues.waitingMessages(queue.name, { maxAgeMs: 60_000 })).toBe(3);
      // ...and a caller that wants it fresher asks again.
      expect(await queues.waitingMessages(queue.name, { maxAgeMs: 0 })).toBe(0);
    } finally {
      await deleteTestQueue(sqs, queue);
    }
  });
});
