import { createHash } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type EventSourceMapping,
  type EventSourcePoller,
  failedRecords,
  type Invoke,
  mappingsFromConfig,
  type PollerOptions,
  startEventSourcePoller,
} from '../../infra/event-source-poller';
import {
  createTestQueue,
  deleteTestQueue,
  queueDepth,
  resource,
  sqsClient,
  stack,
  type TestQueue,
  waitFor,
} from './support/stack';

const sqs = sqsClient();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let poller: EventSourcePoller | undefined;
let queue: TestQueue | undefined;

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  if (queue) await deleteTestQueue(sqs, queue);
  queue = undefined;
});
afterAll(() => sqs.destroy());

const mappingFor = (q: TestQueue, over: Partial<EventSourceMapping> = {}): EventSourceMapping => ({
  functionName: 'fn',
  queueUrl: q.url,
  queueArn: q.arn,
  batchSize: 10,
  reportBatchItemFailures: true,
  fifo: false,
  ...over,
});

const start = (mapping: EventSourceMapping, invoke: Invoke, over: Partial<PollerOptions> = {}): EventSourcePoller => {
  // Short long polls: a graceful stop() waits for each to return before the next test reuses the emulator.
  poller = startEventSourcePoller({ sqsEndpoint: stack().sqsEndpoint, region: stack().region, mappings: [mapping], invoke, waitTimeSeconds: 1, ...over });
  return poller;
};

const sendMany = async (client: SQSClient, url: string, bodies: string[]): Promise<void> => {
  const chunks: string[][] = [];
  for (let i = 0; i < bodies.length; i += 10) chunks.push(bodies.slice(i, i + 10));
  await Promise.all(
    chunks.map((c) =>
      client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: c.map((body, j) => ({ Id: String(j), MessageBody: body })) })),
    ),
  );
};

const drainBodies = async (url: string): Promise<string[]> => {
  const bodies: string[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
    if (!out.Messages?.length) return bodies;
    bodies.push(...out.Messages.map((m) => m.Body ?? ''));
  }
};

describe('partial batch response rules (pure)', () => {
  const rec = (id: string): SQSRecord => ({ messageId: id }) as SQSRecord;
  const batch = [rec('a'), rec('b'), rec('c')];
  it('null/empty responses are complete success', () => {
    for (const r of [null, undefined, {}, { batchItemFailures: [] }, { batchItemFailures: null }, { statusCode: 200 }])
      expect(failedRecords(batch, r, false)).toEqual({ failed: new Set(), whole: false });
  });
  it('lists failures; unknown, empty or malformed identifiers fail the whole batch', () => {
    expect(failedRecords(batch, { batchItemFailures: [{ itemIdentifier: 'b' }] }, false).failed).toEqual(new Set(['b']));
    for (const r of [{ batchItemFailures: [{ itemIdentifier: 'zzz' }] }, { batchItemFailures: [{ itemIdentifier: '' }] }, { batchItemFailures: [{}] }, { batchItemFailures: 'x' }, 'oops', [1]])
      expect(failedRecords(batch, r, false)).toEqual({ failed: new Set(['a', 'b', 'c']), whole: true });
  });
  it('FIFO: everything after the first failure is returned', () => {
    expect(failedRecords(batch, { batchItemFailures: [{ itemIdentifier: 'b' }] }, true).failed).toEqual(new Set(['b', 'c']));
  });
});

