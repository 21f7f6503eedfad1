import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { engineContext } from '../../lib/engine';
import { processBatch } from '../../lib/aws/sqs-batch';
import { settleDeadLetter } from '../../lib/orders/dead-letter';
import { withInvocationLog } from '../../lib/log';

/** Records handled at once; also all the connections to a store this function can use. */
const SETTLE_CONCURRENCY = 10;
const ctx = engineContext({ maxSockets: () => SETTLE_CONCURRENCY });

/** The backstop behind the redrive policy: no order is ever left non-terminal in silence. */
const invocation = middy<SQSEvent, SQSBatchResponse>().handler((event) =>
  processBatch(
    event.Records,
    (record) =>
      settleDeadLetter(ctx, {
        messageId: record.messageId,
        body: record.body,
        receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1'),
        deadlineMs: ctx.now(),
      }),
    { concurrency: SETTLE_CONCURRENCY },
  ),
);

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
