import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEngineContext, type EngineContext } from '../../lib/engine';
import { parseConfig } from '../../lib/config';
import { executeOrderMessage } from '../../lib/orders/execute-order';
import { drainStatusFrames, engineEnv, framesOf, placeTestOrder, stubDirectPosts, takeMessages, useEngineEnv } from './support/engine';
import { purgeQueues, resource, sqsClient } from './support/stack';

/*
 * Rebroadcast through the engine, with the ledger in DynamoDB Local (its conditional writes decide which send lands
 * and seal an expiry). The fast profile: landing p95 20 ms, a rebroadcast every 100 ms, blockhashes living 2.5 s.
 */
const sqs = sqsClient();
const ordersUrl = resource('OrdersQueue').url as string;

const engineWith = (env: Record<string, string>): EngineContext => {
  const ctx = createEngineContext(parseConfig(engineEnv(env)));
  stubDirectPosts(ctx);
  return ctx;
};

const execute = async (ctx: EngineContext, orderId: string) => {
  const [message] = (await takeMessages(sqs, ordersUrl, 1)).filter((m) => m.body.includes(orderId));
  expect(message).toBeDefined();
  return executeOrderMessage(ctx, { messageId: message!.messageId, body: message!.body, receiveCount: 1, deadlineMs: Date.now() + 25_000 });
};

/** Executes the order's message, and again after each retry's backoff, as the queue would redeliver it. */
const executeUntilDone = async (ctx: EngineContext, orderId: string): Promise<void> => {
  const [message] = (await takeMessages(sqs, ordersUrl, 1)).filter((m) => m.body.includes(orderId));
  expect(message).toBeDefined();
  for (let receiveCount = 1; receiveCount <= 5; receiveCount++) {
    const outcome = await executeOrderMessage(ctx, { messageId: message!.messageId, body: message!.body, receiveCount, deadlineMs: Date.now() + 25_000 });
    if (outcome.kind === 'done') return;
    await new Promise((resolve) => setTimeout(resolve, (outcome as { visibilitySeconds: number }).visibilitySeconds * 1000));
  }
  throw new Error(`order ${orderId} not done after 5 receives`);
};

beforeAll(() => useEngineEnv());
beforeEach(() => purgeQueues(sqs));
afterAll(() => sqs.destroy());

