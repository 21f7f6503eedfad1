import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gcra, limitsOf, tokenBucket, type GcraOutcome, type TokenBucket } from '../../lib/accounts/admission';
import { parseConfig } from '../../lib/config';

/*
 * The token bucket of admission control (PROTOCOL.md v2 "Admission control") as GCRA. The conditional write in
 * lib/aws/limits-table.ts makes exactly the decision `gcra` makes (tests/integration/admission.test.ts checks that
 * against DynamoDB); here, the decision itself.
 */

/** Epoch-sized times: the arithmetic runs at the magnitude it meets in production. */
const EPOCH = 1_764_000_000_000;

/** Feeds request times through one bucket, as the table would (a refusal changes nothing). */
const run = (bucket: TokenBucket, times: number[], tat?: number): { admitted: number[]; outcomes: GcraOutcome[]; tat: number | undefined } => {
  const admitted: number[] = [];
  const outcomes: GcraOutcome[] = [];
  for (const time of times) {
    const outcome = gcra(bucket, tat, time);
    outcomes.push(outcome);
    if (outcome.admitted) {
      tat = outcome.tat;
      admitted.push(time);
    }
  }
  return { admitted, outcomes, tat };
};

const rates = fc.oneof(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0.1, max: 200, noNaN: true, noDefaultInfinity: true }));
const bursts = fc.integer({ min: 1, max: 50 });
const buckets = fc.tuple(rates, bursts).map(([rate, burst]) => tokenBucket(rate, burst) as TokenBucket);
/** Integer-millisecond arrival times: bursts (gap 0), chatter, and quiet spells, in any mix. */
const arrivals = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3_000 })), { maxLength: 250 })
  .map((gaps) => {
    let time = EPOCH;
    return gaps.map((gap) => (time += gap));
  });
/** A history that leaves the bucket in any state (the tat it ends with, and when). */
const histories = arrivals;

/** The bucket's interval in (fractional) milliseconds. */
const intervalMs = (bucket: TokenBucket): number => bucket.intervalUs / 1000;
/** burst + rate * t, with room for the test's own floating-point rounding of that product (not the bucket's). */
const bound = (bucket: TokenBucket, windowMs: number): number => bucket.burst + (bucket.perSecond * windowMs) / 1000 + 1e-9;

