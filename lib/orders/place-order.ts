import { ulid } from 'ulid';
import { formatUiAmount } from '../tokens';
import { orderFrame } from '../notify/frames';
import { sendMessage } from '../aws/queues';
import { openShardOf, type OrderItem } from '../aws/orders-table';
import type { EngineContext } from './context';
import type { ValidatedOrder } from './request';
import { InfrastructureError } from '../errors';
import { failOrder } from './outcomes';
import { log } from '../log';

/** What the order was when it was placed (seq 1): enough for its first delivery to start without reading it back. */
export type PlacedOrder = Pick<OrderItem, 'owner' | 'clientOrderId' | 'request' | 'wireOrder' | 'createdAtMs' | 'mgmtEndpoint'>;

/**
 * The orders queue message. The order lives in DynamoDB; the message names it and, when sent at placement, carries
 * the placed order so that the first delivery saves a read (its first write is conditional on seq 1 anyway).
 */
export interface OrderMessage {
  orderId: string;
  placed?: PlacedOrder;
}

/*
 * A duplicate clientOrderId answers with the existing order. If that order is still at its first `pending` after
 * this long, the enqueue that should have followed its creation may have been lost with its Lambda: enqueueing it
 * again is safe because execution is idempotent per order.
 */
const REENQUEUE_STALE_PENDING_AFTER_MS = 10_000;

export const wireOrderOf = (order: ValidatedOrder): Record<string, unknown> => ({
  side: order.side,
  tokenIn: order.tokenIn.symbol,
  tokenOut: order.tokenOut.symbol,
  amount: formatUiAmount(order.amountIn, order.tokenIn),
  slippage: order.slippageBps / 100,
  ...(order.clientOrderId ? { clientOrderId: order.clientOrderId } : {}),
});

/**
 * The `execute` route: record the order (`pending`, seq 1), acknowledge it on the caller's socket, then enqueue it.
 * The ack is posted before the enqueue so that no later frame of the order can overtake it.
 */
export const placeOrder = async (
  ctx: EngineContext,
  params: { connectionId: string; owner: string; endpoint: string; order: ValidatedOrder },
): Promise<{ orderId: string; created: boolean }> => {
  const { connectionId, owner, endpoint, order } = params;
  const nowMs = ctx.now();
  const orderId = ulid(nowMs);
  const wireOrder = wireOrderOf(order);
  const frame = orderFrame({ orderId, clientOrderId: order.clientOrderId, status: 'pending', seq: 1, attempt: 1, atMs: nowMs, meta: { order: wireOrder } });
  const item: OrderItem = {
    orderId,
    kind: 'order',
    owner,
    ...(order.clientOrderId ? { clientOrderId: order.clientOrderId } : {}),
    status: 'pending',
    seq: 1,
    attempt: 1,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    request: {
      side: order.side,
      tokenIn: order.tokenIn.symbol,
      tokenOut: order.tokenOut.symbol,
      amountIn: order.amountIn.toString(),
      slippageBps: order.slippageBps,
      ...(order.mockFailures ? { mockFailures: order.mockFailures as Record<string, string> } : {}),
    },
    wireOrder,
    lastFrame: frame,
    subscribers: new Set([connectionId]),
    mgmtEndpoint: endpoint,
    leaseUntilMs: 0,
    simulatedMs: 0,
    openShard: openShardOf(orderId),
  };

  const created = await ctx.orders.create(item);
  if (!created.created) {
    const existing = await ctx.orders.addSubscriber(created.existingOrderId, owner, connectionId);
    if (!existing) throw new InfrastructureError('INTERNAL', `order ${created.existingOrderId} named by a clientOrderId guard is missing`);
    await ctx.notifier.postDirect(endpoint, connectionId, existing.lastFrame);
    if (existing.status === 'pending' && existing.seq === 1 && nowMs - existing.createdAtMs > REENQUEUE_STALE_PENDING_AFTER_MS) {
      log.warn('re-enqueueing an order stuck at its first pending', { orderId: existing.orderId });
      await sendMessage(ctx.config.ORDERS_QUEUE_NAME, { orderId: existing.orderId } satisfies OrderMessage);
    }
    return { orderId: existing.orderId, created: false };
  }

  try {
    await ctx.notifier.postDirect(endpoint, connectionId, frame);
  } catch (error) {
    // The order is recorded: it must still run. The client learns its id from a later frame or by re-sending its
    // clientOrderId; an ack lost here must not strand the order at `pending`.
    log.warn('could not post the pending frame; enqueueing anyway', { orderId, error });
  }
  try {
    const placed: PlacedOrder = {
      owner,
      ...(order.clientOrderId ? { clientOrderId: order.clientOrderId } : {}),
      request: item.request,
      wireOrder,
      createdAtMs: nowMs,
      mgmtEndpoint: endpoint,
    };
    await sendMessage(ctx.config.ORDERS_QUEUE_NAME, { orderId, placed } satisfies OrderMessage);
  } catch (error) {
    // Accepted but not enqueued: end it visibly rather than leave it pending forever.
    log.error('could not enqueue order', { orderId, error });
    await failOrder(ctx, item, { code: 'INTERNAL', message: 'the order could not be queued for execution' });
  }
  return { orderId, created: true };
};
