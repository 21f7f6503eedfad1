import { StaleWriteError } from '../errors';
import type { RecordOutcome } from '../aws/sqs-batch';
import type { EngineContext } from '../engine';
import { failOrder } from './outcomes';
import { isTerminal } from './state-machine';
import { parseOrderMessage } from './order-message';
import { OrderExecution, type OrderDelivery } from './execute-order';
import { log, withLogContext } from '../log';

/**
 * The dead-letter backstop: an order whose message exhausted its deliveries ends now. If its transaction reached the
 * chain, the chain decides (confirmed stays confirmed); if that transaction may still land, it is looked at again later.
 */
export const settleDeadLetter = (ctx: EngineContext, delivery: OrderDelivery): Promise<RecordOutcome> => {
  const parsed = parseOrderMessage(delivery.body);
  return withLogContext({ messageId: delivery.messageId, ...(parsed.success ? { orderId: parsed.data.orderId } : {}) }, () => settle(ctx, delivery, parsed));
};

const settle = async (ctx: EngineContext, delivery: OrderDelivery, parsed: ReturnType<typeof parseOrderMessage>): Promise<RecordOutcome> => {
  if (!parsed.success) {
    log.error('dead letter names no order; kept in the logs only', { messageId: delivery.messageId, body: delivery.body.slice(0, 512) });
    return { kind: 'done' };
  }
  const order = await ctx.orders.get(parsed.data.orderId);
  if (!order) {
    log.error('dead letter names an unknown order', { messageId: delivery.messageId, orderId: parsed.data.orderId });
    return { kind: 'done' };
  }
  if (isTerminal(order.status)) return { kind: 'done' };
  if (order.status === 'open') {
    // A resting order is the watcher's: it triggers it again when its price is there, and ends it at expiresAt.
    log.warn('dead letter for a resting order; it keeps resting', { orderId: order.orderId });
    return { kind: 'done' };
  }
  log.warn('settling a dead-lettered order', { orderId: order.orderId, status: order.status, lastError: order.lastError });
  const execution = new OrderExecution(ctx, { ...delivery, deadlineMs: ctx.now() }, true);
  try {
    if (order.status === 'submitted' && order.tx) {
      const sent = await ctx.chain.findTransaction(order.tx.signature);
      if (sent) return await execution.follow(order, sent);
    }
    await failOrder(ctx, order, order.lastError ?? { code: 'DEAD_LETTERED', message: 'the order message exhausted its deliveries' });
    return { kind: 'done' };
  } catch (error) {
    if (error instanceof StaleWriteError) return { kind: 'done' };
    throw error;
  }
};


