import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { InfrastructureError } from '../errors';
import { sqs } from './clients';

/** A message received by the engine itself (not through an event source mapping). */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** SQS ApproximateReceiveCount, this receive included. */
  receiveCount: number;
}

export interface OutgoingMessage {
  body: unknown;
  fifo?: { groupId: string; deduplicationId: string };
}

/*
 * SQS's limits on one batch call (SendMessageBatch, DeleteMessageBatch): at most 10 entries, and at most 256 KiB of
 * message bodies together (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
 */
const BATCH_MAX_ENTRIES = 10;
const BATCH_MAX_BODY_BYTES = 256 * 1024;

/** Why SQS refused one entry of a batch call (its BatchResultErrorEntry). */
interface EntryRefusal {
  reason: string;
  /** SenderFault: the entry itself is at fault, and sending it again cannot succeed. */
  senderFault: boolean;
}

const refusalsOf = (failed: ReadonlyArray<{ Id?: string; Code?: string; Message?: string; SenderFault?: boolean }> | undefined): Map<number, EntryRefusal> =>
  new Map((failed ?? []).map((entry) => [Number(entry.Id), { reason: `${entry.Code ?? 'unknown'}: ${entry.Message ?? ''}`, senderFault: entry.SenderFault === true }]));

/**
 * Entries a batch call refused, shaped as the exception the single call would have thrown (a 400 for the sender's
 * fault, a 500 otherwise), so that lib/aws/transient.ts judges a refused entry as it judges a failed call.
 */
export class EntriesRefusedError extends InfrastructureError {
  readonly $metadata: { httpStatusCode: number };
  constructor(refusals: EntryRefusal[], of: number) {
    const senderFault = refusals.some((refusal) => refusal.senderFault);
    super('INTERNAL', `SQS refused ${refusals.length} of ${of} messages: ${refusals.map((refusal) => refusal.reason).join('; ')}`, { retryable: !senderFault });
    this.$metadata = { httpStatusCode: senderFault ? 400 : 500 };
  }
}

/** One caller's entries waiting for the end of the event-loop turn, and how to answer it. */
interface TurnRequest<E> {
  entries: E[];
  bytes: number;
  settle: (error?: unknown) => void;
}

/**
 * Gathers the requests made during one event-loop turn and sends them, when the turn ends (setImmediate), in as few
 * batch calls as SQS allows; each caller's entries stay together and in order, and the batches of a turn go one after
 * another, so the messages of one FIFO group keep the order of their calls. Idle, a request leaves alone a moment
 * later; busy, the requests that became ready in the same turn share one call. Each caller learns its own outcome:
 * an entry SQS refused fails only the request it belongs to.
 */
class TurnBatcher<E> {
  private waiting: TurnRequest<E>[] = [];

  constructor(
    /** Sends one batch; returns the indexes (in `entries`) of the entries SQS refused, with why. */
    private readonly sendBatch: (entries: E[]) => Promise<Map<number, EntryRefusal>>,
    private readonly sizeOf: (entry: E) => number,
  ) {}

