import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { engineContext } from '../../lib/engine';
import { processBatch } from '../../lib/aws/sqs-batch';
import { parseStatusMessage } from '../../lib/notify/status-message';
import { log, withInvocationLog, withLogContext } from '../../lib/log';

/** Records handled at once; also all the connections to a store this function can use. */
const NOTIFY_CONCURRENCY = 10;
const ctx = engineContext({ maxSockets: () => NOTIFY_CONCURRENCY });

/** The callback Lambda: each status frame to its order's subscribed connections, in seq order per order. */
const invocation = middy<SQSEvent, SQSBatchResponse>().handler((event) =>
  processBatch(
    event.Records,
    // A failed post holds up the rest of its order's frames (FIFO group): try again in a second, not after the queue's
    // visibility timeout; the redrive policy bounds how often.
    async (record) => {
      try {
        const message = parseStatusMessage(record.body);
        await withLogContext({ messageId: record.messageId, orderId: message.frame.orderId }, () => ctx.notifier.deliver(message));
        return { kind: 'done' };
      } catch (error) {
        log.warn('frame not delivered; retrying', { messageId: record.messageId, error });
        return { kind: 'retry', visibilitySeconds: 1 };
      }
    },
    {
      concurrency: NOTIFY_CONCURRENCY,
      fifo: true,
      onRetry: (record, seconds) => ctx.queues.changeVisibility(ctx.config.STATUS_QUEUE_NAME, record.receiptHandle, seconds),
    },
  ),
);

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
