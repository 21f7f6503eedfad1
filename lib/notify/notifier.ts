import type { Queues } from '../aws/queues';
import type { ConnectionsApi } from '../aws/connections-api';
import type { ConnectionsTable } from '../aws/connections-table';
import type { OrdersTable, OrderItem } from '../aws/orders-table';
import type { OrderFrame } from './frames';
import { log } from '../log';

/** One message on the status queue: a frame and the connections it goes to. */
export interface StatusMessage {
  frame: OrderFrame;
  recipients: string[];
  mgmtEndpoint: string;
}

const POST_RETRY_DELAYS_MS = [50, 200, 800];

const withRetries = async <T>(post: () => Promise<T>): Promise<T> => {
  for (const delayMs of POST_RETRY_DELAYS_MS) {
    try {
      return await post();
    } catch (error) {
      log.warn('post to connection failed; retrying', { error, inMs: delayMs });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
  return post();
};

export interface NotifierDeps {
  statusQueueName: string;
  /** Overrides the per-order endpoint (offline: serverless-offline's WebSocket port). */
  fixedEndpoint: string;
  orders: OrdersTable;
  connections: ConnectionsTable;
  queues: Queues;
  connectionsApi: ConnectionsApi;
}

export class Notifier {
  constructor(private readonly deps: NotifierDeps) {}

  endpointFor(order: Pick<OrderItem, 'mgmtEndpoint'>): string {
    return this.deps.fixedEndpoint || order.mgmtEndpoint || '';
  }

  /**
   * Queues frames, in seq order, for the order's subscribers. The status queue is FIFO grouped by orderId, and the
   * deduplication id is (orderId, seq): frames of one order arrive in seq order and a re-sent frame is dropped. The
   * frames of the orders that advanced in the same event-loop turn share SQS calls (Queues.sendTogether).
   */
  async publish(order: OrderItem, frames: readonly OrderFrame[]): Promise<void> {
    const recipients = [...(order.subscribers ?? [])];
    if (recipients.length === 0) return;
    const mgmtEndpoint = this.endpointFor(order);
    await this.deps.queues.sendTogether(
      this.deps.statusQueueName,
      frames.map((frame) => ({
        body: { frame, recipients, mgmtEndpoint } satisfies StatusMessage,
        fifo: { groupId: order.orderId, deduplicationId: `${order.orderId}:${frame.seq}` },
      })),
    );
  }

  /**
   * The callback step: post to each recipient; a gone connection is forgotten and the others still get the frame.
   * A failed post is retried here, for that recipient alone, before the whole message goes back to the queue: a
   * queue retry re-posts to every recipient, and those already served would see the frame twice.
   */
  async deliver(message: StatusMessage): Promise<void> {
    const endpoint = this.deps.fixedEndpoint || message.mgmtEndpoint;
    await Promise.all(
      message.recipients.map(async (connectionId) => {
        const outcome = await withRetries(() => this.deps.connectionsApi.post(endpoint, connectionId, message.frame));
        if (outcome === 'gone') {
          log.info('connection gone; forgetting it', { connectionId, orderId: message.frame.orderId });
          await Promise.all([
            this.deps.connections.delete(connectionId),
            this.deps.orders.removeSubscriber(message.frame.orderId, connectionId),
          ]);
        }
      }),
    );
  }

  /** A frame straight to one connection (acks, replays, errors). Gone is not an error: the client left. */
  async postDirect(endpoint: string, connectionId: string, frame: unknown): Promise<'sent' | 'gone'> {
    return this.deps.connectionsApi.post(this.deps.fixedEndpoint || endpoint, connectionId, frame);
  }
}
