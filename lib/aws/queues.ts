import { ChangeMessageVisibilityCommand, GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
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

export const changeVisibility = async (queueName: string, receiptHandle: string, seconds: number): Promise<void> => {
  await sqs().send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: await queueUrl(queueName),
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
    }),
  );
};
