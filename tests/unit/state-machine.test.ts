import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CANCELLABLE_STATUSES, EXECUTING_STATUSES, canTransition, nextVersion, ORDER_STATUSES, isTerminal, type OrderStatus, type OrderVersion } from '../../lib/orders/state-machine';
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
      fc.property(fc.constantFrom('confirmed', 'failed', 'cancelled', 'expired'), fc.constantFrom(...ORDER_STATUSES), (from, to) => {
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

  /** A random walk through the machine: each step asks for any status; a forbidden one is refused and changes nothing. */
  const walk = (steps: OrderStatus[]): OrderVersion[] => {
    let version: OrderVersion = { status: 'pending', seq: 1, attempt: 1 };
    const seen = [version];
    for (const to of steps) {
      const attempt = to === 'pending' || (to === 'open' && EXECUTING_STATUSES.has(version.status)) ? version.attempt + 1 : version.attempt;
      try {
        version = nextVersion(version, to, attempt);
        seen.push(version);
      } catch (error) {
        expect(error).toBeInstanceOf(StaleWriteError);
      }
    }
    return seen;
  };

  it('from any reachable state, no sequence of events leaves a terminal state', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ORDER_STATUSES), { maxLength: 40 }), (steps) => {
        const seen = walk(steps);
        const firstTerminal = seen.findIndex((v) => isTerminal(v.status));
        if (firstTerminal >= 0) expect(seen.length - 1).toBe(firstTerminal);
        seen.forEach((v, i) => expect(v.seq).toBe(i + 1));
      }),
      { numRuns: 2000 },
    );
  });

  it('a cancelled or expired order never reaches submitted', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ORDER_STATUSES), { maxLength: 40 }), (steps) => {
        const statuses = walk(steps).map((v) => v.status);
        const ended = statuses.findIndex((s) => s === 'cancelled' || s === 'expired');
        if (ended >= 0) expect(statuses.slice(ended)).not.toContain('submitted');
      }),
      { numRuns: 2000 },
    );
  });

  it('rests a limit order in open, and an attempt that fails sends it back to open with a higher attempt', () => {
    let version = nextVersion({ status: 'pending', seq: 1, attempt: 1 }, 'open');
    expect(version).toEqual({ status: 'open', seq: 2, attempt: 1 });
    version = nextVersion(nextVersion(version, 'routing'), 'building');
    expect(() => nextVersion(version, 'open', 1)).toThrow(StaleWriteError);
    expect(nextVersion(version, 'open', 2)).toEqual({ status: 'open', seq: 5, attempt: 2 });
  });

  it('cancels only what nobody executes: pending and open', () => {
    for (const status of ORDER_STATUSES) expect(canTransition(status, 'cancelled')).toBe(CANCELLABLE_STATUSES.has(status));
    for (const status of ORDER_STATUSES) expect(canTransition(status, 'expired')).toBe(status === 'open');
  });
});
