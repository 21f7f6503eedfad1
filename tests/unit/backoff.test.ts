import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { retryDelaySeconds } from '../../lib/orders/backoff';

const defaults = { baseSeconds: 1, capSeconds: 8 };

describe('retry backoff', () => {
  it('is about 1 s, 2 s, 4 s, then capped', () => {
    expect(retryDelaySeconds(1, defaults, () => 0)).toBe(1);
    expect(retryDelaySeconds(2, defaults, () => 0)).toBe(2);
    expect(retryDelaySeconds(3, defaults, () => 0)).toBe(4);
    expect(retryDelaySeconds(3, defaults, () => 0.999)).toBe(5);
    expect(retryDelaySeconds(9, defaults, () => 0.999)).toBe(8);
  });

  it('every later gap is longer than every earlier one, whatever the jitter draws (below the cap)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r1, r2) => {
        expect(retryDelaySeconds(attempt + 1, defaults, () => r2)).toBeGreaterThan(retryDelaySeconds(attempt, defaults, () => r1));
      }),
    );
  });

  it('stays within [1 s, cap] for any attempt', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const delay = retryDelaySeconds(attempt, defaults, () => r);
        expect(delay).toBeGreaterThanOrEqual(1);
        expect(delay).toBeLessThanOrEqual(8);
      }),
    );
  });
});