  add(entries: E[]): Promise<void> {
    if (entries.length > BATCH_MAX_ENTRIES) {
      return Promise.reject(new InfrastructureError('INTERNAL', `an SQS batch holds at most ${BATCH_MAX_ENTRIES} messages, got ${entries.length}`, { retryable: false }));
    }
    return new Promise<void>((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => void this.flush());
      const bytes = entries.reduce((sum, entry) => sum + this.sizeOf(entry), 0);
      this.waiting.push({ entries, bytes, settle: (error) => (error === undefined ? resolve() : reject(error)) });
    });
  }

  private async flush(): Promise<void> {
    const requests = this.waiting;
    this.waiting = [];
    for (const batch of this.pack(requests)) {
      const entries = batch.flatMap((request) => request.entries);
      try {
        const refused = await this.sendBatch(entries);
        let first = 0;
        for (const request of batch) {
          const refusals = request.entries.flatMap((_, i) => refused.get(first + i) ?? []);
          first += request.entries.length;
          request.settle(refusals.length === 0 ? undefined : new EntriesRefusedError(refusals, request.entries.length));
        }
      } catch (error) {
        for (const request of batch) request.settle(error);
      }
    }
  }

  /** Requests in call order, packed into batches within SQS's limits; a request is never split. */
  private pack(requests: TurnRequest<E>[]): TurnRequest<E>[][] {
    const batches: TurnRequest<E>[][] = [];
    let current: TurnRequest<E>[] = [];
    let count = 0;
    let bytes = 0;
    for (const request of requests) {
      if (current.length > 0 && (count + request.entries.length > BATCH_MAX_ENTRIES || bytes + request.bytes > BATCH_MAX_BODY_BYTES)) {
        batches.push(current);
        current = [];
        count = 0;
        bytes = 0;
      }
      current.push(request);
      count += request.entries.length;
      bytes += request.bytes;
    }
    if (current.length > 0) batches.push(current);
    return batches;
  }
}

/** The engine's SQS calls, by queue name. */
export class Queues {
  /*
   * Queue URLs are looked up by name once per cold start: CloudFormation refs in provider.environment are not
   * resolved offline (embedded-stack.md §6), and the name is the same on AWS, LocalStack and the emulator.
   */
  private readonly urls = new Map<string, Promise<string>>();
  private readonly waitingReads = new Map<string, { atMs: number; count: Promise<number> }>();
  private readonly sendsByQueue = new Map<string, TurnBatcher<OutgoingMessage & { json: string }>>();
  private readonly deletesByQueue = new Map<string, TurnBatcher<string>>();

  constructor(private readonly client: () => SQSClient = sqs) {}

  queueUrl(queueName: string): Promise<string> {
    let url = this.urls.get(queueName);
    if (!url) {
      url = this.client()
        .send(new GetQueueUrlCommand({ QueueName: queueName }))
        .then((result) => {
          if (!result.QueueUrl) throw new Error(`queue ${queueName} has no URL`);
          return result.QueueUrl;
        });
      url.catch(() => this.urls.delete(queueName));
      this.urls.set(queueName, url);
    }
    return url;
  }

  async sendMessage(queueName: string, body: unknown, fifo?: { groupId: string; deduplicationId: string }): Promise<void> {
    await this.sendOne(queueName, JSON.stringify(body), fifo);
  }

  private async sendOne(queueName: string, json: string, fifo: OutgoingMessage['fifo']): Promise<void> {
    await this.client().send(
      new SendMessageCommand({
        QueueUrl: await this.queueUrl(queueName),
        MessageBody: json,
        ...(fifo ? { MessageGroupId: fifo.groupId, MessageDeduplicationId: fifo.deduplicationId } : {}),
      }),
    );
  }

  /**
   * Up to 10 messages in one call. On a FIFO queue, messages of one group keep the order of the batch. A batch is not
   * atomic: any entry SQS refused makes the whole call fail (retryable), and a re-send of the delivered ones is dropped
   * by their deduplication ids.
   */
  async sendMessages(queueName: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    if (messages.length === 1) return this.sendMessage(queueName, messages[0]?.body, messages[0]?.fifo);
    if (messages.length > BATCH_MAX_ENTRIES) throw new InfrastructureError('INTERNAL', `an SQS batch holds at most ${BATCH_MAX_ENTRIES} messages, got ${messages.length}`);
    const refused = await this.sendBatch(queueName, messages.map((message) => ({ ...message, json: JSON.stringify(message.body) })));
    if (refused.size > 0) throw new EntriesRefusedError([...refused.values()], messages.length);
  }

