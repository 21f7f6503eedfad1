import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { setMarketSeed } from '../../lib/venues/market';
import { DEFAULT_MOCK_SEED } from '../../lib/config';
import { firstPlannable, heldFrom, PLAN_AGAIN_EVERY_MS, PLAN_AGAIN_FOR_MS, planCrossing, reachedAt, STEP_MS, type Crossing } from '../support/market-crossing';

/*
 * The e2e limit tests trust planCrossing's promise: the order rests until `crossesAtMs`, and from then on the market
 * stays past its limit for the hold, so a trigger is due within a watcher tick of `crossesAtMs`. These check that
 * promise against the seeded market the stack runs.
 */
setMarketSeed(DEFAULT_MOCK_SEED);

const CRASH_TEST_OPTIONS = { horizonMs: 75_000, restsForMs: 12_000, pastBy: 0.0001 };

/** Reached before `crossesAtMs` (sampled as the planner samples), or not reached at some step of the hold. */
const brokenPromise = (fromMs: number, plan: Crossing, holdsForMs: number): string | undefined => {
  const firstReach = reachedAt(plan.order, fromMs, plan.crossesAtMs - fromMs);
  if (firstReach !== plan.crossesAtMs) return `first reached at ${firstReach === undefined ? 'never' : firstReach - fromMs} ms, planned ${plan.crossesAtMs - fromMs} ms`;
  for (let t = plan.crossesAtMs; t < plan.crossesAtMs + holdsForMs; t += STEP_MS) {
    if (reachedAt(plan.order, t, 0) !== t) return `not reached ${t - plan.crossesAtMs} ms into the hold`;
  }
  return undefined;
};

describe('planCrossing', () => {
  it('a CI run\'s instant (2026-12-03T07:43:20Z): the plan is not a 0.75 s touch that the market leaves before the watcher sees it', () => {
    // The planner of that run returned a sell limit at 153.98475 crossing at 07:43:45, which the market held for
    // 750 ms and left for more than 15 s: the watcher never triggered, and the crash test killed an idle host.
    const fromMs = Date.parse('2026-12-03T07:43:20Z');
    const plan = planCrossing(fromMs, { ...CRASH_TEST_OPTIONS, holdsForMs: 5_000 });
    expect(plan).toBeDefined();
    expect(brokenPromise(fromMs, plan as Crossing, 5_000)).toBeUndefined();
  });

  it('rests until crossesAtMs and is reached from then on for the whole hold, from any start time', () => {
    const dayMs = 86_400_000;
    const start = Date.parse('2026-12-01T00:00:00Z');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 * dayMs }), fc.constantFrom(3_000, 5_000, 15_000, 45_000), (offsetMs, holdsForMs) => {
        const fromMs = start + offsetMs;
        const plan = planCrossing(fromMs, { horizonMs: 120_000, holdsForMs });
        if (!plan) return;
        expect(plan.crossesAtMs - fromMs).toBeGreaterThanOrEqual(6_000);
        expect(brokenPromise(fromMs, plan, holdsForMs)).toBeUndefined();
      }),
      { numRuns: 40 },
    );
  });

  it('heldFrom skips a touch shorter than the hold: the CI run\'s 0.75 s touch is reached but not held', () => {
    const order = { side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '0.2', limitPrice: '153.98475' } as const;
    const fromMs = Date.parse('2026-12-03T07:43:44Z');
    expect(reachedAt(order, fromMs, 15_000)).toBe(Date.parse('2026-12-03T07:43:45Z'));
    expect(heldFrom(order, fromMs, 15_000, 750)).toBe(Date.parse('2026-12-03T07:43:45Z'));
    expect(heldFrom(order, fromMs, 15_000, 2_000)).toBeUndefined();
  });

  it('heldFrom finds a planned crossing, the first reach that lasts', () => {
    const start = Date.parse('2026-12-01T00:00:00Z');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 * 86_400_000 }), (offsetMs) => {
        const fromMs = start + offsetMs;
        const plan = planCrossing(fromMs, { horizonMs: 120_000, holdsForMs: 3_000 });
        if (!plan) return;
        const held = heldFrom(plan.order, fromMs, 120_000, 2_000);
        expect(held).toBe(plan.crossesAtMs);
      }),
      { numRuns: 20 },
    );
  });
});

describe('firstPlannable: a calm stretch of the market is waited out', () => {
  const plan = (startMs: number) => planCrossing(startMs, { horizonMs: 120_000 });

  it("a CI run's instant (2026-12-03T16:50:30Z): no plan from it or 10, 20 or 30 s later, one within two minutes", () => {
    const fromMs = Date.parse('2026-12-03T16:50:30Z');
    // The e2e limit test's four tries over 30 s, which failed that run.
    for (const laterMs of [0, 10_000, 20_000, 30_000]) expect(plan(fromMs + laterMs)).toBeUndefined();
    const planned = firstPlannable(fromMs, plan);
    expect(planned).toBeDefined();
    const { startMs, crossing } = planned as { startMs: number; crossing: Crossing };
    expect(startMs - fromMs).toBeGreaterThan(30_000);
    expect(startMs - fromMs).toBeLessThanOrEqual(PLAN_AGAIN_FOR_MS);
    expect((startMs - fromMs) % PLAN_AGAIN_EVERY_MS).toBe(0);
    expect(crossing).toEqual(plan(startMs));
  });

  it('the longest calm stretch scanned (9 start times 10 s apart, 2026-12-05T00:48:50Z to 00:50:10Z) is inside the two minutes', () => {
    const fromMs = Date.parse('2026-12-05T00:48:50Z');
    expect(plan(fromMs)).toBeUndefined();
    expect(firstPlannable(fromMs, plan)).toBeDefined();
  });

  it('takes the start time itself when it has a plan', () => {
    const fromMs = Date.parse('2026-12-03T16:40:00Z');
    expect(firstPlannable(fromMs, plan)).toEqual({ startMs: fromMs, crossing: plan(fromMs) });
  });

  it('is undefined when no start time within the two minutes has a plan', () => {
    let asked = 0;
    expect(firstPlannable(0, () => (asked++, undefined))).toBeUndefined();
    expect(asked).toBe(PLAN_AGAIN_FOR_MS / PLAN_AGAIN_EVERY_MS + 1);
  });
});
