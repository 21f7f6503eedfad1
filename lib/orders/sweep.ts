import type { EngineContext } from '../engine';
import type { OrderMessage } from './order-message';
import { log } from '../log';

/*
 * An order at its first `pending` for this long was recorded and, most likely, never enqueued (its route Lambda died
 * between the write and the SendMessage). Longer than any queue wait the embedded stack showed under its bench, so a
 * healthy order rarely gets a second message; a second message is harmless anyway (execution is idempotent per order).
 */
export const FIRST_PENDING_STALE_AFTER_MS = 10_000;
/** How often the watchdog looks for such orders while a sweeper invocation runs. */
export const FIRST_PENDING_CHECK_EVERY_MS = 5_000;
/** Orders the resume on start enqueues at most per shard (16 shards). */
const RESUME_LIMIT_PER_SHARD = 10_000;

const enqueueAll = async (ctx: EngineContext, orderIds: string[]): Promise<void> => {
  for (let i = 0; i < orderIds.length; i += 10) {
    await ctx.queues.sendMessages(
      ctx.config.ORDERS_QUEUE_NAME,
      orderIds.slice(i, i + 10).map((orderId) => ({ body: { orderId } satisfies OrderMessage })),
    );
  }
};

/**
 * The last backstop of "no order stays non-terminal": an order that has not changed for SWEEP_STALE_AFTER_SECONDS
 * lost its message (a Lambda died between recording the order and enqueueing it, a message expired). It is enqueued
 * again; execution is idempotent per order, so an extra message for an order that is fine costs one dropped delivery.
 */
export const sweepStaleOrders = async (ctx: EngineContext): Promise<{ requeued: string[] }> => {
  const cutoffMs = ctx.now() - ctx.config.SWEEP_STALE_AFTER_SECONDS * 1000;
  const stale = await ctx.orders.staleOpenOrders(cutoffMs);
  await enqueueAll(ctx, stale);
  if (stale.length > 0) log.warn('re-enqueued orders that stopped moving', { count: stale.length, orderIds: stale.slice(0, 20) });
  return { requeued: stale };
};

/** Orders recorded but still at their first `pending` after FIRST_PENDING_STALE_AFTER_MS: enqueued (again). */
export const sweepFirstPending = async (ctx: EngineContext): Promise<{ requeued: string[] }> => {
  const stuck = await ctx.orders.staleOpenOrders(ctx.now() - FIRST_PENDING_STALE_AFTER_MS, { firstPendingOnly: true });
  await enqueueAll(ctx, stuck);
  if (stuck.length > 0) log.warn('enqueued orders recorded but never picked up', { count: stuck.length, orderIds: stuck.slice(0, 20) });
  return { requeued: stuck };
};

/**
 * After the whole stack restarts (the embedded default keeps DynamoDB on disk, but its queues lived in memory), every
 * non-terminal order is taken up again at once. Execution reconciles by signature, so none is executed twice.
 */
export const resumeOpenOrders = async (ctx: EngineContext): Promise<{ requeued: string[] }> => {
  const open = await ctx.orders.staleOpenOrders(ctx.now() + 1, { limitPerShard: RESUME_LIMIT_PER_SHARD });
  await enqueueAll(ctx, open);
  if (open.length > 0) log.info('resumed open orders after a restart', { count: open.length });
  return { requeued: open };
};

/** Time kept back from the invocation's end so the last check finishes before the Lambda timeout. */
const SWEEPER_SAFETY_MARGIN_MS = 8_000;

/**
 * One scheduled sweeper invocation (EventBridge runs it every minute): the stale sweep once, then the first-pending
 * watchdog every FIRST_PENDING_CHECK_EVERY_MS until the invocation's time is nearly spent, so an order that was
 * recorded but never enqueued starts within seconds rather than at the next sweep of orders quiet for ten minutes.
 */
export const runSweeper = async (ctx: EngineContext, options: { remainingMs: () => number; sleep?: (ms: number) => Promise<void> }): Promise<number> => {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let requeued = (await sweepStaleOrders(ctx)).requeued.length;
  for (;;) {
    requeued += (await sweepFirstPending(ctx)).requeued.length;
    if (options.remainingMs() < FIRST_PENDING_CHECK_EVERY_MS + SWEEPER_SAFETY_MARGIN_MS) return requeued;
    await sleep(FIRST_PENDING_CHECK_EVERY_MS);
  }
};
