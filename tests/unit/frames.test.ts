import { describe, expect, it } from 'vitest';
import { errorFrame, orderFrame } from '../../lib/notify/frames';

describe('frames', () => {
  it('builds an order frame with exactly the PROTOCOL.md fields', () => {
    const frame = orderFrame({ orderId: '01JD0000000000000000000000', clientOrderId: 'bot7', status: 'routing', seq: 2, attempt: 1, atMs: Date.UTC(2026, 10, 25, 10), meta: { quotes: [] } });
    expect(frame).toEqual({
      type: 'order',
      orderId: '01JD0000000000000000000000',
      clientOrderId: 'bot7',
      status: 'routing',
      seq: 2,
      at: '2026-11-25T10:00:00.000Z',
      attempt: 1,
      meta: { quotes: [] },
    });
  });

  it('omits clientOrderId when the order has none', () => {
    const frame = orderFrame({ orderId: 'x', status: 'pending', seq: 1, attempt: 1, atMs: 0, meta: {} });
    expect(Object.keys(frame)).not.toContain('clientOrderId');
  });

  it('builds error frames with details only when there are some', () => {
    expect(errorFrame('BAD_REQUEST', 'not JSON')).toEqual({ type: 'error', code: 'BAD_REQUEST', message: 'not JSON' });
    expect(errorFrame('VALIDATION_FAILED', 'amount: must be > 0', [{ path: 'amount', message: 'must be > 0' }]).details).toHaveLength(1);
  });
});