describe('rebroadcast', () => {
  it('transactions dropped on their first send land on a rebroadcast, within the blockhash life', async () => {
    // 60 % of no-fee sends dropped: of 8 orders, some first sends are all but certain to drop (0.4^8 that none does).
    // (A priority fee would make drops rarer: "auto" bids the 75th percentile, which drops 8 % as often.)
    const ctx = engineWith({ MOCK_FAILURE_RATES: 'blockhashExpired=0.6' });
    let landedByRebroadcast = 0;
    for (let n = 0; n < 8; n++) {
      const orderId = await placeTestOrder(ctx, { clientOrderId: `rebroadcast-${n}-${Date.now()}`, priorityFee: 'none' });
      await executeUntilDone(ctx, orderId);
      const frames = framesOf(await drainStatusFrames(sqs), orderId);
      // Confirmed, by a transaction that landed before its blockhash expired (a cold first order may also meet a
      // preflight refusal of a blockhash that aged while the stack warmed up: that records nothing and retries).
      expect(frames.at(-1)?.status).toBe('confirmed');
      for (const signature of await ctx.ledger.signaturesOf(orderId)) {
        const record = await ctx.ledger.get(signature);
        if (record?.landsAtMs === null || record?.landsAtMs === undefined) continue;
        expect(record.landsAtMs).toBeLessThan(record.expiresAtMs);
        // A first send lands within ~20 ms here; one that took a rebroadcast interval or more was landed by a rebroadcast.
        if (record.landsAtMs - record.sentAtMs >= ctx.profile.rebroadcastMs) landedByRebroadcast++;
      }
    }
    expect(landedByRebroadcast).toBeGreaterThan(0);
  });

  it('a rebroadcast whose RPC answer is slow does not delay the outcome, and is let finish before the execution returns', async () => {
    // Every rebroadcast reaches the cluster at once but answers 1.5 s later, as a slow RPC node would.
    const answerDelayMs = 1_500;
    const ctx = engineWith({ MOCK_FAILURE_RATES: 'blockhashExpired=0.6' });
    const chain = ctx.chain;
    const answeredAt = new Map<string, number[]>(); // signature -> when each of its rebroadcasts answered
    ctx.chain = Object.assign(Object.create(chain) as typeof chain, {
      sendTransaction: async (tx: Parameters<typeof chain.sendTransaction>[0]) => {
        const sent = await chain.sendTransaction(tx);
        if (sent.rebroadcast) {
          await new Promise((resolve) => setTimeout(resolve, answerDelayMs));
          answeredAt.set(sent.signature, [...(answeredAt.get(sent.signature) ?? []), Date.now()]);
        }
        return sent;
      },
    });
    let checked = 0;
    for (let n = 0; n < 12 && checked < 2; n++) {
      const orderId = await placeTestOrder(ctx, { clientOrderId: `slow-rebroadcast-${n}-${Date.now()}`, priorityFee: 'none' });
      await executeUntilDone(ctx, orderId);
      const returnedAt = Date.now();
      const confirmed = framesOf(await drainStatusFrames(sqs), orderId).find((frame) => frame.status === 'confirmed');
      expect(confirmed).toBeDefined();
      const answers = answeredAt.get(confirmed!.meta.txHash as string) ?? [];
      if (answers.length === 0) continue; // landed on its first send: no rebroadcast to look at
      checked++;
      // The outcome was written while the signature's last rebroadcast was still waiting for its answer...
      expect(Date.parse(confirmed!.at)).toBeLessThan(Math.max(...answers));
      // ...and the execution returned only once that answer came.
      expect(returnedAt).toBeGreaterThanOrEqual(Math.max(...answers));
    }
    expect(checked).toBe(2);
  });

  it('a transaction that never lands is expired once, sealed, and the next attempt uses a new signature', async () => {
    const ctx = engineWith({});
    const orderId = await placeTestOrder(ctx, { mockFailures: { '1': 'BLOCKHASH_EXPIRED' } });
    const outcome = await execute(ctx, orderId);
    expect(outcome.kind).toBe('retry');
    const frames = framesOf(await drainStatusFrames(sqs), orderId);
    expect(frames.at(-1)).toMatchObject({ status: 'pending', attempt: 2, meta: { lastError: { code: 'BLOCKHASH_EXPIRED' } } });
    const [signature] = await ctx.ledger.signaturesOf(orderId);
    expect(await ctx.ledger.get(signature as string)).toMatchObject({ landsAtMs: null, sealed: true });
    // Sealed: no later rebroadcast may land it.
    expect(await ctx.ledger.improveLanding(signature as string, { landsAtMs: Date.now(), confirmAtMs: Date.now(), feeLamports: 5_000, fate: 'lands' }, null)).toBe(false);
  });

  it('priorityFee "none" bids nothing and pays the base fee; {"maxLamports"} caps what it pays', async () => {
    const ctx = engineWith({});
    const none = await placeTestOrder(ctx, { priorityFee: 'none' });
    await executeUntilDone(ctx, none);
    const capped = await placeTestOrder(ctx, { priorityFee: { maxLamports: 3 } });
    await executeUntilDone(ctx, capped);
    const frames = await drainStatusFrames(sqs);
    const submittedNone = framesOf(frames, none).find((frame) => frame.status === 'submitted');
    expect(submittedNone?.meta.priorityFee).toMatchObject({ microLamportsPerCu: 0 });
    expect(framesOf(frames, none).at(-1)?.meta.fees).toMatchObject({ baseLamports: 5_000, priorityLamports: 0 });
    const last = framesOf(frames, capped).at(-1);
    expect(last?.status).toBe('confirmed');
    expect((last?.meta.fees as { priorityLamports: number }).priorityLamports).toBeLessThanOrEqual(3);
  });
});
