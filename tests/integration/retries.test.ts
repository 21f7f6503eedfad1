import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { drainStatusFrames, framesOf, inProcessInvoke, placeTestOrder, takeMessages, testContext, useEngineEnv } from './support/engine';
import { purgeQueues, queueDepth, resource, sqsClient, stack, waitFor } from './support/stack';
import type { EventSourcePoller } from '../../infra/event-source-poller';
import type { EngineContext } from '../../lib/engine';
import type { OrderFrame } from '../../lib/notify/frames';

// The engine (and the execute-order handler module, which builds its context at import) reads process.env at first use.
useEngineEnv();

const { executeOrderMessage } = await import('../../lib/orders/execute-order');
const { mappingsFromConfig, startEventSourcePoller } = await import('../../infra/event-source-poller');
const executeOrder = (await import('../../functions/execute-order/handler')).handler;
const { OrdersTable } = await import('../../lib/aws/orders-table');
const { InfrastructureError } = await import('../../lib/errors');

const sqs = sqsClient();
const ordersUrl = resource('OrdersQueue').url as string;
const dlqUrl = resource('OrdersDeadLetterQueue').url as string;
let ctx: EngineContext;
let poller: EventSourcePoller | undefined;

beforeAll(() => {
  ctx = testContext();
});
beforeEach(() => purgeQueues(sqs));
/*
 * Stopping the poller aborts its long polls on the client side only: the emulator may still hand the next message to
 * the abandoned ReceiveMessage (it then stays invisible for the queue's 180 s visibility timeout). Wait the long
 * poll (1 s here) out before the next test sends anything.
 */
const stopPoller = async (): Promise<void> => {
  if (!poller) return;
  await poller.stop();
  poller = undefined;
  await new Promise((resolve) => setTimeout(resolve, 1_200));
};

afterEach(async () => {
  vi.restoreAllMocks();
  await stopPoller();
});
afterAll(() => sqs.destroy());

type Handler = (event: SQSEvent, context: never) => Promise<unknown>;

/** The executeOrder event source mapping of serverless.yml, polled in this worker; `spy` sees every event first. */
const startExecutePoller = (spy?: (event: SQSEvent) => void): EventSourcePoller => {
  const mappings = mappingsFromConfig(stack().config, stack().provisioned).filter((m) => m.functionName.endsWith('executeOrder'));
  expect(mappings).toHaveLength(1);
  const invoke = inProcessInvoke({ executeOrder: executeOrder as unknown as Handler });
  poller = startEventSourcePoller({
    sqsEndpoint: stack().sqsEndpoint,
    region: stack().region,
    mappings,
    waitTimeSeconds: 1,
    invoke: (name, event) => {
      spy?.(event);
      return invoke(name, event);
    },
  });
  return poller;
};

const place = (over: Record<string, unknown> = {}): Promise<string> => placeTestOrder(ctx, over);

const waitTerminal = async (orderId: string, timeoutMs: number): Promise<void> =>
  waitFor(`order ${orderId} terminal`, async () => ['confirmed', 'failed'].includes((await ctx.orders.get(orderId))?.status ?? ''), timeoutMs);

const trace = (frames: OrderFrame[]): string[] =>
  frames.map((f) => `${f.seq}:${f.status}:${f.attempt}${f.meta.lastError ? `:${(f.meta.lastError as { code: string }).code}` : ''}`);

const atMs = (frame: OrderFrame | undefined): number => Date.parse(frame?.at ?? '');

