import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { confirmationDeadline, lookAgainAfterSeconds, nextRebroadcastAt, slotWorthGivingBack } from '../../lib/orders/patience';
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

describe('when an execution slot is worth giving back', () => {
  it('while three batches wait and this invocation holds at most half a batch', () => {
    expect(slotWorthGivingBack({ waiting: 30, unfinishedHere: 1, batchSize: 10 })).toBe(true);
    expect(slotWorthGivingBack({ waiting: 70, unfinishedHere: 5, batchSize: 10 })).toBe(true);
  });

  it('not for fewer waiting orders than three batches, nor for an invocation holding more than half a batch', () => {
    expect(slotWorthGivingBack({ waiting: 29, unfinishedHere: 1, batchSize: 10 })).toBe(false);
    expect(slotWorthGivingBack({ waiting: 10, unfinishedHere: 1, batchSize: 10 })).toBe(false);
    expect(slotWorthGivingBack({ waiting: 0, unfinishedHere: 1, batchSize: 10 })).toBe(false);
    expect(slotWorthGivingBack({ waiting: 70, unfinishedHere: 6, batchSize: 10 })).toBe(false);
  });

  it('more waiting orders never make it less worth it, more orders in the invocation never more', () => {
    fc.assert(
      fc.property(fc.nat(200), fc.nat(200), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 10 }), (waiting, more, unfinishedHere, fewer, batchSize) => {
        if (slotWorthGivingBack({ waiting, unfinishedHere, batchSize })) {
          expect(slotWorthGivingBack({ waiting: waiting + more, unfinishedHere, batchSize })).toBe(true);
          expect(slotWorthGivingBack({ waiting, unfinishedHere: Math.max(0, unfinishedHere - fewer), batchSize })).toBe(true);
        }
      }),
    );
  });
});
