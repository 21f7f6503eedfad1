import { sendMessage } from '../aws/queues';
import type { EngineContext } from './context';
import type { OrderMessage } from './place-order';
import { log } from '../log';

/**
 * The last backstop of "no order stays non-terminal": an order that has not changed for SWEEP_STALE_AFTER_SECONDS
 * lost its message (a Lambda died between recording the order and enqueueing it, a message expired). It is enqueued
 * again; execution is idempotent per order, so an extra message for an order that is fine costs one dropped delivery.
 */
export const sweepStaleOrders = async (ctx: EngineContext): Promise<{ requeued: string[] }> => {
  const cutoffMs = ctx.now() - ctx.config.SWEEP_STALE_AFTER_SECONDS * 1000;
  const stale = await ctx.orders.staleOpenOrders(cutoffMs);
  await Promise.all(stale.map((orderId) => sendMessage(ctx.config.ORDERS_QUEUE_NAME, { orderId } satisfies OrderMessage)));
  if (stale.length > 0) log.warn('re-enqueued orders that stopped moving', { count: stale.length, orderIds: stale.slice(0, 20) });
  return { requeued: stale };
};
