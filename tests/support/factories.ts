import type { SQSRecord } from 'aws-lambda';

/** A fully populated SQS record, in the spirit of Powertools' batch test factories. */
export const sqsRecord = (body: unknown, overrides: Partial<SQSRecord> & { groupId?: string; receiveCount?: number } = {}): SQSRecord => {
  const { groupId, receiveCount, ...rest } = overrides;
  return {
    messageId: rest.messageId ?? `msg-${Math.random().toString(36).slice(2)}`,
    receiptHandle: rest.receiptHandle ?? `rh-${Math.random().toString(36).slice(2)}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      ...(groupId ? { MessageGroupId: groupId, MessageDeduplicationId: `${groupId}-${Math.random()}` } : {}),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
    ...rest,
  };
};
