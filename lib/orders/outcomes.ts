import { orderFrame } from '../notify/frames';
import type { OrderItem } from '../aws/orders-table';
import type { EngineContext } from './context';
import { isTerminal, nextVersion, type OrderStatus } from './state-machine';

export interface AdvanceOptions {
  attempt?: number;
  meta: Record<string, unknown>;
  set?: Parameters<EngineContext['orders']['transition']>[0]['set'];
  /** Defaults: a terminal or pending order holds no lease; other states keep the current one. */
  leaseUntilMs?: number;
}

/**
 * One status change: the conditional write (the order's seq is the version), then the frame on the status queue
 * for the subscribers the write returned. A writer that lost the race gets a StaleWriteError and publishes nothing.
 */
export const advance = async (ctx: EngineContext, order: OrderItem, to: OrderStatus, options: AdvanceOptions): Promise<OrderItem> => {
  const next = nextVersion(order, to, options.attempt ?? order.attempt);
  const nowMs = ctx.now();
  const frame = orderFrame({
    orderId: order.orderId,
    clientOrderId: order.clientOrderId,
    status: to,
    seq: next.seq,
    attempt: next.attempt,
    atMs: nowMs,
    meta: options.meta,
  });
  const leaseUntilMs = options.leaseUntilMs ?? (isTerminal(to) || to === 'pending' ? 0 : order.leaseUntilMs);
  const updated = await ctx.orders.transition({
    orderId: order.orderId,
    expected: { status: order.status, seq: order.seq },
    next,
    frame,
    nowMs,
    leaseUntilMs,
    ...(options.set ? { set: options.set } : {}),
  });
  await ctx.notifier.publish(updated, frame);
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
