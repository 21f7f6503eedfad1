import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isTransient, neverSent, retryDelayMs, retryTransient } from '../../lib/aws/transient';

/** An error shaped as the AWS SDK v3 and Node's sockets throw them. */
const awsError = (fields: { name?: string; code?: string; errno?: string; message?: string; status?: number; reasons?: Array<{ Code?: string }> }): Error => {
  const error = new Error(fields.message ?? 'failed') as Error & Record<string, unknown>;
  if (fields.name) error.name = fields.name;
  if (fields.code) error.code = fields.code;
  if (fields.errno) error.errno = fields.errno;
  if (fields.status !== undefined) error.$metadata = { httpStatusCode: fields.status };
  if (fields.reasons) error.CancellationReasons = fields.reasons;
  return error;
};

const connectTimeout = awsError({ name: 'TimeoutError', message: 'the request socket did not establish a connection with the server within the configured timeout of 2000 ms' });
const answerTimeout = awsError({ name: 'TimeoutError', message: 'Connection timed out after 5000 ms' });

describe('which AWS failures never reached the service', () => {
  it('a refused connection, an unknown or unresolved host, and no socket within the connection timeout', () => {
    expect(neverSent(awsError({ code: 'ECONNREFUSED' }))).toBe(true);
    expect(neverSent(awsError({ code: 'ENOTFOUND' }))).toBe(true);
    expect(neverSent(awsError({ errno: 'EAI_AGAIN' }))).toBe(true);
    expect(neverSent(connectTimeout)).toBe(true);
  });

  it('not an answer that timed out, a reset socket or anything that is not an error object', () => {
    expect(neverSent(answerTimeout)).toBe(false);
    expect(neverSent(awsError({ code: 'ECONNRESET' }))).toBe(false);
    expect(neverSent(undefined)).toBe(false);
    expect(neverSent('ECONNREFUSED')).toBe(false);
  });
});

describe('which AWS failures are worth another attempt', () => {
  it.each([
    ['a connection never made', awsError({ code: 'ECONNREFUSED' })],
    ['an answer that timed out', answerTimeout],
    ['a request timeout', awsError({ name: 'RequestTimeout' })],
    ['an aborted request', awsError({ name: 'AbortError' })],
    ['DynamoDB throttling', awsError({ name: 'ProvisionedThroughputExceededException' })],
    ['a transaction in conflict', awsError({ name: 'TransactionConflictException' })],
    ['SQS throttling', awsError({ name: 'RequestThrottled' })],
    ['a reset socket', awsError({ code: 'ECONNRESET' })],
    ['a broken pipe, as errno', awsError({ errno: 'EPIPE' })],
    ['a socket hang up', awsError({ message: 'socket hang up' })],
    ['a cancelled transaction that met a conflict', awsError({ name: 'TransactionCanceledException', reasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }] })],
    ['a cancelled transaction that was throttled', awsError({ name: 'TransactionCanceledException', reasons: [{ Code: 'ThrottlingError' }] })],
    ['a 5xx', awsError({ name: 'UnknownError', status: 503 })],
    ['a 429', awsError({ name: 'UnknownError', status: 429 })],
  ])('%s is transient', (_label, error) => {
    expect(isTransient(error)).toBe(true);
  });

  it.each([
    ['a failed condition', awsError({ name: 'ConditionalCheckFailedException', status: 400 })],
    ['a transaction cancelled by its own condition', awsError({ name: 'TransactionCanceledException', reasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }] })],
    ['a cancelled transaction without reasons', awsError({ name: 'TransactionCanceledException' })],
    ['a validation error', awsError({ name: 'ValidationException', status: 400 })],
    ['an error with no status at all', awsError({ name: 'TypeError' })],
    ['something that is not an error object', null],
  ])('%s is not transient', (_label, error) => {
    expect(isTransient(error)).toBe(false);
  });
});

describe('the delay between attempts', () => {
  it('lies between half and one and a half times a base that doubles from 100 ms up to 800 ms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, draw) => {
        const base = Math.min(50 * 2 ** attempt, 800);
        const delay = retryDelayMs(attempt, () => draw);
        expect(delay).toBeGreaterThanOrEqual(Math.round(base / 2));
        expect(delay).toBeLessThanOrEqual(Math.round(base * 1.5));
      }),
    );
  });
});

describe('retryTransient', () => {
  /** A clock that only moves when the retry loop sleeps. */
  const fakeTime = () => {
    let nowMs = 1_000_000;
    const slept: number[] = [];
    return {
      now: () => nowMs,
      sleep: async (ms: number) => {
        slept.push(ms);
        nowMs += ms;
      },
      slept,
      at: () => nowMs,
    };
  };

  it('retries transient failures and answers with the value and the attempts it took', async () => {
    const time = fakeTime();
    const failures = [awsError({ code: 'ECONNRESET' }), awsError({ name: 'ThrottlingException' })];
    const out = await retryTransient(
      async (attempt) => {
        const failure = failures.shift();
        if (failure) throw failure;
        return `done on ${attempt}`;
      },
      { deadlineMs: time.at() + 10_000, now: time.now, sleep: time.sleep },
    );
    expect(out).toEqual({ ok: true, value: 'done on 3', attempts: 3 });
    expect(time.slept).toHaveLength(2);
  });

  it('throws a failure that is not transient at once, without sleeping', async () => {
    const time = fakeTime();
    const refused = awsError({ name: 'ConditionalCheckFailedException', status: 400 });
    let calls = 0;
    await expect(
      retryTransient(
        async () => {
          calls++;
          throw refused;
        },
        { deadlineMs: time.at() + 10_000, now: time.now, sleep: time.sleep },
      ),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
    expect(time.slept).toEqual([]);
  });

  it('stops before an attempt would start past the deadline, and says nothing was sent when no attempt reached the service', async () => {
    const time = fakeTime();
    const deadlineMs = time.at() + 1_000;
    const out = await retryTransient(
      async () => {
        throw awsError({ code: 'ECONNREFUSED' });
      },
      { deadlineMs, now: time.now, sleep: time.sleep },
    );
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.maybeSent).toBe(false);
    expect(out.attempts).toBeGreaterThan(1);
    expect(time.at()).toBeLessThan(deadlineMs);
  });

  it('says the work may have been done when any attempt may have reached the service, even if the last one did not', async () => {
    const time = fakeTime();
    const failures = [answerTimeout];
    const out = await retryTransient(
      async () => {
        throw failures.shift() ?? connectTimeout;
      },
      { deadlineMs: time.at() + 500, now: time.now, sleep: time.sleep },
    );
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.maybeSent).toBe(true);
    expect(neverSent(out.error)).toBe(true);
  });
});
