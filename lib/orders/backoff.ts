/**
 * Delay before retry number `attempt` (1-based: the delay after attempt 1 failed): base * 2^(attempt-1), plus up to
 * half of that again as jitter, capped. The jitter never lets a later gap be shorter than an earlier one, so retries
 * still spread out while "the gaps grow" holds for every draw. SQS visibility is whole seconds.
 */
export const retryDelaySeconds = (attempt: number, options: { baseSeconds: number; capSeconds: number }, random: () => number = Math.random): number => {
  const exponential = Math.min(options.capSeconds, options.baseSeconds * 2 ** Math.max(0, attempt - 1));
  const jitter = Math.floor(random() * (exponential / 2 + 1));
  return Math.max(1, Math.min(options.capSeconds, Math.ceil(exponential + jitter)));
};
