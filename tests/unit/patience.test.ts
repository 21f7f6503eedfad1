import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { confirmationDeadline, lookAgainAfterSeconds, nextRebroadcastAt } from '../../lib/orders/patience';
import { mockProfile } from '../../lib/chain/profile';

const hintsOf = (name: 'realistic' | 'fast' | 'zero') => {
  const profile = mockProfile(name);
  return { landing: profile.latencies.landing, confirm: profile.latencies.confirm, timeoutMs: profile.confirmTimeoutMs, rebroadcastMs: profile.rebroadcastMs };
};

describe('how long an execution waits for its transaction', () => {
  it("until the transaction's blockhash expires, plus a slow confirmation of a landing in its last slot", () => {
    expect(confirmationDeadline(hintsOf('realistic'), { expiresAtMs: 80_000 })).toBe(80_000 + 2_000);
    expect(confirmationDeadline(hintsOf('fast'), { expiresAtMs: 80_000 })).toBe(80_000 + 15);
    expect(confirmationDeadline(hintsOf('zero'), { expiresAtMs: 80_000 })).toBe(80_000 + 1);
  });

  it('never before the expiry: a transaction that has not landed yet may still land until then', () => {
    fc.assert(
      fc.property(fc.nat(20_000), fc.nat(10_000_000), (confirmP95, expiresAtMs) => {
        const hints = { ...hintsOf('realistic'), confirm: { medianMs: 0, p95Ms: confirmP95 } };
        expect(confirmationDeadline(hints, { expiresAtMs })).toBeGreaterThan(expiresAtMs);
      }),
    );
  });

  it('rebroadcasts on the profile interval (500 ms realistic, as the Solana cookbook\'s rebroadcast loop)', () => {
    expect(nextRebroadcastAt(hintsOf('realistic'), 10_000)).toBe(10_500);
    expect(nextRebroadcastAt(hintsOf('fast'), 10_000)).toBe(10_100);
  });

  it('a transaction still in flight: the sender looks again after the backoff (or at expiry, if sooner); a re-check at expiry', () => {
    expect(lookAgainAfterSeconds({ expiresAtMs: 80_000, nowMs: 10_000, recheck: false, backoffSeconds: 1 })).toBe(1);
    expect(lookAgainAfterSeconds({ expiresAtMs: 80_000, nowMs: 10_000, recheck: true, backoffSeconds: 1 })).toBe(71);
    expect(lookAgainAfterSeconds({ expiresAtMs: 10_500, nowMs: 10_000, recheck: false, backoffSeconds: 8 })).toBe(2);
    expect(lookAgainAfterSeconds({ expiresAtMs: 5_000, nowMs: 10_000, recheck: true, backoffSeconds: 8 })).toBe(1);
  });
});
