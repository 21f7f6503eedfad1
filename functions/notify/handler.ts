import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { engineContext } from '../../lib/orders/runtime';
import { processBatch } from '../../lib/aws/sqs-batch';
import { parseStatusMessage } from '../../lib/notify/status-message';

const ctx = engineContext();

/** The callback Lambda: each status frame to its order's subscribed connections, in seq order per order. */
export const handler = middy<SQSEvent, SQSBatchResponse>().handler((event) =>
  processBatch(
    event.Records,
    async (record) => {
      await ctx.notifier.deliver(parseStatusMessage(record.body));
      return { kind: 'done' };
    },
    { concurrency: 10, fifo: true },
  ),
);
