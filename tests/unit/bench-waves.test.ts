import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { perInterval } from '../../bench/support/stats';

describe("the burst bench's waves (counts per interval from the first send)", () => {
  it('counts each time in the interval it falls in, up to the last time', () => {
    expect(perInterval([1_000, 1_100, 1_499, 1_500, 2_900], 1_000, 500)).toEqual([3, 1, 0, 1]);
  });

  it('shows a wave that waits: nothing taken up while the first executions hold the slots', () => {
    const firstWave = [200, 300, 450];
    const secondWave = [1_250, 1_300, 1_400, 1_450];
    expect(perInterval([...firstWave, ...secondWave], 0, 500)).toEqual([3, 0, 4]);
  });

  it('puts a time before the origin in the first interval (an engine clock a little behind the client)', () => {
    expect(perInterval([995, 1_200], 1_000, 500)).toEqual([2]);
  });

  it('is empty when nothing happened', () => {
    expect(perInterval([], 0, 500)).toEqual([]);
    expect(perInterval([Number.NaN], 0, 500)).toEqual([]);
  });

  it('loses and invents no time: the counts add up to the times given, and the last interval holds the latest', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 2_000 }), (times, intervalMs) => {
        const counts = perInterval(times, 0, intervalMs);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(times.length);
        expect(counts.at(-1)).toBeGreaterThan(0);
        expect(counts.length).toBe(Math.floor(Math.max(...times) / intervalMs) + 1);
      }),
    );
  });
});