describe('retries through SQS (executeOrder mapping polled in-process)', () => {
  /** Matrix 3: transient errors on attempts 1 and 2 (RPC_TIMEOUT, then `second`), success on 3. */
  const matrix3 = async (second: 'RPC_TIMEOUT' | 'BLOCKHASH_EXPIRED'): Promise<void> => {
    startExecutePoller();
    const placedAt = Date.now();
    const orderId = await place({ mockFailures: { '1': 'RPC_TIMEOUT', '2': second } });
    await waitTerminal(orderId, 25_000);
    const elapsed = Date.now() - placedAt;
    const frames = framesOf(await drainStatusFrames(sqs), orderId);
    const item = await ctx.orders.get(orderId);
    const why = JSON.stringify({ frames: trace(frames), status: item?.status, lastError: item?.lastFrame.meta });

    expect(item?.status, why).toBe('confirmed');
    const pending2 = frames.find((f) => f.status === 'pending' && f.attempt === 2);
    const pending3 = frames.find((f) => f.status === 'pending' && f.attempt === 3);
    const routing2 = frames.find((f) => f.status === 'routing' && f.attempt === 2);
    const routing3 = frames.find((f) => f.status === 'routing' && f.attempt === 3);
    expect(pending2?.meta.lastError, why).toMatchObject({ code: 'RPC_TIMEOUT' });
    expect(pending3?.meta.lastError, why).toMatchObject({ code: second });
    expect(frames.at(-1), why).toMatchObject({ status: 'confirmed', attempt: 3 });
    frames.forEach((f, i) => expect(f.seq, why).toBe(i + 2));
    const gap2 = atMs(routing2) - atMs(pending2);
    const gap3 = atMs(routing3) - atMs(pending3);
    expect(gap2).toBeGreaterThanOrEqual(900); // at least the 1 s base backoff
    expect(gap3, `gaps ${gap2} ms then ${gap3} ms`).toBeGreaterThan(gap2);
    await waitFor('orders queue empty', async () => (await queueDepth(sqs, ordersUrl)).total === 0, 5_000);
    const txs = await ctx.ledger.signaturesOf(orderId);
    // RPC timeouts never reach the leader; an expired blockhash was sent (and never landed); attempt 3 landed.
    expect(txs).toHaveLength(second === 'BLOCKHASH_EXPIRED' ? 2 : 1);
    console.info(`[figures] matrix 3 (RPC_TIMEOUT, ${second}): 1 order, 3 attempts, ${txs.length} transaction(s), gaps ${gap2} ms / ${gap3} ms, ${elapsed} ms to confirmed`);
  };

  it('matrix 3: RPC timeouts on attempts 1 and 2, success on 3; pending frames carry the last error; the gaps grow', async () => {
    await matrix3('RPC_TIMEOUT');
  });

  /*
   * A forced BLOCKHASH_EXPIRED outlives the confirmation wait, so attempt 2 ends "ambiguous" and its message comes back
   * once more only to reconcile by signature (expired: nothing landed) before attempt 3. That receive is not an attempt.
   */
  it('matrix 3 (issue case): RPC_TIMEOUT on 1, BLOCKHASH_EXPIRED on 2, confirmed on attempt 3', async () => {
    await matrix3('BLOCKHASH_EXPIRED');
  });

  it('matrix 4: transient errors on all 3 attempts: failed RETRIES_EXHAUSTED with the last error; nothing left on any queue', async () => {
    startExecutePoller();
    const placedAt = Date.now();
    const orderId = await place({ mockFailures: { '1': 'RPC_TIMEOUT', '2': 'RPC_TIMEOUT', '3': 'RPC_TIMEOUT' } });
    await waitTerminal(orderId, 25_000);
    const elapsed = Date.now() - placedAt;
    const frames = framesOf(await drainStatusFrames(sqs), orderId);
    const why = JSON.stringify(trace(frames));
    const last = frames.at(-1);
    expect(last?.status, why).toBe('failed');
    expect(last?.attempt).toBe(3);
    expect(last?.meta).toMatchObject({ error: { code: 'RETRIES_EXHAUSTED' }, lastError: { code: 'RPC_TIMEOUT' }, attempts: 3 });
    expect(frames.filter((f) => f.status === 'pending').map((f) => f.attempt), why).toEqual([2, 3]);
    frames.forEach((f, i) => expect(f.seq, why).toBe(i + 2));
    expect(await ctx.orders.get(orderId)).toMatchObject({ status: 'failed', attempt: 3, lastError: { code: 'RETRIES_EXHAUSTED' } });
    await waitFor('orders queue and DLQ empty', async () => (await queueDepth(sqs, ordersUrl)).total + (await queueDepth(sqs, dlqUrl)).total === 0, 5_000);
    expect(await ctx.ledger.signaturesOf(orderId)).toHaveLength(0); // RPC timeouts never reach the leader
    console.info(`[figures] matrix 4: 1 order, 3 attempts, 0 transactions, ${elapsed} ms to failed`);
  });

  it('an infrastructure error mid-execution brings the message back after the backoff, not the queue visibility timeout', async () => {
    const transition = OrdersTable.prototype.transition;
    let failedOnce = false;
    vi.spyOn(OrdersTable.prototype, 'transition').mockImplementation(function (this: InstanceType<typeof OrdersTable>, params) {
      if (params.next.status === 'submitted' && !failedOnce) {
        failedOnce = true;
        return Promise.reject(new InfrastructureError('INTERNAL', 'DynamoDB unreachable (injected)'));
      }
      return transition.call(this, params);
    });
    const receiveCounts: number[] = [];
    startExecutePoller((event) => receiveCounts.push(...event.Records.map((r) => Number(r.attributes.ApproximateReceiveCount))));
    const placedAt = Date.now();
    const orderId = await place();
    await waitTerminal(orderId, 20_000); // the orders queue's own visibility timeout is 180 s
    const elapsed = Date.now() - placedAt;
    const frames = framesOf(await drainStatusFrames(sqs), orderId);
    const why = JSON.stringify({ frames: trace(frames), receiveCounts });
    expect(failedOnce).toBe(true);
    expect(await ctx.orders.get(orderId), why).toMatchObject({ status: 'confirmed' });
    // The interrupted attempt (routing recorded, nothing sent) is taken over as attempt 2, and exactly one transaction exists.
    expect(trace(frames), why).toEqual(['2:routing:1', '3:pending:2:ATTEMPT_INTERRUPTED', '4:routing:2', '5:building:2', '6:submitted:2', '7:confirmed:2']);
    expect(receiveCounts, why).toEqual([1, 2]);
    expect(await ctx.ledger.signaturesOf(orderId)).toHaveLength(1);
    expect(elapsed).toBeLessThan(10_000);
    console.info(`[figures] infrastructure error mid-execution: back after the backoff, confirmed ${elapsed} ms after placing`);
  });

  it('a final failure (slippage exceeded) ends failed at once on attempt 1 and is never retried', async () => {
    const orderId = await place({ mockFailures: { '1': 'SLIPPAGE_EXCEEDED' } });
    const [m] = await takeMessages(sqs, ordersUrl, 1);
    const started = Date.now();
    const outcome = await executeOrderMessage(ctx, { messageId: m!.messageId, body: m!.body, receiveCount: 1, deadlineMs: Date.now() + 25_000 });
    const elapsed = Date.now() - started;
    expect(outcome).toEqual({ kind: 'done' });
    const frames = framesOf(await drainStatusFrames(sqs), orderId);
    expect(trace(frames)).toEqual(['2:routing:1', '3:building:1', '4:submitted:1', '5:failed:1']);
    const failed = frames[3]!;
    expect(failed.meta).toMatchObject({ error: { code: 'SLIPPAGE_EXCEEDED', message: expect.any(String) }, attempts: 1, txHash: frames[2]!.meta.txHash });
    // The landed, failed transaction still paid its fees: the base fee and the priority fee it bid (submitted frame).
    const bid = frames[2]!.meta.priorityFee as { microLamportsPerCu: number; computeUnitLimit: number };
    const priorityLamports = Math.ceil((bid.microLamportsPerCu * bid.computeUnitLimit) / 1_000_000);
    expect(failed.meta.fees).toEqual({ baseLamports: 5000, priorityLamports, computeUnits: bid.computeUnitLimit });
    expect(failed.meta.feeLamports).toBe(5000 + priorityLamports);
    expect(await ctx.orders.get(orderId)).toMatchObject({ status: 'failed', seq: 5, attempt: 1, lastError: { code: 'SLIPPAGE_EXCEEDED' } });
    expect(await ctx.ledger.signaturesOf(orderId)).toHaveLength(1);
    console.info(`[figures] final failure: 1 order, 1 attempt, 1 transaction (landed, slippage), ${elapsed} ms to failed; message: ${(failed.meta.error as { message: string }).message}`);
  });

  it('matrix 5: malformed messages are not retried forever: they reach the DLQ within maxReceiveCount receives', async () => {
    const receives = new Map<string, number>();
    startExecutePoller((event) => {
      for (const r of event.Records) receives.set(r.body, Math.max(receives.get(r.body) ?? 0, Number(r.attributes.ApproximateReceiveCount)));
    });
    const bodies = ['not json', '{"orderId":"nope"}', '{"orderId":"01ARZ3NDEKTSV4RRFFQ69G5FAV"}'];
    const started = Date.now();
    for (const body of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: ordersUrl, MessageBody: body }));
    await waitFor('the malformed messages in the DLQ', async () => (await queueDepth(sqs, dlqUrl)).visible === bodies.length, 20_000);
    const elapsed = Date.now() - started;
    await stopPoller();
    expect((await queueDepth(sqs, ordersUrl)).total).toBe(0);
    const dead = await takeMessages(sqs, dlqUrl, 10);
    expect(dead.map((d) => d.body).sort()).toEqual([...bodies].sort());
    const resources = (stack().config as unknown as { resources: { Resources: Record<string, { Properties?: { RedrivePolicy?: { maxReceiveCount?: unknown } } }> } })
      .resources.Resources;
    const maxReceiveCount = Number(resources.OrdersQueue?.Properties?.RedrivePolicy?.maxReceiveCount);
    expect(maxReceiveCount).toBe(10);
    for (const body of bodies) {
      expect(receives.get(body), body).toBeGreaterThanOrEqual(1);
      expect(receives.get(body), body).toBeLessThanOrEqual(maxReceiveCount);
    }
    console.info(`[figures] matrix 5: ${bodies.length} malformed messages, receives ${JSON.stringify(Object.fromEntries(receives))} (maxReceiveCount ${maxReceiveCount}), ${elapsed} ms to the DLQ`);
  });

  it('matrix 7: 300 orders through the executeOrder mapping (cap 10) all confirm; nothing reaches the DLQ', async () => {
    const p = startExecutePoller();
    const started = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 300; i += 30) ids.push(...(await Promise.all(Array.from({ length: 30 }, () => place()))));
    const placedMs = Date.now() - started;
    const statusOf = async (): Promise<Record<string, number>> => {
      const counts: Record<string, number> = {};
      for (let i = 0; i < ids.length; i += 50) {
        const items = await Promise.all(ids.slice(i, i + 50).map((id) => ctx.orders.get(id)));
        for (const item of items) counts[item?.status ?? 'missing'] = (counts[item?.status ?? 'missing'] ?? 0) + 1;
      }
      return counts;
    };
    let counts: Record<string, number> = {};
    await waitFor(
      '300 orders terminal',
      async () => {
        counts = await statusOf();
        return (counts.confirmed ?? 0) + (counts.failed ?? 0) === ids.length;
      },
      45_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; statuses ${JSON.stringify(counts)}`);
    });
    const elapsed = Date.now() - started;
    expect(counts).toEqual({ confirmed: 300 });
    await waitFor('orders queue empty', async () => (await queueDepth(sqs, ordersUrl)).total === 0, 5_000);
    expect((await queueDepth(sqs, dlqUrl)).total).toBe(0);
    const stats = p.stats()[Object.keys(p.stats())[0]!]!;
    expect(stats.maxConcurrentInvocations).toBeLessThanOrEqual(10);
    expect(stats.throttledBatches).toBe(0);
    const txCounts = await Promise.all(ids.slice(0, 50).map((id) => ctx.ledger.signaturesOf(id).then((s) => s.length)));
    expect(new Set(txCounts)).toEqual(new Set([1]));
    console.info(
      `[figures] matrix 7: 300 orders (placed in ${placedMs} ms), all confirmed in ${elapsed} ms, ${stats.invocations} invocations, max ${stats.maxConcurrentInvocations} concurrent, ${stats.deleted} deleted, DLQ 0`,
    );
  }, 70_000);
});