  /**
   * Sends like sendMessages, but shares SQS calls with the other sends to this queue made in the same event-loop turn
   * (TurnBatcher): the frames of many orders that became ready together cost one request, not one each.
   */
  sendTogether(queueName: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    let batcher = this.sendsByQueue.get(queueName);
    if (!batcher) {
      batcher = new TurnBatcher(
        async (entries) => {
          if (entries.length === 1) {
            const only = entries[0] as OutgoingMessage & { json: string };
            await this.sendOne(queueName, only.json, only.fifo);
            return new Map();
          }
          return this.sendBatch(queueName, entries);
        },
        (entry) => Buffer.byteLength(entry.json),
      );
      this.sendsByQueue.set(queueName, batcher);
    }
    return batcher.add(messages.map((message) => ({ ...message, json: JSON.stringify(message.body) })));
  }

  private async sendBatch(queueName: string, entries: ReadonlyArray<OutgoingMessage & { json: string }>): Promise<Map<number, EntryRefusal>> {
    const result = await this.client().send(
      new SendMessageBatchCommand({
        QueueUrl: await this.queueUrl(queueName),
        Entries: entries.map((entry, index) => ({
          Id: String(index),
          MessageBody: entry.json,
          ...(entry.fifo ? { MessageGroupId: entry.fifo.groupId, MessageDeduplicationId: entry.fifo.deduplicationId } : {}),
        })),
      }),
    );
    return refusalsOf(result.Failed);
  }

  async changeVisibility(queueName: string, receiptHandle: string, seconds: number): Promise<void> {
    await this.client().send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: await this.queueUrl(queueName),
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
      }),
    );
  }

  /**
   * Up to `max` (at most 10) messages that are visible now, without waiting for more; each stays invisible for the
   * queue's visibility timeout, as one an event source mapping delivers.
   */
  async receive(queueName: string, max: number): Promise<ReceivedMessage[]> {
    const result = await this.client().send(
      new ReceiveMessageCommand({
        QueueUrl: await this.queueUrl(queueName),
        MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    return (result.Messages ?? []).flatMap((message) =>
      message.MessageId && message.ReceiptHandle
        ? [{ messageId: message.MessageId, receiptHandle: message.ReceiptHandle, body: message.Body ?? '', receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1') }]
        : [],
    );
  }

  async deleteMessage(queueName: string, receiptHandle: string): Promise<void> {
    await this.client().send(new DeleteMessageCommand({ QueueUrl: await this.queueUrl(queueName), ReceiptHandle: receiptHandle }));
  }

  /** Deletes like deleteMessage, sharing DeleteMessageBatch calls with the other deletes of the same event-loop turn. */
  deleteTogether(queueName: string, receiptHandle: string): Promise<void> {
    let batcher = this.deletesByQueue.get(queueName);
    if (!batcher) {
      batcher = new TurnBatcher(async (handles) => {
        if (handles.length === 1) {
          await this.deleteMessage(queueName, handles[0] as string);
          return new Map();
        }
        const result = await this.client().send(
          new DeleteMessageBatchCommand({ QueueUrl: await this.queueUrl(queueName), Entries: handles.map((handle, index) => ({ Id: String(index), ReceiptHandle: handle })) }),
        );
        return refusalsOf(result.Failed);
      }, (handle) => Buffer.byteLength(handle));
      this.deletesByQueue.set(queueName, batcher);
    }
    return batcher.add([receiptHandle]);
  }

  /**
   * How many messages wait to be received (ApproximateNumberOfMessages: visible, neither in flight nor delayed). An
   * event source mapping receives only while it has a free slot, so on the orders queue this counts the orders that
   * wait for an execution. One read serves every caller of this process for `maxAgeMs`, so the records of a batch
   * asking at the same moment cost one call.
   */
  waitingMessages(queueName: string, { maxAgeMs }: { maxAgeMs: number }): Promise<number> {
    const nowMs = Date.now();
    const cached = this.waitingReads.get(queueName);
    if (cached && nowMs - cached.atMs < maxAgeMs) return cached.count;
    const count = this.queueUrl(queueName)
      .then((url) => this.client().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] })))
      .then((result) => Number(result.Attributes?.ApproximateNumberOfMessages ?? 0));
    count.catch(() => this.waitingReads.delete(queueName));
    this.waitingReads.set(queueName, { atMs: nowMs, count });
    return count;
  }
}
