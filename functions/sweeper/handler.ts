import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { engineContext } from '../../lib/orders/runtime';
import { sweepStaleOrders } from '../../lib/orders/sweep';

const ctx = engineContext();

/** Every minute: orders that stopped moving are enqueued again. */
export const handler = middy<ScheduledEvent, { requeued: number }>().handler(async () => {
  const { requeued } = await sweepStaleOrders(ctx);
  return { requeued: requeued.length };
});
