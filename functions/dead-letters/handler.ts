import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { engineContext } from '../../lib/engine';
import { processBatch } from '../../lib/aws/sqs-batch';
import { settleDeadLetter } from '../../lib/orders/dead-letter';
import { withInvocationLog } from '../../lib/log';
import { OrderMetrics, deadLetterDocument, observePublishedFrames, writeEmf } from '../../lib/metrics';

/** Records handled at once; also all the connections to a store this function can use. */
const SETTLE_CONCURRENCY = 10;
const ctx = engineContext({ maxSockets: () => SETTLE_CONCURRENCY });
// CloudWatch metrics (EMF): each dead-lettered message, and the outcome of each order it settles.
observePublishedFrames(ctx.notifier, new OrderMetrics(ctx.config.STAGE));

/** The backstop behind the redrive policy: no order is ever left non-terminal in silence. */
const invocation = middy<SQSEvent, SQSBatchResponse>().handler((event) =>
  processBatch(
    event.Records,
    (record) => {
      const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
      writeEmf(deadLetterDocument(ctx.config.STAGE, ctx.now()));
      return settleDeadLetter(ctx, { messageId: record.messageId, body: record.body, receiveCount, deadlineMs: ctx.now() });
    },
    { concurrency: SETTLE_CONCURRENCY },
  ),
);

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
