import { ChangeMessageVisibilityCommand, GetQueueUrlCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { InfrastructureError } from '../errors';
import { sqs } from './clients';

/*
 * Queue URLs are looked up by name once per cold start: CloudFormation refs in provider.environment are not
 * resolved offline (embedded-stack.md §6), and the name is the same on AWS, LocalStack and the emulator.
 */
const urls = new Map<string, Promise<string>>();
export const queueUrl = (queueName: string): Promise<string> => {
  let url = urls.get(queueName);
  if (!url) {
    url = sqs()
      .send(new GetQueueUrlCommand({ QueueName: queueName }))
      .then((result) => {
        if (!result.QueueUrl) throw new Error(`queue ${queueName} has no URL`);
        return result.QueueUrl;
      });
    url.catch(() => urls.delete(queueName));
    urls.set(queueName, url);
  }
  return url;
};

export const sendMessage = async (
  queueName: string,
  body: unknown,
  fifo?: { groupId: string; deduplicationId: string },
): Promise<void> => {
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: await queueUrl(queueName),
      MessageBody: JSON.stringify(body),
      ...(fifo ? { MessageGroupId: fifo.groupId, MessageDeduplicationId: fifo.deduplicationId } : {}),
    }),
  );
};

export interface OutgoingMessage {
  body: unknown;
  fifo?: { groupId: string; deduplicationId: string };
}

/**
 * Up to 10 messages in one call. On a FIFO queue, messages of one group keep the order of the batch. A batch is not
 * atomic: any entry SQS refused makes the whole call fail (retryable), and a re-send of the delivered ones is dropped
 * by their deduplication ids.
 */
export const sendMessages = async (queueName: string, messages: readonly OutgoingMessage[]): Promise<void> => {
  if (messages.length === 0) return;
  if (messages.length === 1) return sendMessage(queueName, messages[0]?.body, messages[0]?.fifo);
  if (messages.length > 10) throw new InfrastructureError('INTERNAL', `an SQS batch holds at most 10 messages, got ${messages.length}`);
  const result = await sqs().send(
    new SendMessageBatchCommand({
      QueueUrl: await queueUrl(queueName),
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
};

export const changeVisibility = async (queueName: string, receiptHandle: string, seconds: number): Promise<void> => {
  await sqs().send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: await queueUrl(queueName),
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
    }),
  );
};
