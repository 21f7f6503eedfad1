import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canTransition, nextVersion, ORDER_STATUSES, isTerminal, type OrderStatus } from '../../lib/orders/state-machine';
import { StaleWriteError } from '../../lib/errors';

describe('order state machine', () => {
  it('walks the happy path with seq 1..5', () => {
    let version = { status: 'pending' as OrderStatus, seq: 1, attempt: 1 };
    for (const status of ['routing', 'building', 'submitted', 'confirmed'] as const) {
      version = nextVersion(version, status);
      expect(version.status).toBe(status);
    }
    expect(version.seq).toBe(5);
    expect(version.attempt).toBe(1);
  });

  it('returns to pending only with a higher attempt', () => {
    const building = { status: 'building' as const, seq: 3, attempt: 1 };
    expect(nextVersion(building, 'pending', 2)).toEqual({ status: 'pending', seq: 4, attempt: 2 });
    expect(() => nextVersion(building, 'pending', 1)).toThrow(StaleWriteError);
  });

  it('changes attempt only on a retry', () => {
    expect(() => nextVersion({ status: 'pending', seq: 1, attempt: 1 }, 'routing', 2)).toThrow(StaleWriteError);
    expect(() => nextVersion({ status: 'routing', seq: 2, attempt: 1 }, 'building', 2)).toThrow(StaleWriteError);
    expect(nextVersion({ status: 'pending', seq: 1, attempt: 1 }, 'pending', 2)).toEqual({ status: 'pending', seq: 2, attempt: 2 });
  });

  it('never leaves a terminal state', () => {
    fc.assert(
      fc.property(fc.constantFrom('confirmed', 'failed'), fc.constantFrom(...ORDER_STATUSES), (from, to) => {
        expect(canTransition(from as OrderStatus, to)).toBe(false);
      }),
    );
  });

  it('can fail from every non-terminal state', () => {
    for (const status of ORDER_STATUSES.filter((s) => !isTerminal(s))) expect(canTransition(status, 'failed')).toBe(true);
  });

  it('forbids skipping stages', () => {
    expect(() => nextVersion({ status: 'pending', seq: 1, attempt: 1 }, 'submitted')).toThrow(StaleWriteError);
    expect(() => nextVersion({ status: 'routing', seq: 2, attempt: 1 }, 'confirmed')).toThrow(StaleWriteError);
  });
});
