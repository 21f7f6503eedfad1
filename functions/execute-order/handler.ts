import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { engineContext } from '../../lib/engine';
import { processBatch } from '../../lib/aws/sqs-batch';
import { executeOrderMessage } from '../../lib/orders/execute-order';
import { slotWorthGivingBack } from '../../lib/orders/patience';
import { waitingOrdersTaker } from '../../lib/orders/take-more';
import { withInvocationLog } from '../../lib/log';
import { OrderMetrics, observePublishedFrames } from '../../lib/metrics';

const ctx = engineContext({ maxSockets: (config) => config.EXECUTION_CONCURRENCY });
// CloudWatch metrics (EMF) of every order this function ends: outcome and code, attempts, per-stage latency.
observePublishedFrames(ctx.notifier, new OrderMetrics(ctx.config.STAGE));

/** A queue's name from its ARN (arn:aws:sqs:<region>:<account>:<name>). */
const queueNameOf = (arn: string | undefined): string | undefined => arn?.split(':').at(-1) || undefined;

/** Answers this long before the Lambda deadline, so partial results are reported rather than lost to a timeout. */
const DEADLINE_MARGIN_MS = 2_000;
/** The records of a batch asking whether other orders wait share one GetQueueAttributes call this fresh. */
const WAITING_READ_MAX_AGE_MS = 200;

/**
 * The execution Lambda: the whole batch concurrently (EXECUTION_CONCURRENCY at a time), each record succeeding or
 * failing on its own; a retry's backoff is its message's visibility timeout. While it has room it takes waiting orders
 * from its queue itself (lib/orders/take-more.ts).
 */
const invocation = middy<SQSEvent, SQSBatchResponse>().handler((event, context) => {
  const remainingMs = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : ctx.config.EXECUTION_TIMEOUT_SECONDS * 1000;
  const deadlineMs = ctx.now() + remainingMs - DEADLINE_MARGIN_MS;
  // The orders queue or the snipes queue (functions/execute-snipes): the queue the record came from.
  const queueOf = (record: SQSRecord): string => queueNameOf(record.eventSourceARN) ?? ctx.config.ORDERS_QUEUE_NAME;
  let unfinishedHere = event.Records.length;
  const first = event.Records[0];
  const takeMore = first
    ? waitingOrdersTaker(ctx, {
        queueName: queueOf(first),
        queueArn: first.eventSourceARN,
        region: first.awsRegion,
        deadlineMs,
        onTaken: (count) => {
          unfinishedHere += count;
        },
      })
    : undefined;
  return processBatch(
    event.Records,
    (record) =>
      executeOrderMessage(ctx, {
        messageId: record.messageId,
        body: record.body,
        receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1'),
        deadlineMs,
        othersWaiting: async () =>
          slotWorthGivingBack({
            waiting: await ctx.queues.waitingMessages(queueOf(record), { maxAgeMs: WAITING_READ_MAX_AGE_MS }),
            unfinishedHere,
            batchSize: ctx.config.EXECUTE_BATCH_SIZE,
          }),
      }).finally(() => {
        unfinishedHere--;
      }),
    {
      concurrency: ctx.config.EXECUTION_CONCURRENCY,
      onRetry: (record, seconds) => ctx.queues.changeVisibility(queueOf(record), record.receiptHandle, seconds),
      ...(takeMore ? { takeMore } : {}),
    },
  );
});

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
