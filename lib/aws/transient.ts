/**
 * Which failures of an AWS call are capacity trouble (worth retrying a little later) and whether the request may
 * have reached the service. The names are the AWS SDK v3's own (`@smithy/node-http-handler` TimeoutError, the
 * DynamoDB and SQS throttling exceptions) and Node's socket error codes.
 */

/** The request never left this process: retrying cannot do the work twice. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
/** Sent or half sent: the service may have done the work. */
const SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH']);
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TransactionInProgressException',
  'InternalServerError',
  'ServiceUnavailable',
  'RequestThrottled',
  'KMSThrottlingException',
]);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  CancellationReasons?: Array<{ Code?: string }>;
}

const codeOf = (error: AwsLikeError): string | undefined => error.code ?? (error as { errno?: string }).errno;

/** The connection was never made (refused, or no socket within the connection timeout): nothing reached the service. */
export const neverSent = (error: unknown): boolean => {
  const e = error as AwsLikeError;
  if (!e || typeof e !== 'object') return false;
  if (NOT_SENT_CODES.has(codeOf(e) ?? '')) return true;
  // @smithy/node-http-handler names both "no socket in time" and "no answer in time" TimeoutError; only the first
  // is certain not to have been sent.
  return e.name === 'TimeoutError' && /did not establish a connection/.test(e.message ?? '');
};

/** A failure that a later attempt may not meet: throttling, a 5xx, a timeout, a dropped socket. */
export const isTransient = (error: unknown): boolean => {
  const e = error as AwsLikeError;
  if (!e || typeof e !== 'object') return false;
  if (neverSent(e)) return true;
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout' || e.name === 'AbortError') return true;
  if (THROTTLING.has(e.name ?? '')) return true;
  if (SOCKET_CODES.has(codeOf(e) ?? '')) return true;
  if (/socket hang up/i.test(e.message ?? '')) return true;
  if (e.name === 'TransactionCanceledException') {
    return (e.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict' || reason.Code === 'ThrottlingError');
  }
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && (status >= 500 || status === 429);
};

export interface RetryBudget {
  /** Wall-clock deadline (ms since the epoch) after which no new attempt starts. */
  deadlineMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Delays between attempts: short, jittered, doubling to 800 ms, so a burst's retries spread out. */
export const retryDelayMs = (attempt: number, random: () => number = Math.random): number => {
  const base = Math.min(50 * 2 ** attempt, 800);
  return Math.round(base / 2 + random() * base);
};

export interface RetryOutcome<T> {
  ok: true;
  value: T;
  attempts: number;
}
export interface RetryFailure {
  ok: false;
  error: unknown;
  attempts: number;
  /** Some attempt failed in a way that may have reached the service. */
  maybeSent: boolean;
}

/**
 * Runs `call` until it succeeds, fails with a non-transient error (thrown at once), or the budget is spent (resolved
 * as a failure naming whether any attempt may have reached the service).
 */
export const retryTransient = async <T>(call: (attempt: number) => Promise<T>, budget: RetryBudget): Promise<RetryOutcome<T> | RetryFailure> => {
  const now = budget.now ?? Date.now;
  const sleep = budget.sleep ?? defaultSleep;
  let maybeSent = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await call(attempt), attempts: attempt };
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (!neverSent(error)) maybeSent = true;
      const delay = retryDelayMs(attempt);
      if (now() + delay >= budget.deadlineMs) return { ok: false, error, attempts: attempt, maybeSent };
      await sleep(delay);
    }
  }
};