describe('admission: the token bucket (GCRA)', () => {
  it('never admits more than burst + rate * t over any window of t ms', () => {
    fc.assert(
      fc.property(buckets, arrivals, (bucket, times) => {
        const { admitted } = run(bucket, times);
        for (let first = 0; first < admitted.length; first++) {
          for (let last = first; last < admitted.length; last++) {
            const windowMs = (admitted[last] as number) - (admitted[first] as number);
            expect(last - first + 1).toBeLessThanOrEqual(bound(bucket, windowMs));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('admits a steady stream at the rate, whatever came before, once the bucket holds a token', () => {
    fc.assert(
      fc.property(buckets, histories, fc.integer({ min: 1, max: 200 }), (bucket, history, length) => {
        const before = run(bucket, history);
        const last = history.at(-1) ?? EPOCH;
        // The first request of the stream comes when the bucket says it may (right away if it holds a token).
        const probe = gcra(bucket, before.tat, last);
        const start = probe.admitted ? last : last + probe.retryAfterMs;
        // Every later one a whole interval after the previous (integer milliseconds, rounded up).
        const gap = Math.ceil(intervalMs(bucket));
        const stream = Array.from({ length }, (_, k) => start + k * gap);
        const { admitted } = run(bucket, stream, before.tat);
        expect(admitted).toEqual(stream);
      }),
      { numRuns: 300 },
    );
  });

  it('under a flood, admits the burst and then the rate: neither more nor much less', () => {
    fc.assert(
      fc.property(buckets, fc.integer({ min: 1_000, max: 20_000 }), (bucket, durationMs) => {
        const flood = Array.from({ length: durationMs + 1 }, (_, k) => EPOCH + k);
        const { admitted } = run(bucket, flood);
        expect(admitted.length).toBeLessThanOrEqual(bound(bucket, durationMs));
        // With a burst of 1 the bucket cannot bank the fraction of a millisecond between arrivals, so each admission
        // waits for the next whole millisecond; with more, the tolerance absorbs it.
        const spacingUs = bucket.burst > 1 ? bucket.intervalUs : Math.ceil(bucket.intervalUs / 1000) * 1000;
        expect(admitted.length).toBeGreaterThanOrEqual(bucket.burst + Math.floor((durationMs * 1000) / spacingUs));
      }),
      { numRuns: 100 },
    );
  });

  it('a full bucket admits exactly `burst` requests at once, then refuses', () => {
    fc.assert(
      fc.property(buckets, (bucket) => {
        const { admitted, outcomes } = run(bucket, Array.from({ length: bucket.burst + 5 }, () => EPOCH));
        expect(admitted).toHaveLength(bucket.burst);
        expect(outcomes.slice(bucket.burst).every((outcome) => !outcome.admitted)).toBe(true);
      }),
    );
  });

  it('retryAfterMs is exact: refused one millisecond earlier, admitted then (an integer >= 1)', () => {
    fc.assert(
      fc.property(buckets, histories, fc.integer({ min: 0, max: 5_000 }), (bucket, history, delay) => {
        const { tat } = run(bucket, history);
        const now = (history.at(-1) ?? EPOCH) + (delay % 7 === 0 ? 0 : delay);
        const outcome = gcra(bucket, tat, now);
        if (outcome.admitted) return;
        expect(Number.isInteger(outcome.retryAfterMs)).toBe(true);
        expect(outcome.retryAfterMs).toBeGreaterThanOrEqual(1);
        expect(gcra(bucket, tat, now + outcome.retryAfterMs).admitted).toBe(true);
        if (outcome.retryAfterMs > 1) expect(gcra(bucket, tat, now + outcome.retryAfterMs - 1).admitted).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('decides both cases: a full bucket (no tat, or tat past) restarts from now, else the tat moves on one interval', () => {
    const bucket = tokenBucket(10, 5) as TokenBucket;
    const us = (ms: number) => ms * 1000;
    expect(gcra(bucket, undefined, EPOCH)).toEqual({ admitted: true, tat: us(EPOCH + 100) });
    expect(gcra(bucket, us(EPOCH) - 1, EPOCH)).toEqual({ admitted: true, tat: us(EPOCH + 100) });
    expect(gcra(bucket, us(EPOCH), EPOCH)).toEqual({ admitted: true, tat: us(EPOCH + 100) });
    expect(gcra(bucket, us(EPOCH + 400), EPOCH)).toEqual({ admitted: true, tat: us(EPOCH + 500) });
    expect(gcra(bucket, us(EPOCH + 400) + 1, EPOCH)).toEqual({ admitted: false, retryAfterMs: 1 });
    expect(gcra(bucket, us(EPOCH + 500), EPOCH)).toEqual({ admitted: false, retryAfterMs: 100 });
    // A rate that does not divide a second: the interval rounds up to the microsecond, never above the rate.
    expect(tokenBucket(3, 1)).toMatchObject({ intervalUs: 333_334, toleranceUs: 0 });
  });
});

describe('admission: limits from the configuration', () => {
  const tables = {
    ACCOUNTS_TABLE: 'accounts',
    ORDERS_TABLE: 'orders',
    CONNECTIONS_TABLE: 'connections',
    LEDGER_TABLE: 'ledger',
    LIMITS_TABLE: 'limits',
    ORDERS_QUEUE_NAME: 'orders',
    SNIPES_QUEUE_NAME: 'snipes',
    STATUS_QUEUE_NAME: 'status.fifo',
  };

  it('defaults: 50 orders/s burst 200, 50 quotes/s burst 200, 1,000 open orders, 100 connections, 100 messages/s', () => {
    const limits = limitsOf(parseConfig(tables));
    expect(limits.orders).toMatchObject({ perSecond: 50, burst: 200, intervalUs: 20_000, toleranceUs: 199 * 20_000 });
    expect(limits.quotes).toMatchObject({ perSecond: 50, burst: 200 });
    expect(limits.messages).toMatchObject({ perSecond: 100, burst: 100, intervalUs: 10_000 });
    expect(limits.openOrders).toBe(1000);
    expect(limits.connections).toBe(100);
  });

  it('0 turns a rate or the open-order cap off; a malformed or empty value is refused by name', () => {
    const limits = limitsOf(parseConfig({ ...tables, LIMIT_ORDERS_PER_SECOND: '0', LIMIT_MESSAGES_PER_SECOND: '0', LIMIT_OPEN_ORDERS: '0', LIMIT_QUOTES_PER_SECOND: '2.5' }));
    expect(limits.orders).toBeUndefined();
    expect(limits.messages).toBeUndefined();
    expect(limits.openOrders).toBe(0);
    expect(limits.quotes).toMatchObject({ perSecond: 2.5, intervalUs: 400_000 });
    expect(() => parseConfig({ ...tables, LIMIT_ORDERS_PER_SECOND: '' })).toThrow(/LIMIT_ORDERS_PER_SECOND/);
    expect(() => parseConfig({ ...tables, LIMIT_CONNECTIONS: '0' })).toThrow(/LIMIT_CONNECTIONS: must be a whole number >= 1/);
    expect(() => parseConfig({ ...tables, LIMIT_ORDERS_BURST: '1.5' })).toThrow(/LIMIT_ORDERS_BURST/);
  });
});
