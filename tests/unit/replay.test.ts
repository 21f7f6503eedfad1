import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { replayOf } from '../../lib/orders/subscribe';
import { orderFrame, pongFrame } from '../../lib/notify/frames';
import { validatePing, validateSubscribe } from '../../lib/orders/request';

const frameAt = (seq: number) => orderFrame({ orderId: '01M8V2JDJN6FW4VG8A219VVP76', status: seq === 1 ? 'pending' : 'routing', seq, attempt: 1, atMs: 1_000 + seq, meta: {} });
const orderOf = (n: number) => ({ lastFrame: frameAt(n), history: Array.from({ length: n }, (_, i) => frameAt(i + 1)) });

describe('what a subscribe replays', () => {
  it('without fromSeq: the current frame only (v1)', () => {
    expect(replayOf(orderOf(5), undefined)).toEqual([frameAt(5)]);
  });

  it('with fromSeq: exactly the frames from that seq to the current one, in order; none past the end', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 40 }), (n, fromSeq) => {
        const replay = replayOf(orderOf(n), fromSeq);
        const expected = fromSeq > n ? [] : Array.from({ length: n - fromSeq + 1 }, (_, i) => fromSeq + i);
        expect(replay.map((frame) => frame.seq)).toEqual(expected);
      }),
    );
  });

  it('an order stored before the history existed replays its current frame when it is at or after fromSeq', () => {
    expect(replayOf({ lastFrame: frameAt(4) }, 2)).toEqual([frameAt(4)]);
    expect(replayOf({ lastFrame: frameAt(4) }, 5)).toEqual([]);
  });
});

describe('ping and fromSeq validation', () => {
  it('ping takes no field; pong carries the time as ISO 8601', () => {
    expect(() => validatePing({ action: 'ping' })).not.toThrow();
    expect(() => validatePing({ action: 'ping', at: 1 })).toThrow(/at/);
    expect(pongFrame(Date.UTC(2026, 11, 2))).toEqual({ type: 'pong', at: '2026-12-02T00:00:00.000Z' });
  });

  it('fromSeq is an integer >= 1', () => {
    const orderId = '01M8V2JDJN6FW4VG8A219VVP76';
    expect(validateSubscribe({ action: 'subscribe', orderId, fromSeq: 3 })).toEqual({ action: 'subscribe', orderId, fromSeq: 3 });
    for (const fromSeq of [0, -1, 1.5, '2', null]) expect(() => validateSubscribe({ action: 'subscribe', orderId, fromSeq })).toThrow(/fromSeq/);
  });
});
