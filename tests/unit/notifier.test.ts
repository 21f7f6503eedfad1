import { describe, expect, it } from 'vitest';
import { Notifier, type NotifierDeps } from '../../lib/notify/notifier';
import type { OrderItem } from '../../lib/aws/orders-table';
import type { OrderFrame } from '../../lib/notify/frames';

/*
 * The notifier's own decisions, with the AWS adapters replaced by recorders: which endpoint a frame goes to, that a
 * failed post is retried for its recipient alone, and that a gone connection is forgotten while the others are served.
 */
const frame = { type: 'order', orderId: 'o1', status: 'routing', seq: 2 } as unknown as OrderFrame;

const notifierWith = (post: (endpoint: string, connectionId: string) => Promise<'sent' | 'gone'>, fixedEndpoint = '') => {
  const deleted: string[] = [];
  const unsubscribed: Array<[string, string]> = [];
  const sent: Array<{ queue: string; groupIds: string[] }> = [];
  const deps = {
    statusQueueName: 'status.fifo',
    fixedEndpoint,
    orders: { removeSubscriber: async (orderId: string, connectionId: string) => void unsubscribed.push([orderId, connectionId]) },
    connections: { delete: async (connectionId: string) => void deleted.push(connectionId) },
    queues: {
      sendTogether: async (queue: string, messages: Array<{ fifo?: { groupId: string } }>) => void sent.push({ queue, groupIds: messages.map((m) => m.fifo?.groupId ?? '') }),
    },
    connectionsApi: { post },
  } as unknown as NotifierDeps;
  return { notifier: new Notifier(deps), deleted, unsubscribed, sent };
};

describe('Notifier', () => {
  it('posts to the fixed endpoint when there is one (offline), else to the order\'s own', async () => {
    const endpoints: string[] = [];
    const record = async (endpoint: string) => {
      endpoints.push(endpoint);
      return 'sent' as const;
    };
    expect(notifierWith(record).notifier.endpointFor({ mgmtEndpoint: 'https://api/stage' })).toBe('https://api/stage');
    expect(notifierWith(record).notifier.endpointFor({ mgmtEndpoint: undefined } as unknown as OrderItem)).toBe('');
    const fixed = notifierWith(record, 'http://127.0.0.1:3001');
    expect(fixed.notifier.endpointFor({ mgmtEndpoint: 'https://api/stage' })).toBe('http://127.0.0.1:3001');
    await fixed.notifier.postDirect('https://api/stage', 'c1', frame);
    await notifierWith(record).notifier.postDirect('https://api/stage', 'c1', frame);
    expect(endpoints).toEqual(['http://127.0.0.1:3001', 'https://api/stage']);
  });

  it('publishes nothing for an order nobody follows, and one FIFO message per frame grouped by order otherwise', async () => {
    const { notifier, sent } = notifierWith(async () => 'sent');
    await notifier.publish({ orderId: 'o1', subscribers: [] } as unknown as OrderItem, [frame]);
    expect(sent).toEqual([]);
    await notifier.publish({ orderId: 'o1', subscribers: ['c1', 'c2'], mgmtEndpoint: 'https://api/stage' } as unknown as OrderItem, [frame, { ...frame, seq: 3 }]);
    expect(sent).toEqual([{ queue: 'status.fifo', groupIds: ['o1', 'o1'] }]);
  });

  it('retries a failed post for that recipient alone, and forgets a gone connection while the others are served', async () => {
    const attempts = new Map<string, number>();
    const { notifier, deleted, unsubscribed } = notifierWith(async (_endpoint, connectionId) => {
      const n = (attempts.get(connectionId) ?? 0) + 1;
      attempts.set(connectionId, n);
      if (connectionId === 'flaky' && n < 3) throw new Error('socket hang up');
      return connectionId === 'left' ? 'gone' : 'sent';
    });
    await notifier.deliver({ frame, recipients: ['flaky', 'left', 'steady'], mgmtEndpoint: 'https://api/stage' });
    expect(Object.fromEntries(attempts)).toEqual({ flaky: 3, left: 1, steady: 1 });
    expect(deleted).toEqual(['left']);
    expect(unsubscribed).toEqual([['o1', 'left']]);
  });

  it('a post that keeps failing fails the delivery, so the message goes back to the queue', async () => {
    const { notifier } = notifierWith(async () => {
      throw new Error('ECONNREFUSED');
    });
    await expect(notifier.deliver({ frame, recipients: ['c1'], mgmtEndpoint: 'https://api/stage' })).rejects.toThrow('ECONNREFUSED');
  });
});