describe('SQS event source mapping emulation (fauxqs)', () => {
  it('derives the mappings from serverless.yml', () => {
    const mappings = mappingsFromConfig(stack().config, stack().provisioned);
    const exec = mappings.find((m) => m.queueArn === resource('OrdersQueue').arn);
    expect(exec).toMatchObject({
      functionName: `solana-order-engine-${stack().stage}-executeOrder`,
      queueUrl: resource('OrdersQueue').url,
      batchSize: 10,
      reportBatchItemFailures: true,
      maximumConcurrency: 10,
      reservedConcurrency: 10,
      fifo: false,
    });
    expect(mappings.find((m) => m.queueArn === resource('StatusQueue').arn)?.fifo).toBe(true);
  });

  it('with a batching window, gathers batches larger than one receive (up to batchSize), as AWS does', async () => {
    queue = await createTestQueue(sqs, { visibilityTimeout: 10 });
    const sizes: number[] = [];
    await sendMany(sqs, queue.url, Array.from({ length: 25 }, (_, i) => `m${i}`));
    start(mappingFor(queue, { batchSize: 25, maximumBatchingWindow: 1, maximumConcurrency: 2 }), async (_fn, event) => {
      sizes.push(event.Records.length);
      return { ok: true, response: { batchItemFailures: [] } };
    }, { pollersPerMapping: 1 }); // one poller, so the batch is not shared out between concurrent receivers
    await waitFor('25 messages delivered', () => sizes.reduce((a, b) => a + b, 0) === 25, 10_000);
    expect(sizes).toEqual([25]);
  });

  it('refuses a batchSize over 10 without a batching window, and on FIFO queues (AWS validation)', () => {
    const config = structuredClone(stack().config);
    const events = config.functions.executeOrder?.events as unknown as { sqs: Record<string, unknown> }[];
    events[0]!.sqs.batchSize = 50;
    events[0]!.sqs.maximumBatchingWindow = 0;
    expect(() => mappingsFromConfig(config, stack().provisioned)).toThrow(/maximumBatchingWindow/);
    events[0]!.sqs.maximumBatchingWindow = 1;
    expect(mappingsFromConfig(config, stack().provisioned).find((m) => m.queueArn === resource('OrdersQueue').arn)).toMatchObject({ batchSize: 50, maximumBatchingWindow: 1 });
  });

  it('delivers a real SQSEvent and deletes the consumed messages', async () => {
    queue = await createTestQueue(sqs, { visibilityTimeout: 5 });
    const seen: SQSRecord[] = [];
    const p = start(mappingFor(queue, { maximumConcurrency: 2 }), async (fn, event: SQSEvent) => {
      expect(fn).toBe('fn');
      seen.push(...event.Records);
      return { ok: true, response: { batchItemFailures: [] } };
    });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: '{"n":0}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'order' }, blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') } },
      }),
    );
    await sendMany(sqs, queue.url, ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
    await waitFor('5 records', () => seen.length >= 5);
    await waitFor('queue empty', async () => (await queueDepth(sqs, queue!.url)).total === 0);
    expect(seen.map((r) => r.body).sort()).toEqual(['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
    const first = seen.find((r) => r.body === '{"n":0}')!;
    expect(first).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: stack().region,
      md5OfBody: createHash('md5').update('{"n":0}').digest('hex'),
      messageAttributes: {
        kind: { stringValue: 'order', dataType: 'String', stringListValues: [], binaryListValues: [] },
        blob: { binaryValue: Buffer.from('hi').toString('base64'), dataType: 'Binary' },
      },
    });
    expect(first.messageId).toMatch(/\S/);
    expect(first.receiptHandle).toMatch(/\S/);
    expect(first.attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(first.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(Number(first.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThan(0);
    expect(p.stats().fn).toMatchObject({ deleted: 5, failedItems: 0, throttledBatches: 0 });
  });

  it('partial batch failure deletes the successes and keeps the failed message for redelivery', async () => {
    queue = await createTestQueue(sqs, { visibilityTimeout: 1 });
    const deliveries: Array<{ body: string; rc: string }> = [];
    const p = start(mappingFor(queue), async (_fn, event) => {
      const failures: Array<{ itemIdentifier: string }> = [];
      for (const r of event.Records) {
        deliveries.push({ body: r.body, rc: r.attributes.ApproximateReceiveCount });
        if (r.body === 'fail' && r.attributes.ApproximateReceiveCount === '1') failures.push({ itemIdentifier: r.messageId });
      }
      return { ok: true, response: { batchItemFailures: failures } };
    });
    await sendMany(sqs, queue.url, ['ok-1', 'fail', 'ok-2']);
    await waitFor('the failed message to come back', () => deliveries.some((d) => d.body === 'fail' && d.rc === '2'), 15_000);
    await waitFor('queue empty', async () => (await queueDepth(sqs, queue!.url)).total === 0);
    expect(deliveries.filter((d) => d.body === 'ok-1')).toEqual([{ body: 'ok-1', rc: '1' }]);
    expect(deliveries.filter((d) => d.body === 'ok-2')).toEqual([{ body: 'ok-2', rc: '1' }]);
    expect(deliveries.filter((d) => d.body === 'fail').map((d) => d.rc)).toEqual(['1', '2']);
    expect(p.stats().fn).toMatchObject({ deleted: 3, failedItems: 1 });
  });

  it('a failed invocation deletes nothing; an unknown itemIdentifier fails the whole batch', async () => {
    queue = await createTestQueue(sqs, { visibilityTimeout: 1 });
    const rcs: Record<string, string[]> = {};
    let calls = 0;
    start(mappingFor(queue), async (_fn, event) => {
      calls++;
      for (const r of event.Records) (rcs[r.body] ??= []).push(r.attributes.ApproximateReceiveCount);
      if (event.Records.some((r) => r.body === 'boom')) throw new Error('handler crashed');
      return { ok: true, response: { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] } };
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'boom' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'bogus-response' }));
    await waitFor('both redelivered', () => (rcs.boom ?? []).includes('2') && (rcs['bogus-response'] ?? []).includes('2'), 15_000);
    await poller?.stop();
    poller = undefined;
    expect(calls).toBeGreaterThanOrEqual(2);
    expect((await queueDepth(sqs, queue.url)).total).toBe(2); // nothing was deleted
  });

  it('idle pollers keep one long poll open, so a message does not wake (and empty) every poller', async () => {
    queue = await createTestQueue(sqs, { visibilityTimeout: 5 });
    const seen: string[] = [];
    const p = start(mappingFor(queue, { maximumConcurrency: 10 }), async (_fn, event) => {
      seen.push(...event.Records.map((r) => r.body));
      return { ok: true, response: { batchItemFailures: [] } };
    });
    await sleep(300); // all 10 pollers are idle
    const before = p.stats().fn!;
    for (let i = 0; i < 20; i++) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: `m-${i}` }));
      await waitFor(`m-${i} delivered`, () => seen.includes(`m-${i}`));
    }
    const after = p.stats().fn!;
    expect(seen).toHaveLength(20);
    // A long poll per idle poller would return 9 empty receives per message (about 180 here); one open long poll
    // costs about 2 per message: the winner's next short poll and the next poller's long poll ending on the next one.
    expect(after.emptyReceives - before.emptyReceives).toBeLessThanOrEqual(60);
    expect(after.receives - before.receives).toBeGreaterThanOrEqual(20);
  });

  it('never runs more than maximumConcurrency invocations under a burst of 300 messages', async () => {
    queue = await createTestQueue(sqs, { visibilityTimeout: 30 });
    const processed = new Map<string, number>();
    let current = 0;
    let max = 0;
    const p = start(mappingFor(queue, { maximumConcurrency: 10, reservedConcurrency: 10 }), async (_fn, event) => {
      current++;
      max = Math.max(max, current);
      await sleep(150);
      for (const r of event.Records) processed.set(r.body, (processed.get(r.body) ?? 0) + 1);
      current--;
      return { ok: true, response: { batchItemFailures: [] } };
    });
    const bodies = Array.from({ length: 300 }, (_, i) => `m-${i}`);
    await sendMany(sqs, queue.url, bodies);
    await waitFor('300 processed', () => processed.size === 300, 30_000);
    await waitFor('queue empty', async () => (await queueDepth(sqs, queue!.url)).total === 0);
    expect(max).toBe(10);
    expect(p.stats().fn?.maxConcurrentInvocations).toBe(10);
    expect(bodies.every((b) => (processed.get(b) ?? 0) >= 1)).toBe(true);
    expect(p.stats().fn).toMatchObject({ deleted: 300, throttledBatches: 0 });
  });

  describe('reserved concurrency without maximumConcurrency (serverless-anchors.md B.4)', () => {
    const run = async (honourMaximumConcurrency: boolean): Promise<{ neverInvokedInDlq: number; dlq: number; invoked: Set<string>; throttled: number }> => {
      queue = await createTestQueue(sqs, { visibilityTimeout: 2, maxReceiveCount: 3 });
      const invoked = new Set<string>();
      const p = start(
        mappingFor(queue, { batchSize: 5, maximumConcurrency: 10, reservedConcurrency: 10 }),
        async (_fn, event) => {
          for (const r of event.Records) invoked.add(r.body);
          await sleep(1000); // 10 x 5 messages per second: the 300-message backlog outlives 3 visibility timeouts
          return { ok: true, response: { batchItemFailures: [] } };
        },
        { honourMaximumConcurrency, pollersPerMapping: honourMaximumConcurrency ? undefined : 30 },
      );
      await sendMany(sqs, queue.url, Array.from({ length: 300 }, (_, i) => `m-${i}`));
      await waitFor('source queue drained', async () => (await queueDepth(sqs, queue!.url)).total === 0, 40_000);
      const throttled = p.stats().fn?.throttledBatches ?? 0;
      await p.stop();
      poller = undefined;
      const dlqBodies = await drainBodies(queue.dlq!.url);
      return { neverInvokedInDlq: dlqBodies.filter((b) => !invoked.has(b)).length, dlq: dlqBodies.length, invoked, throttled };
    };

    it('negative control: pollers that ignore capacity throttle batches into the DLQ without running them', async () => {
      const r = await run(false);
      expect(r.throttled).toBeGreaterThan(0);
      expect(r.neverInvokedInDlq).toBeGreaterThan(0);
    });

    it('with maximumConcurrency honoured no message reaches the DLQ and all run', async () => {
      const r = await run(true);
      expect(r.throttled).toBe(0);
      expect(r.dlq).toBe(0);
      expect(r.invoked.size).toBe(300);
    });
  });
});
