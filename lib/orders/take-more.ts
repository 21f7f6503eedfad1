import type { SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import type { TakeMore } from '../aws/sqs-batch';
import type { ReceivedMessage } from '../aws/queues';
import type { EngineContext } from '../engine';
import { log } from '../log';

/*
 * An execution invocation's batch is fixed when it starts, and the invocation holds its slot until its slowest order
 * has landed. The first invocations of a burst take its orders by ones and twos as they are acknowledged, then wait
 * seconds for those landings with room for ten; the orders acknowledged later wait for a slot meanwhile. So an
 * invocation with room takes waiting orders from its queue itself (ReceiveMessage, which its event source mapping
 * already needs the role to allow), and works them like its own. The number of execution invocations at once is
 * unchanged: the taking happens inside one.
 */
export const TAKE_MORE = {
  /**
   * Taken only while this much of the invocation's time is left: an order's route, send and landing take seconds
   * (realistic), and an order still landing at the deadline is given back to be looked at again, which costs it more
   * than waiting for a fresh invocation would.
   */
  minRemainingMs: 15_000,
  /** The records of a process share one read of the queue's depth this fresh. */
  waitingReadMaxAgeMs: 200,
} as const;

const recordOf = (message: ReceivedMessage, queue: { arn: string; region: string }): SQSRecord => {
  const nowMs = String(Date.now());
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: { ApproximateReceiveCount: String(message.receiveCount), SentTimestamp: nowMs, SenderId: '', ApproximateFirstReceiveTimestamp: nowMs } as SQSRecordAttributes,
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: queue.region,
  };
};

/**
 * What an execution invocation takes from its queue while it has room (lib/aws/sqs-batch.ts, TakeMore): waiting
 * orders, while TAKE_MORE.minRemainingMs of its time is left. Undefined when EXECUTION_TAKE_MORE_EVERY_MS is 0.
 */
export const waitingOrdersTaker = (
  ctx: EngineContext,
  params: { queueName: string; queueArn: string; region: string; deadlineMs: number; onTaken: (count: number) => void },
): TakeMore | undefined => {
  const everyMs = ctx.config.EXECUTION_TAKE_MORE_EVERY_MS;
  if (everyMs === 0) return undefined;
  return {
    everyMs,
    take: async (room) => {
      if (params.deadlineMs - ctx.now() < TAKE_MORE.minRemainingMs) return [];
      if ((await ctx.queues.waitingMessages(params.queueName, { maxAgeMs: TAKE_MORE.waitingReadMaxAgeMs })) === 0) return [];
      const received = await ctx.queues.receive(params.queueName, room);
      if (received.length > 0) {
        params.onTaken(received.length);
        log.debug('took waiting orders', { count: received.length, room });
      }
      return received.map((message) => recordOf(message, { arn: params.queueArn, region: params.region }));
    },
    finish: (record) => ctx.queues.deleteTogether(params.queueName, record.receiptHandle),
  };
};
