import {
  ChangeMessageVisibilityCommand,
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

/** The engine's SQS calls, by queue name. */
export class Queues {
  /*
   * Queue URLs are looked up by name once per cold start: CloudFormation refs in provider.environment are not
   * resolved offline (embedded-stack.md §6), and the name is the same on AWS, LocalStack and the emulator.
   */
  private readonly urls = new Map<string, Promise<string>>();
  private readonly waitingReads = new Map<string, { atMs: number; count: Promise<number> }>();

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
    await this.client().send(
      new SendMessageCommand({
        QueueUrl: await this.queueUrl(queueName),
        MessageBody: JSON.stringify(body),
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
    if (messages.length > 10) throw new InfrastructureError('INTERNAL', `an SQS batch holds at most 10 messages, got ${messages.length}`);
    const result = await this.client().send(
      new SendMessageBatchCommand({
        QueueUrl: await this.queueUrl(queueName),
        Entries: messages.map((message, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(message.body),
          ...(message.fifo ? { MessageGroupId: message.fifo.groupId, MessageDeduplicationId: message.fifo.deduplicationId } : {}),
        })),
      }),
    );
    const failed = result.Failed ?? [];
    if (failed.length > 0) {
      throw new InfrastructureError('INTERNAL', `SQS refused ${failed.length} of ${messages.length} messages: ${failed.map((f) => `${f.Code}: ${f.Message ?? ''}`).join('; ')}`, {
        retryable: true,
      });
    }
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
