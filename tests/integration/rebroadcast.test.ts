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

beforeAll(() => useEngineEnv());
beforeEach(() => purgeQueues(sqs));
afterAll(() => sqs.destroy());

describe('rebroadcast', () => {
  it('transactions dropped on their first send land on a rebroadcast within the blockhash life, one transaction each', async () => {
    // 60 % of sends dropped: of 8 orders, some first sends are all but certain to drop (0.4^8 that none does).
    const ctx = engineWith({ MOCK_FAILURE_RATES: 'blockhashExpired=0.6' });
    let landedByRebroadcast = 0;
    for (let n = 0; n < 8; n++) {
      const orderId = await placeTestOrder(ctx, { clientOrderId: `rebroadcast-${n}-${Date.now()}` });
      const started = Date.now();
      expect(await execute(ctx, orderId)).toEqual({ kind: 'done' });
      const frames = framesOf(await drainStatusFrames(sqs), orderId);
      expect(frames.map((frame) => frame.status)).toEqual(['routing', 'building', 'submitted', 'confirmed']);
      expect(Date.now() - started).toBeLessThan(2_500);
      const signatures = await ctx.ledger.signaturesOf(orderId);
      expect(signatures).toHaveLength(1);
      const record = await ctx.ledger.get(signatures[0] as string);
      // A first send lands within ~20 ms here; one that took a rebroadcast interval or more was landed by a rebroadcast.
      if ((record?.landsAtMs as number) - (record?.sentAtMs as number) >= ctx.profile.rebroadcastMs) landedByRebroadcast++;
    }
    expect(landedByRebroadcast).toBeGreaterThan(0);
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
    await execute(ctx, none);
    const capped = await placeTestOrder(ctx, { priorityFee: { maxLamports: 3 } });
    await execute(ctx, capped);
    const frames = await drainStatusFrames(sqs);
    const submittedNone = framesOf(frames, none).find((frame) => frame.status === 'submitted');
    expect(submittedNone?.meta.priorityFee).toMatchObject({ microLamportsPerCu: 0 });
    expect(framesOf(frames, none).at(-1)?.meta.fees).toMatchObject({ baseLamports: 5_000, priorityLamports: 0 });
    const last = framesOf(frames, capped).at(-1);
    expect(last?.status).toBe('confirmed');
    expect((last?.meta.fees as { priorityLamports: number }).priorityLamports).toBeLessThanOrEqual(3);
  });
});
