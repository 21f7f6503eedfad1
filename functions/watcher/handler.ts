import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { engineContext } from '../../lib/engine';
import { runWatcher } from '../../lib/orders/watcher';
import { withInvocationLog } from '../../lib/log';

const ctx = engineContext();

/** `{"watchUntilMs": n}`: sent by the embedded stack at start, to watch until the schedule's first minute. */
type WatcherEvent = ScheduledEvent | { watchUntilMs: number };

/** Every minute: limit orders whose price is reached are enqueued, resting orders past expiresAt end expired. */
const invocation = middy<WatcherEvent, { ticks: number; triggered: number; expired: number }>().handler((event, context) => {
  const untilMs = 'watchUntilMs' in event && typeof event.watchUntilMs === 'number' ? event.watchUntilMs : Infinity;
  return runWatcher(ctx, { remainingMs: () => Math.min(context.getRemainingTimeInMillis(), untilMs - Date.now()) });
});

// Every log line of the invocation carries its request id and function name.
export const handler = withInvocationLog(invocation);
