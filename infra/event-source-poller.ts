import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { setMaxListeners } from 'node:events';
import type { SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { dummyCredentials, sleep } from './env';
import { type Logger, silentLogger } from './log';
import type { Provisioned } from './provision';
import type { ServerlessConfig, SqsEventConfig } from './serverless-config';

/**
 * Local emulation of the Lambda SQS event source mapping (embedded-stack.md §4.3, serverless-anchors.md B.4).
 * serverless-offline has none that honours ReportBatchItemFailures or concurrency limits (P8), so this is ours.
 */

export interface EventSourceMapping {
  functionName: string;
  queueUrl: string;
  queueArn: string;
  batchSize: number;
  /** Seconds to keep gathering a batch after its first message (AWS MaximumBatchingWindowInSeconds); 0 = none. */
  maximumBatchingWindow?: number;
  reportBatchItemFailures: boolean;
  maximumConcurrency?: number;
  reservedConcurrency?: number;
  fifo: boolean;
}

/**
 * `transport: true`: the invoke request itself failed (refused, reset, timed out), so the function may not have run.
 * The poller retries those at once, as Lambda's event source mapping does, instead of leaving the messages to the
 * visibility timeout. A function error is not retried here: its messages come back after the visibility timeout.
 */
export type InvokeResult = { ok: true; response: unknown } | { ok: false; error: string; transport?: boolean };

/** Pauses between re-invokes after a transport failure: about 3.4 s in all, enough for a supervised host restart to begin answering. */
export const INVOKE_RETRY_DELAYS_MS = [100, 300, 1_000, 2_000] as const;
export type Invoke = (functionName: string, event: SQSEvent) => Promise<InvokeResult>;

export interface MappingStats {
  invocations: number;
  maxConcurrentInvocations: number;
  currentConcurrent: number;
  throttledBatches: number;
  deleted: number;
  failedItems: number;
  /** Re-invokes after a transport failure of the invoke request (connection reset or refused). */
  invokeRetries: number;
  /** ReceiveMessage calls, and those that came back empty (the cost of waiting for work). */
  receives: number;
  emptyReceives: number;
}

export interface PollerOptions {
  sqsEndpoint: string;
  region: string;
  mappings: EventSourceMapping[];
  invoke: Invoke;
  log?: Logger;
  /**
   * true (default): the mapping's maximumConcurrency is honoured (capacity is reserved before ReceiveMessage).
   * false: negative control, AWS without maximumConcurrency: pollers receive regardless of capacity and a batch
   * received while reservedConcurrency invocations run is throttled (not invoked, not deleted).
   */
  honourMaximumConcurrency?: boolean;
  /** Long-poll wait (max 20, as AWS). */
  waitTimeSeconds?: number;
  /** Pollers per mapping. Default: the concurrency cap (honoured mode), cap + 10 (negative control). */
  pollersPerMapping?: number;
}

export interface EventSourcePoller {
  stats(): Record<string, MappingStats>;
  /** Graceful by default (waits for long polls, releases what they bring); `abandon` when the queue dies too. */
  stop(options?: { abandon?: boolean }): Promise<void>;
}

/** Concurrency cap without any setting (AWS starts with 5 concurrent batches per mapping). */
const DEFAULT_CAP = 5;

const toInt = (v: unknown): number | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

const capOf = (m: EventSourceMapping): number => {
  const limits = [m.maximumConcurrency, m.reservedConcurrency].filter((x): x is number => typeof x === 'number' && x > 0);
  return limits.length ? Math.min(...limits) : DEFAULT_CAP;
};

/** One mapping per `sqs` event of every function in the printed config, resolved against the provisioned queues. */
export const mappingsFromConfig = (config: ServerlessConfig, provisioned: Provisioned): EventSourceMapping[] => {
  const mappings: EventSourceMapping[] = [];
  const queues = Object.entries(provisioned).filter(([, r]) => r.type === 'queue');
  for (const [key, fn] of Object.entries(config.functions)) {
    for (const event of fn.events ?? []) {
      if (!event.sqs) continue;
      const sqs: SqsEventConfig = typeof event.sqs === 'string' ? { arn: event.sqs } : event.sqs;
      if (sqs.enabled === false) continue;
      let queue: (typeof queues)[number] | undefined;
      const arn = sqs.arn as unknown;
      if (typeof arn === 'string') {
        queue = queues.find(([, r]) => r.arn === arn || r.name === arn.split(':').at(-1));
      } else if (arn && typeof arn === 'object' && 'Fn::GetAtt' in arn) {
        const getAtt = (arn as { 'Fn::GetAtt': unknown })['Fn::GetAtt'];
        const id = Array.isArray(getAtt) ? String(getAtt[0]) : String(getAtt).split('.')[0];
        queue = queues.find(([logicalId]) => logicalId === id);
      }
      if (!queue) throw new Error(`function ${key}: sqs event source ${JSON.stringify(arn)} is not a provisioned queue`);
      const [, q] = queue;
      const maximumConcurrency = toInt(sqs.maximumConcurrency);
      const maximumBatchingWindow = toInt(sqs.maximumBatchingWindow);
      const batchSize = toInt(sqs.batchSize) ?? 10;
      const fifo = q.name.endsWith('.fifo');
      // AWS's own validation: FIFO batches hold at most 10; more than 10 needs a batching window of at least 1 s.
      if (fifo && batchSize > 10) throw new Error(`function ${key}: a FIFO event source takes batchSize <= 10`);
      if (batchSize > 10 && !(maximumBatchingWindow && maximumBatchingWindow >= 1)) {
        throw new Error(`function ${key}: batchSize ${batchSize} > 10 needs maximumBatchingWindow >= 1`);
      }
      const reservedConcurrency = toInt(fn.reservedConcurrency);
      mappings.push({
        functionName: fn.name,
        queueUrl: q.url as string,
        queueArn: q.arn,
        batchSize,
        ...(maximumBatchingWindow ? { maximumBatchingWindow } : {}),
        reportBatchItemFailures: sqs.functionResponseType === 'ReportBatchItemFailures',
        ...(maximumConcurrency !== undefined ? { maximumConcurrency } : {}),
        ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}),
        fifo,
      });
    }
  }
  return mappings;
};

