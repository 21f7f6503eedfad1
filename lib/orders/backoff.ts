/**
 * Delay before the retry that follows attempt `attempt` (1-based): base * 2^(attempt-1) plus a jitter below half of
 * that, capped; with the defaults 1 s, 2 s, 4-5 s, 8 s. The jitter spreads retries out but never reaches the next
 * step, so every later gap is longer than every earlier one, whatever the draw. SQS visibility is whole seconds.
 */
export const retryDelaySeconds = (attempt: number, options: { baseSeconds: number; capSeconds: number }, random: () => number = Math.random): number => {
  const exponential = options.baseSeconds * 2 ** Math.max(0, attempt - 1);
  const jitter = Math.floor(random() * (exponential / 2));
  return Math.max(1, Math.min(options.capSeconds, Math.floor(exponential + jitter)));
};

/** The deployment's retry policy (RETRY_BASE_SECONDS, RETRY_CAP_SECONDS): the one place an attempt becomes a delay. */
export const retryDelayFor = (config: { RETRY_BASE_SECONDS: number; RETRY_CAP_SECONDS: number }, attempt: number): number =>
  retryDelaySeconds(attempt, { baseSeconds: config.RETRY_BASE_SECONDS, capSeconds: config.RETRY_CAP_SECONDS });
