import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { drainStatusFrames, framesOf, placeTestOrder, takeMessages, testContext } from './support/engine';
import { purgeQueues, queueDepth, resource, sqsClient } from './support/stack';
import type { EngineContext } from '../../lib/engine';
import { orderFrame, type OrderFrame } from '../../lib/notify/frames';
import { executeOrderMessage } from '../../lib/orders/execute-order';
import { advance } from '../../lib/orders/outcomes';
import { StaleWriteError } from '../../lib/errors';
import { simulatedSendAckMs } from '../../lib/chain/cluster';

const sqs = sqsClient();
let ctx: EngineContext;

beforeAll(() => {
  ctx = testContext();
});
beforeEach(() => purgeQueues(sqs));
afterAll(() => sqs.destroy());

const BASE58_SIGNATURE = /^[1-9A-HJ-NP-Za-km-z]{86,88}$/;
const DECIMAL = /^\d+(\.\d+)?$/;

/** Places an order and takes its orders-queue message off the queue, so the test delivers it itself. */
const place = async (over: Record<string, unknown> = {}): Promise<{ orderId: string; messageId: string; body: string }> => {
  const orderId = await placeTestOrder(ctx, over);
  const [message] = await takeMessages(sqs, resource('OrdersQueue').url as string, 1);
  expect(message && JSON.parse(message.body)).toMatchObject({ orderId });
  return { orderId, messageId: message!.messageId, body: message!.body };
};

const delivery = (m: { messageId: string; body: string }, receiveCount = 1) => ({
  messageId: m.messageId,
  body: m.body,
  receiveCount,
  deadlineMs: Date.now() + 25_000,
});

const statuses = (frames: OrderFrame[]): string[] => frames.map((f) => `${f.seq}:${f.status}:${f.attempt}`);

const expectStrictSeq = (frames: OrderFrame[]): void => {
  const seqs = frames.map((f) => f.seq);
  expect(new Set(seqs).size).toBe(seqs.length);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
};

