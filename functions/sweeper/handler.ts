import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { engineContext } from '../../lib/engine';
import { resumeOpenOrders, runSweeper } from '../../lib/orders/sweep';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

/** `{"resume": true}`: sent by the embedded stack when it starts on data it kept. */
type SweeperEvent = ScheduledEvent | { resume: true };

/** Every minute: orders that stopped moving are enqueued again; for the rest of the minute, a watchdog for orders never enqueued. */
const invocation = middy<SweeperEvent, { requeued: number }>().handler(async (event, context) => {
  if ('resume' in event && event.resume === true) return { requeued: (await resumeOpenOrders(ctx)).requeued.length };
  return { requeued: await runSweeper(ctx, { remainingMs: () => context.getRemainingTimeInMillis() }) };
});

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
