import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { confirmationDeadline, lookAgainAfterSeconds } from '../../lib/orders/patience';
import { mockProfile } from '../../lib/chain/profile';

const hintsOf = (name: 'realistic' | 'fast' | 'zero') => {
  const profile = mockProfile(name);
  return { landing: profile.latencies.landing, confirm: profile.latencies.confirm, timeoutMs: profile.confirmTimeoutMs };
};

describe('how long an execution waits for its transaction', () => {
  it('realistic: the sender waits a typical landing plus a slow confirmation (2.4 s); a re-check its full patience (8.8 s)', () => {
    const hints = hintsOf('realistic');
    expect(confirmationDeadline(hints, { sentAtMs: 1_000, waitStartedMs: 1_000, recheck: false })).toBe(1_000 + 400 + 2_000);
    expect(confirmationDeadline(hints, { sentAtMs: 1_000, waitStartedMs: 60_000, recheck: true })).toBe(60_000 + 2 * (2_400 + 2_000));
  });

  it('never less than a second, never past the confirmation timeout for the sender, a re-check never shorter than the sender', () => {
    fc.assert(
      fc.property(
        fc.record({ landingMedian: fc.nat(5_000), landingP95: fc.nat(20_000), confirmMedian: fc.nat(5_000), confirmP95: fc.nat(20_000), timeoutMs: fc.integer({ min: 1, max: 60_000 }) }),
        fc.nat(10_000_000),
        fc.nat(100_000),
        (h, sentAtMs, lateBy) => {
          const hints = { landing: { medianMs: h.landingMedian, p95Ms: h.landingP95 }, confirm: { medianMs: h.confirmMedian, p95Ms: h.confirmP95 }, timeoutMs: h.timeoutMs };
          const sender = confirmationDeadline(hints, { sentAtMs, waitStartedMs: sentAtMs, recheck: false });
          const recheck = confirmationDeadline(hints, { sentAtMs, waitStartedMs: sentAtMs + lateBy, recheck: true });
          expect(sender - sentAtMs).toBeLessThanOrEqual(h.timeoutMs);
          expect(sender - sentAtMs).toBeGreaterThanOrEqual(Math.min(1_000, h.timeoutMs));
          expect(recheck).toBeGreaterThanOrEqual(sender);
          expect(recheck - (sentAtMs + lateBy)).toBeGreaterThanOrEqual(1_000);
        },
      ),
    );
  });

  it('a transaction still in flight: the sender looks again after the backoff (or at expiry, if sooner); a re-check at expiry', () => {
    expect(lookAgainAfterSeconds({ expiresAtMs: 80_000, nowMs: 10_000, recheck: false, backoffSeconds: 1 })).toBe(1);
    expect(lookAgainAfterSeconds({ expiresAtMs: 80_000, nowMs: 10_000, recheck: true, backoffSeconds: 1 })).toBe(71);
    expect(lookAgainAfterSeconds({ expiresAtMs: 10_500, nowMs: 10_000, recheck: false, backoffSeconds: 8 })).toBe(2);
    expect(lookAgainAfterSeconds({ expiresAtMs: 5_000, nowMs: 10_000, recheck: true, backoffSeconds: 8 })).toBe(1);
  });
});