describe('order execution (direct invocation against the emulators)', () => {
  it('happy path: routing, building, submitted, confirmed on attempt 1, one transaction', async () => {
    const m = await place();
    // The placement message carries the placed order: the first delivery does not read the order back.
    expect(JSON.parse(m.body).placed).toMatchObject({ owner: 'acct-1', request: { side: 'buy', amountIn: '25000000' } });
    const realGet = ctx.orders.get.bind(ctx.orders);
    let reads = 0;
    ctx.orders.get = async (orderId) => {
      reads++;
      return realGet(orderId);
    };
    const started = Date.now();
    try {
      await expect(executeOrderMessage(ctx, delivery(m))).resolves.toEqual({ kind: 'done' });
    } finally {
      ctx.orders.get = realGet;
    }
    expect(reads).toBe(0);
    const elapsed = Date.now() - started;

    const frames = framesOf(await drainStatusFrames(sqs), m.orderId);
    expect(statuses(frames)).toEqual(['2:routing:1', '3:building:1', '4:submitted:1', '5:confirmed:1']);
    const [routing, building, submitted, confirmed] = frames as [OrderFrame, OrderFrame, OrderFrame, OrderFrame];
    expect(routing.meta.quotes).toEqual(expect.arrayContaining([expect.objectContaining({ dex: expect.any(String), amountOut: expect.stringMatching(DECIMAL) })]));
    expect(building.meta.route).toMatchObject({ dex: expect.any(String), amountIn: '25', minAmountOut: expect.stringMatching(DECIMAL) });
    expect(submitted.meta.txHash).toMatch(BASE58_SIGNATURE);
    expect(confirmed.meta).toMatchObject({
      txHash: submitted.meta.txHash,
      dex: submitted.meta.dex,
      amountIn: '25',
      amountOut: expect.stringMatching(DECIMAL),
      executedPrice: expect.stringMatching(DECIMAL),
      slot: expect.any(Number),
      simulatedMs: expect.any(Number),
    });
    expect(confirmed.meta.simulatedMs as number).toBeGreaterThan(0);
    for (const f of frames) expect(Number.isNaN(Date.parse(f.at))).toBe(false);

    const item = await ctx.orders.get(m.orderId);
    expect(item).toMatchObject({ status: 'confirmed', seq: 5, attempt: 1, leaseUntilMs: 0 });
    expect(item?.lastFrame).toEqual(confirmed);
    expect(await ctx.ledger.signaturesOf(m.orderId)).toEqual([submitted.meta.txHash]);
    console.info(`[figures] happy path: 1 order, attempt 1, 1 transaction, ${elapsed} ms to confirmed`);
  });

  it('matrix 1: the same message delivered twice, concurrently: one transaction, one confirmed, seq strictly increasing', async () => {
    const m = await place();
    const started = Date.now();
    const outcomes = await Promise.all([executeOrderMessage(ctx, delivery(m)), executeOrderMessage(ctx, delivery(m))]);
    const elapsed = Date.now() - started;
    const frames = framesOf(await drainStatusFrames(sqs), m.orderId);
    const trace = JSON.stringify({ outcomes, frames: frames.map((f) => [f.seq, f.status, f.attempt, f.meta.lastError ?? f.meta.error]) });
    // One delivery executes; the other finds the lease held and comes back when it ends (visibility), then drops.
    expect(outcomes.map((outcome) => outcome.kind).sort(), trace).toEqual(['done', 'retry']);
    const later = outcomes.find((outcome) => outcome.kind === 'retry') as { kind: 'retry'; visibilitySeconds: number };
    expect(later.visibilitySeconds).toBeGreaterThan(0);
    expect(later.visibilitySeconds).toBeLessThanOrEqual(ctx.config.EXECUTION_TIMEOUT_SECONDS + 1);
    expect(await executeOrderMessage(ctx, { ...delivery(m), receiveCount: 2 })).toEqual({ kind: 'done' });

    expect(frames.filter((f) => f.status === 'confirmed')).toHaveLength(1);
    expect(frames.filter((f) => f.status === 'pending')).toHaveLength(0);
    expectStrictSeq(frames);
    expect(statuses(frames)).toEqual(['2:routing:1', '3:building:1', '4:submitted:1', '5:confirmed:1']);
    expect(await ctx.ledger.signaturesOf(m.orderId)).toHaveLength(1);
    expect(await ctx.orders.get(m.orderId)).toMatchObject({ status: 'confirmed', seq: 5, attempt: 1 });
    console.info(`[figures] matrix 1: 1 order, 2 concurrent deliveries, 1 transaction, ${elapsed} ms to confirmed`);
  });

  it('matrix 2: the host dies after sendTransaction; the redelivery reconciles by signature and does not send again', async () => {
    const m = await place();
    const realSend = ctx.chain.sendTransaction.bind(ctx.chain);
    let sends = 0;
    ctx.chain.sendTransaction = async (tx) => {
      sends++;
      await realSend(tx);
      throw new Error('host died');
    };
    const started = Date.now();
    try {
      await expect(executeOrderMessage(ctx, delivery(m, 1))).resolves.toMatchObject({ kind: 'retry' }); // the error is caught: the message comes back after a backoff
    } finally {
      ctx.chain.sendTransaction = realSend;
    }
    const died = await ctx.orders.get(m.orderId);
    expect(died).toMatchObject({ status: 'submitted', seq: 4, attempt: 1 });
    expect(died?.leaseUntilMs).toBeGreaterThan(Date.now()); // the dead host still holds a live lease
    expect(await ctx.ledger.signaturesOf(m.orderId)).toHaveLength(1);
    // The redelivery comes after the transaction confirmed on the chain, as SQS's visibility backoff makes it. (One
    // that came while the transaction was still in flight would rightly rebroadcast the same signed transaction: a
    // re-check rebroadcasts at once. Under load, this test used to race the fast profile's ~20 ms landing.)
    const sent = await ctx.ledger.get(died?.tx?.signature as string);
    expect(sent?.confirmAtMs).toEqual(expect.any(Number));
    while (Date.now() <= (sent?.confirmAtMs as number)) await new Promise((resolve) => setTimeout(resolve, 10));

    let resends = 0;
    ctx.chain.sendTransaction = async (tx) => {
      resends++;
      return realSend(tx);
    };
    try {
      await expect(executeOrderMessage(ctx, delivery(m, 2))).resolves.toEqual({ kind: 'done' });
    } finally {
      ctx.chain.sendTransaction = realSend;
    }
    const elapsed = Date.now() - started;

    const frames = framesOf(await drainStatusFrames(sqs), m.orderId);
    expect(statuses(frames)).toEqual(['2:routing:1', '3:building:1', '4:submitted:1', '5:confirmed:1']);
    expect(frames.some((f) => f.status === 'pending')).toBe(false);
    expect(frames[3]?.meta.txHash).toBe(died?.tx?.signature);
    expect(await ctx.orders.get(m.orderId)).toMatchObject({ status: 'confirmed', seq: 5, attempt: 1 });
    expect(await ctx.ledger.signaturesOf(m.orderId)).toEqual([died?.tx?.signature]);
    expect({ sends, resends }).toEqual({ sends: 1, resends: 0 });
    // The redelivery did not send, yet it reports the send's whole chain time: quote and build (recorded at
    // `submitted`), the RPC ack, and sent -> confirmed on the chain's own timeline.
    const record = await ctx.ledger.get(died?.tx?.signature as string);
    const ackMs = simulatedSendAckMs(ctx.profile, ctx.config.MOCK_SEED, record!.signature);
    expect(frames[3]?.meta.simulatedMs).toBe((died?.simulatedMs ?? 0) + ackMs + (record!.confirmAtMs! - record!.sentAtMs));
    console.info(`[figures] matrix 2: 1 order, 2 deliveries (receiveCount 1 died, 2 reconciled), 1 transaction, ${elapsed} ms to confirmed`);
  });

  it('an ack the Management API cannot take in time goes through the status queue, ahead of every later frame', async () => {
    const direct = ctx.notifier.postDirect;
    let refused = 0;
    ctx.notifier.postDirect = async () => {
      refused++;
      throw Object.assign(new Error('socket timeout'), { name: 'TimeoutError' });
    };
    let m;
    try {
      m = await place();
    } finally {
      ctx.notifier.postDirect = direct;
    }
    expect(refused).toBeGreaterThan(0);
    await expect(executeOrderMessage(ctx, delivery(m))).resolves.toEqual({ kind: 'done' });
    const frames = framesOf(await drainStatusFrames(sqs), m.orderId);
    expect(statuses(frames)).toEqual(['1:pending:1', '2:routing:1', '3:building:1', '4:submitted:1', '5:confirmed:1']);
  });

  it('matrix 9: a conditional write with a stale seq, or a forbidden transition, is rejected without overwriting', async () => {
    const m = await place();
    await expect(executeOrderMessage(ctx, delivery(m))).resolves.toEqual({ kind: 'done' });
    const before = await ctx.orders.get(m.orderId);
    expect(before).toMatchObject({ status: 'confirmed', seq: 5 });

    // A late writer that still believes the order is at building#3 tries to move it to submitted#4.
    const stale = orderFrame({ orderId: m.orderId, status: 'submitted', seq: 4, attempt: 1, atMs: Date.now(), meta: { txHash: 'stale' } });
    await expect(
      ctx.orders.transition({
        orderId: m.orderId,
        expected: { status: 'building', seq: 3 },
        next: { status: 'submitted', seq: 4, attempt: 1 },
        frame: stale,
        history: [stale],
        nowMs: Date.now(),
        leaseUntilMs: 0,
        set: { lastError: { code: 'STALE', message: 'must not be written' } },
      }),
    ).rejects.toBeInstanceOf(StaleWriteError);
    // Same status, wrong seq: rejected as well.
    await expect(
      ctx.orders.transition({
        orderId: m.orderId,
        expected: { status: 'confirmed', seq: 4 },
        next: { status: 'failed', seq: 5, attempt: 1 },
        frame: { ...stale, status: 'failed', seq: 5 },
        history: [{ ...stale, status: 'failed', seq: 5 }],
        nowMs: Date.now(),
        leaseUntilMs: 0,
      }),
    ).rejects.toBeInstanceOf(StaleWriteError);
    const after = await ctx.orders.get(m.orderId);
    expect(after).toEqual(before);

    // A forbidden transition (pending -> confirmed) is refused before anything is written or published.
    const fresh = await place();
    const pending = await ctx.orders.get(fresh.orderId);
    expect(pending).toMatchObject({ status: 'pending', seq: 1 });
    await drainStatusFrames(sqs, 100);
    await expect(advance(ctx, pending!, 'confirmed', { meta: { txHash: 'forged' } })).rejects.toBeInstanceOf(StaleWriteError);
    expect(await ctx.orders.get(fresh.orderId)).toEqual(pending);
    expect(framesOf(await drainStatusFrames(sqs, 200), fresh.orderId)).toEqual([]);
    expect((await queueDepth(sqs, resource('StatusQueue').url as string)).total).toBe(0);
  });

  it('a first delivery whose placed order is stale (already confirmed) reads the order and leaves it alone', async () => {
    const m = await place();
    await executeOrderMessage(ctx, delivery(m));
    expect((await ctx.orders.get(m.orderId))?.status).toBe('confirmed');
    // The same placement message again, as a first delivery (a duplicate copy): no second transaction, nothing written.
    const before = await ctx.orders.get(m.orderId);
    await expect(executeOrderMessage(ctx, delivery({ ...m, messageId: `${m.messageId}-copy` }))).resolves.toEqual({ kind: 'done' });
    expect(await ctx.orders.get(m.orderId)).toEqual(before);
    expect(await ctx.ledger.signaturesOf(m.orderId)).toHaveLength(1);
  });

  it('a placement message whose placed order does not parse is executed from the table, not dead-lettered', async () => {
    const m = await place();
    const body = JSON.stringify({ orderId: m.orderId, placed: { owner: 'acct-1', request: { slippageBps: 0 } } });
    await expect(executeOrderMessage(ctx, delivery({ ...m, body }))).resolves.toEqual({ kind: 'done' });
    expect((await ctx.orders.get(m.orderId))?.status).toBe('confirmed');
  });
});
