import { describe, expect, it } from 'vitest';
import { chainFloor, orderAlone, type ChainFloorOptions } from '../../bench/support/chain-floor';
import { mockProfile } from '../../lib/chain/profile';

const options = (over: Partial<ChainFloorOptions> = {}): ChainFloorOptions => ({
  profile: mockProfile('realistic'),
  orders: 20,
  batches: 3,
  priorityFee: 'auto',
  percentile: 75,
  maxLamports: 100_000,
  ...over,
});
const T0 = Date.UTC(2026, 0, 1);

describe('the chain floor of the burst bench', () => {
  it('is nothing on the zero profile', async () => {
    const floor = await chainFloor(options({ profile: mockProfile('zero') }));
    expect(floor.slowestMs.max).toBe(0);
    expect(floor.orderMs.n).toBe(60);
  });

  it('a batch completes with its slowest order: every batch maximum is one of its orders, and at least the median order', async () => {
    const floor = await chainFloor(options());
    expect(floor.slowestMs.n).toBe(3);
    expect(floor.slowestMs.max).toBe(floor.orderMs.max);
    expect(floor.slowestMs.p50!).toBeGreaterThanOrEqual(floor.orderMs.p50!);
    // Realistic latencies: a quote, a build and a landing with its confirmation take well over a second at the median.
    expect(floor.orderMs.p50!).toBeGreaterThan(1_000);
  });

  it('rebroadcasting more often never lands an order later (each send draws its own landing; the 500 ms sends include the 2 s ones)', async () => {
    let sooner = 0;
    for (let i = 0; i < 40; i++) {
      const every2s = await orderAlone(options({ profile: { ...mockProfile('realistic'), rebroadcastMs: 2_000 } }), T0, `order-${i}`);
      const every500ms = await orderAlone(options(), T0, `order-${i}`);
      expect(every500ms.landedMs).not.toBeNull();
      expect(every500ms.landedMs!).toBeLessThanOrEqual(every2s.landedMs!);
      if (every500ms.landedMs! < every2s.landedMs!) sooner++;
    }
    // ...and some land sooner: a first send slower than 500 ms is common (landing median 400 ms, p95 2.4 s).
    expect(sooner).toBeGreaterThan(0);
  });
});
