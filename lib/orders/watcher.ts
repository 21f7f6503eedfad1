import type { EngineContext } from '../engine';
import type { OrderMessage } from './order-message';
import { ALL_LIMIT_KEYS, candidateRange, EXPIRY_SHARDS, limitFloorOf, SNIPE_KEY, SNIPE_LEAD_MS } from './resting';
import { advance } from './outcomes';
import { orderSpecOf } from '../venues/route';
import { routeOrder } from '../routing';
import { getMarket } from '../venues/market';
import { StaleWriteError } from '../errors';
import { log } from '../log';

/*
 * The limit-order watcher: one scheduled invocation a minute that ticks every WATCH_TICK_MS. Each tick
 * - asks, per index key that ever held a resting order, for the orders whose trigger price the market is near
 *   (lib/orders/resting.ts), prices each candidate's full size through the venue math as the execution would, and
 *   enqueues the ones whose limit is reached on the orders queue: the execution quotes again and triggers the order
 *   (open -> routing, conditional on seq) or leaves it resting if the price moved back in between;
 * - ends resting orders past their `expiresAt` (open -> expired, conditional on seq: a cancel or a trigger that wins
 *   the race leaves the expiry nothing to do).
 * Trigger latency is bounded by one tick plus the queue and the execution's quote.
 */
export const WATCH_TICK_MS = 1_000;
/** Time kept back from the invocation's end so the last tick finishes before the Lambda timeout. */
const WATCHER_SAFETY_MARGIN_MS = 1_500;
/** An order enqueued this recently is not enqueued again while its first message is on its way. */
const REENQUEUE_AFTER_MS = 5_000;

export interface WatchTick {
  candidates: number;
  triggered: string[];
  expired: string[];
}

export class Watcher {
  private readonly enqueuedAt = new Map<string, number>();

  constructor(private readonly ctx: EngineContext) {}

  async tick(): Promise<WatchTick> {
    const nowMs = this.ctx.now();
    const keys = new Set(await this.ctx.orders.watchedKeys());
    const [limits, snipes, expired] = await Promise.all([
      Promise.all(ALL_LIMIT_KEYS.filter(({ key }) => keys.has(key)).map((entry) => this.triggeredOn(entry, nowMs))),
      keys.has(SNIPE_KEY) ? this.ctx.orders.restingCandidates(SNIPE_KEY, { to: Math.floor((nowMs + SNIPE_LEAD_MS) / 1000) }) : Promise.resolve([]),
      keys.size > 0 ? this.expire(nowMs) : Promise.resolve([]),
    ]);
    const candidates = limits.reduce((sum, l) => sum + l.candidates, 0) + snipes.length;
    const limitsDue = this.notRecentlyEnqueued(limits.flatMap((l) => l.triggered), nowMs);
    const snipesDue = this.notRecentlyEnqueued(snipes.map((s) => s.orderId), nowMs);
    await this.enqueue(this.ctx.config.ORDERS_QUEUE_NAME, limitsDue, nowMs);
    // Snipes go to their own queue and function: they never wait behind a backlog of market orders (serverless.yml).
    await this.enqueue(this.ctx.config.SNIPES_QUEUE_NAME, snipesDue, nowMs);
    if (limitsDue.length > 0) log.info('limit orders reached their price; enqueued', { count: limitsDue.length, orderIds: limitsDue.slice(0, 20) });
    if (snipesDue.length > 0) log.info('snipes due at their pool\'s open time; enqueued', { count: snipesDue.length, orderIds: snipesDue.slice(0, 20) });
    return { candidates, triggered: [...limitsDue, ...snipesDue], expired };
  }

  private notRecentlyEnqueued(orderIds: string[], nowMs: number): string[] {
    return orderIds.filter((orderId) => !this.recentlyEnqueued(orderId, nowMs));
  }

  private async enqueue(queueName: string, orderIds: string[], nowMs: number): Promise<void> {
    for (let i = 0; i < orderIds.length; i += 10) {
      await this.ctx.queues.sendMessages(queueName, orderIds.slice(i, i + 10).map((orderId) => ({ body: { orderId } satisfies OrderMessage })));
    }
    for (const orderId of orderIds) this.enqueuedAt.set(orderId, nowMs);
  }

  private recentlyEnqueued(orderId: string, nowMs: number): boolean {
    const at = this.enqueuedAt.get(orderId);
    if (at === undefined) return false;
    if (nowMs - at < REENQUEUE_AFTER_MS) return true;
    this.enqueuedAt.delete(orderId);
    return false;
  }

  private async triggeredOn(entry: (typeof ALL_LIMIT_KEYS)[number], nowMs: number): Promise<{ candidates: number; triggered: string[] }> {
    const market = getMarket();
    const candidates = await this.ctx.orders.restingCandidates(entry.key, candidateRange(market, entry.pairId, entry.side, nowMs));
    const triggered: string[] = [];
    for (const candidate of candidates) {
      const spec = orderSpecOf(candidate.request);
      const floor = spec ? limitFloorOf(candidate.request, spec) : undefined;
      if (!spec || floor === undefined) continue;
      try {
        if (routeOrder(spec, nowMs, market).route.amountOut >= floor) triggered.push(candidate.orderId);
      } catch (error) {
        // No route at this size now (a pool too thin): not reached.
        log.debug('resting order not routable now', { orderId: candidate.orderId, error });
      }
    }
    return { candidates: candidates.length, triggered };
  }

  private async expire(nowMs: number): Promise<string[]> {
    const due = (await Promise.all(Array.from({ length: EXPIRY_SHARDS }, (_, shard) => this.ctx.orders.expiredResting(`expiry#${shard}`, nowMs)))).flat();
    const expired: string[] = [];
    for (const orderId of due) {
      const order = await this.ctx.orders.get(orderId);
      if (!order || order.status !== 'open' || (order.request.expiresAtMs ?? Infinity) > nowMs) continue;
      try {
        await advance(this.ctx, order, 'expired', { meta: { expiresAt: new Date(order.request.expiresAtMs as number).toISOString() } });
        expired.push(orderId);
      } catch (error) {
        // A cancel or a trigger got there first: the order is theirs.
        if (!(error instanceof StaleWriteError)) throw error;
      }
    }
    if (expired.length > 0) log.info('resting orders expired', { count: expired.length, orderIds: expired.slice(0, 20) });
    return expired;
  }
}

/** One scheduled invocation: a tick every WATCH_TICK_MS until the invocation's time is nearly spent. */
export const runWatcher = async (
  ctx: EngineContext,
  options: { remainingMs: () => number; sleep?: (ms: number) => Promise<void> },
): Promise<{ ticks: number; triggered: number; expired: number }> => {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const watcher = new Watcher(ctx);
  const totals = { ticks: 0, triggered: 0, expired: 0 };
  for (;;) {
    const startedMs = ctx.now();
    try {
      const tick = await watcher.tick();
      totals.triggered += tick.triggered.length;
      totals.expired += tick.expired.length;
    } catch (error) {
      // One failed tick (a store that timed out) must not end the minute's watch: the next tick looks again.
      log.warn('watcher tick failed', { error });
    }
    totals.ticks += 1;
    if (options.remainingMs() < WATCH_TICK_MS + WATCHER_SAFETY_MARGIN_MS) return totals;
    await sleep(Math.max(0, WATCH_TICK_MS - (ctx.now() - startedMs)));
  }
};