/** Lambda's shape for SQS message attributes (binary as base64). */
const lambdaMessageAttributes = (attrs: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes => {
  const out: SQSMessageAttributes = {};
  for (const [name, v] of Object.entries(attrs ?? {})) {
    out[name] = {
      ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      dataType: v.DataType ?? 'String',
    };
  }
  return out;
};

export const toSqsRecord = (m: Message, mapping: EventSourceMapping, region: string): SQSRecord => {
  const a = m.Attributes ?? {};
  const attributes = {
    ...a,
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? '000000000000',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  } as SQSRecordAttributes;
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes,
    messageAttributes: lambdaMessageAttributes(m.MessageAttributes),
    md5OfBody: m.MD5OfBody ?? '',
    ...(m.MD5OfMessageAttributes ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: mapping.queueArn,
    awsRegion: region,
  };
};

/**
 * Which records failed, per AWS partial batch response rules
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
 * null/empty response or empty/null batchItemFailures = complete success; a malformed response or an
 * itemIdentifier that is missing, empty or not in the batch = the whole batch failed. FIFO: everything after the
 * first failure is returned too.
 */
export const failedRecords = (records: SQSRecord[], response: unknown, fifo: boolean): { failed: Set<string>; whole: boolean } => {
  const all = new Set(records.map((r) => r.messageId));
  if (response === null || response === undefined || response === '') return { failed: new Set(), whole: false };
  if (typeof response !== 'object' || Array.isArray(response)) return { failed: all, whole: true };
  const list = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return { failed: new Set(), whole: false };
  if (!Array.isArray(list)) return { failed: all, whole: true };
  const failed = new Set<string>();
  for (const item of list) {
    const id = item && typeof item === 'object' ? (item as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '' || !all.has(id)) return { failed: all, whole: true };
    failed.add(id);
  }
  if (fifo && failed.size) {
    const first = records.findIndex((r) => failed.has(r.messageId));
    for (const r of records.slice(first)) failed.add(r.messageId);
  }
  return { failed, whole: false };
};

class Semaphore {
  #free: number;
  #waiters: Array<() => void> = [];
  constructor(size: number) {
    this.#free = size;
  }
  /** Resolves true with a slot, false if the signal aborted first. */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(true);
    }
    return new Promise((resolveSlot) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolveSlot(true);
      };
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== grant);
        resolveSlot(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(grant);
    });
  }
  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}

