import { orderFrame, type OrderFrame } from '../notify/frames';
import type { OrderItem } from '../aws/orders-table';
import type { EngineContext } from '../engine';
import { isTerminal, nextVersion, type OrderStatus } from './state-machine';
import { releaseOpenOrder } from '../accounts/admission';

export interface AdvanceOptions {
  attempt?: number;
  meta: Record<string, unknown>;
  /**
   * A status the order passes through on the way, in the same write: its frame (with its own seq) goes out first.
   * For steps with nothing between them, where a separate write would only cost a round trip.
   */
  via?: { status: OrderStatus; meta: Record<string, unknown> };
  set?: Parameters<EngineContext['orders']['transition']>[0]['set'];
  /** The order goes to rest (`open`): where the watcher finds it. */
  resting?: Parameters<EngineContext['orders']['transition']>[0]['resting'];
  /** Defaults: a terminal, pending or resting order holds no lease; other states keep the current one. */
  leaseUntilMs?: number;
}

/**
 * One status change: the conditional write (the order's seq is the version), then the frame(s) on the status queue
 * for the subscribers the write returned. A writer that lost the race gets a StaleWriteError and publishes nothing.
 */
export const advance = async (ctx: EngineContext, order: OrderItem, to: OrderStatus, options: AdvanceOptions): Promise<OrderItem> => {
  const attempt = options.attempt ?? order.attempt;
  const passedThrough = options.via ? nextVersion(order, options.via.status, attempt) : undefined;
  const next = nextVersion(passedThrough ?? order, to, attempt);
  const nowMs = ctx.now();
  const frameOf = (version: { status: OrderStatus; seq: number; attempt: number }, meta: Record<string, unknown>): OrderFrame =>
    orderFrame({ orderId: order.orderId, clientOrderId: order.clientOrderId, status: version.status, seq: version.seq, attempt: version.attempt, atMs: nowMs, meta });
  const frame = frameOf(next, options.meta);
  const frames = passedThrough && options.via ? [frameOf(passedThrough, options.via.meta), frame] : [frame];
  const leaseUntilMs = options.leaseUntilMs ?? (isTerminal(to) || to === 'pending' || to === 'open' ? 0 : order.leaseUntilMs);
  const updated = await ctx.orders.transition({
    orderId: order.orderId,
    expected: { status: order.status, seq: order.seq },
    next,
    frame,
    history: frames,
    nowMs,
    leaseUntilMs,
    ...(options.set ? { set: options.set } : {}),
    ...(options.resting ? { resting: options.resting } : {}),
  });
  // The terminal write is conditional on the order's version, so exactly one writer gets here per order: it gives the
  // account's open-order slot back (best effort, alongside the frame, never failing the outcome).
  const released = isTerminal(to) ? releaseOpenOrder(ctx, updated.owner) : undefined;
  await ctx.notifier.publish(updated, frames);
  await released;
  return updated;
};

export interface FailureReason {
  code: string;
  message: string;
}

/** PROTOCOL.md `failed`: meta `error {code, message}` and `attempts`. */
export const failOrder = (
  ctx: EngineContext,
  order: OrderItem,
  error: FailureReason,
  extraMeta: Record<string, unknown> = {},
): Promise<OrderItem> =>
  advance(ctx, order, 'failed', {
    meta: { error, attempts: order.attempt, ...extraMeta },
    set: { lastError: error },
  });