export const startEventSourcePoller = (options: PollerOptions): EventSourcePoller => {
  const log = options.log ?? silentLogger;
  const honour = options.honourMaximumConcurrency ?? true;
  const waitTimeSeconds = Math.min(Math.max(options.waitTimeSeconds ?? 20, 0), 20);
  const sqs = new SQSClient({
    endpoint: options.sqsEndpoint,
    region: options.region,
    credentials: dummyCredentials,
    useQueueUrlAsEndpoint: false, // P6: emulator queue URLs carry unresolvable hosts
  });
  /*
   * `abort` stops the loops; `abandon` also cuts long polls short. A cut poll is only cancelled on our side: the
   * emulator may still hand its next message to the dead request, where it stays invisible for a visibility timeout.
   * So a graceful stop lets each poll return (at most waitTimeSeconds) and releases whatever it brought.
   */
  const abort = new AbortController();
  const abandon = new AbortController();
  setMaxListeners(0, abort.signal);
  setMaxListeners(0, abandon.signal); // one listener per concurrent receive / waiting poller
  const inFlight = new Set<Promise<void>>();
  const loops: Promise<void>[] = [];
  const allStats: Record<string, MappingStats> = {};

  for (const mapping of options.mappings) {
    const stats: MappingStats = {
      invocations: 0,
      maxConcurrentInvocations: 0,
      currentConcurrent: 0,
      throttledBatches: 0,
      deleted: 0,
      failedItems: 0,
      invokeRetries: 0,
      receives: 0,
      emptyReceives: 0,
    };
    const key = allStats[mapping.functionName] ? `${mapping.functionName}:${mapping.queueArn}` : mapping.functionName;
    allStats[key] = stats;
    const cap = capOf(mapping);
    // In the negative control reserved concurrency is the only limit (throttling), maximumConcurrency is ignored.
    const throttleAt = mapping.reservedConcurrency && mapping.reservedConcurrency > 0 ? mapping.reservedConcurrency : Infinity;
    const semaphore = new Semaphore(cap);
    const longPollGate = new Semaphore(1);
    const pollers = options.pollersPerMapping ?? (honour ? cap : cap + 10);
    const mlog = log.child(mapping.functionName);

    const deleteRecords = async (records: SQSRecord[]): Promise<void> => {
      for (let i = 0; i < records.length; i += 10) {
        const chunk = records.slice(i, i + 10);
        const out = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: mapping.queueUrl,
            Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
          }),
        );
        stats.deleted += out.Successful?.length ?? 0;
        for (const f of out.Failed ?? []) mlog.warn(`delete failed: ${f.Code} ${f.Message ?? ''}`);
      }
    };

    const runBatch = async (records: SQSRecord[]): Promise<void> => {
      stats.invocations++;
      stats.currentConcurrent++;
      stats.maxConcurrentInvocations = Math.max(stats.maxConcurrentInvocations, stats.currentConcurrent);
      try {
        const event: SQSEvent = { Records: records };
        let result: InvokeResult;
        for (let retry = 0; ; retry++) {
          try {
            result = await options.invoke(mapping.functionName, event);
          } catch (err) {
            result = { ok: false, error: err instanceof Error ? err.message : String(err), transport: true };
          }
          const delay = INVOKE_RETRY_DELAYS_MS[retry];
          if (result.ok || !result.transport || delay === undefined || abort.signal.aborted) break;
          stats.invokeRetries++;
          mlog.warn(`invoke of ${mapping.functionName} failed in transport (${result.error}); retrying in ${delay} ms`);
          await new Promise((r) => setTimeout(r, delay));
        }
        if (!result.ok) {
          stats.failedItems += records.length;
          mlog.warn(`invocation failed (${result.error}); ${records.length} message(s) left for visibility-timeout retry`);
          return;
        }
        let toDelete = records;
        if (mapping.reportBatchItemFailures) {
          const { failed, whole } = failedRecords(records, result.response, mapping.fifo);
          if (whole) mlog.warn('invalid partial batch response: the whole batch failed');
          stats.failedItems += failed.size;
          toDelete = records.filter((r) => !failed.has(r.messageId));
          if (failed.size) mlog.debug(`${failed.size}/${records.length} record(s) reported failed`);
        }
        if (toDelete.length) await deleteRecords(toDelete);
      } catch (err) {
        mlog.warn(`batch handling error: ${String(err)}`);
      } finally {
        stats.currentConcurrent--;
      }
    };

    /*
     * One batch, as the event source mapping builds it: a long poll for the first messages, then (with a batching
     * window) more receives until the batch is full or the window, counted from the first message, has passed.
     */
    /*
     * The first receive of a batch: a short poll, and only if the queue looked empty a long poll, one at a time per
     * mapping. A message arriving wakes every waiting long poll (in fauxqs as in SQS) and all but one come back empty:
     * with a long poll per idle poller, each message cost up to `cap` empty receives, which kept the emulator's
     * process busy at idle. Under load the short polls return messages and run side by side.
     */
    const receiveFirst = async (maxMessages: number): Promise<Message[]> => {
      const ready = await receiveUpTo(maxMessages, 0);
      if (ready.length > 0 || waitTimeSeconds === 0) return ready;
      if (!(await longPollGate.acquire(abort.signal))) return [];
      try {
        return await receiveUpTo(maxMessages, waitTimeSeconds);
      } finally {
        longPollGate.release();
      }
    };

    const receive = async (): Promise<Message[]> => {
      const batch = await receiveFirst(Math.min(mapping.batchSize, 10));
      const windowMs = (mapping.maximumBatchingWindow ?? 0) * 1000;
      if (batch.length === 0 || windowMs <= 0) return batch;
      const windowEnds = Date.now() + windowMs;
      while (batch.length < mapping.batchSize && !abort.signal.aborted) {
        const remainingMs = windowEnds - Date.now();
        if (remainingMs <= 0) break;
        const more = await receiveUpTo(Math.min(mapping.batchSize - batch.length, 10), Math.min(20, Math.floor(remainingMs / 1000)));
        if (more.length === 0 && remainingMs < 1000) await sleep(Math.min(remainingMs, 20));
        batch.push(...more);
      }
      return batch;
    };

    const receiveUpTo = async (maxMessages: number, waitSeconds: number): Promise<Message[]> => {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: mapping.queueUrl,
          MaxNumberOfMessages: maxMessages,
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        // Only an abandoning stop cuts a long poll short (see stop()).
        { abortSignal: abandon.signal },
      );
      stats.receives++;
      if (!out.Messages?.length) stats.emptyReceives++;
      return out.Messages ?? [];
    };

    /** Hands messages received during a graceful stop straight back to the queue. */
    const release = async (messages: Message[]): Promise<void> => {
      for (let i = 0; i < messages.length; i += 10) {
        const chunk = messages.slice(i, i + 10);
        await sqs
          .send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: mapping.queueUrl,
              Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
            }),
          )
          .catch((err: unknown) => mlog.warn(`could not release messages on stop: ${String(err)}`));
      }
    };

    const track = (p: Promise<void>, release?: () => void): void => {
      const tracked = p.finally(() => {
        release?.();
        inFlight.delete(tracked);
      });
      inFlight.add(tracked);
    };

    const pollLoop = async (): Promise<void> => {
      let backoff = 100;
      while (!abort.signal.aborted) {
        // Honoured: reserve invocation capacity BEFORE receiving, so no batch is received that cannot be invoked.
        if (honour && !(await semaphore.acquire(abort.signal))) break;
        let messages: Message[] = [];
        try {
          messages = await receive();
          backoff = 100;
        } catch (err) {
          if (honour) semaphore.release();
          if (abort.signal.aborted) break;
          mlog.warn(`ReceiveMessage failed: ${String(err)}`);
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 5000);
          continue;
        }
        if (abort.signal.aborted) {
          // Stopping: a long poll that was already waiting took these; they go back untouched.
          if (honour) semaphore.release();
          await release(messages);
          break;
        }
        if (!messages.length) {
          if (honour) semaphore.release();
          continue;
        }
        const records = messages.map((m) => toSqsRecord(m, mapping, options.region));
        if (honour) {
          track(runBatch(records), () => semaphore.release());
        } else if (stats.currentConcurrent >= throttleAt) {
          // Throttled (429): not invoked, not deleted; back after the visibility timeout, receive count already +1.
          stats.throttledBatches++;
          mlog.debug(`throttled batch of ${records.length} (reserved concurrency ${throttleAt} in use)`);
        } else {
          track(runBatch(records));
        }
      }
    };

    for (let i = 0; i < pollers; i++) loops.push(pollLoop());
    mlog.debug(`polling ${mapping.queueUrl} with ${pollers} poller(s), cap ${honour ? cap : `none (throttle at ${throttleAt})`}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    stats: () => Object.fromEntries(Object.entries(allStats).map(([k, s]) => [k, { ...s }])),
    stop: (options = {}) => {
      stopping ??= (async () => {
        abort.abort();
        if (options.abandon) abandon.abort();
        await Promise.allSettled(loops);
        while (inFlight.size) await Promise.allSettled([...inFlight]);
        sqs.destroy();
      })();
      return stopping;
    },
  };
};
