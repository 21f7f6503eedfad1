import type { ConfirmationHints } from '../chain/port';

/*
 * How long an execution waits for its transaction's outcome, and when a transaction still in flight is looked at
 * again. Pure policy over the cluster's confirmation hints (lib/chain/port.ts), so it holds for the mock and for a
 * real RPC alike.
 */

/**
 * The instant to stop waiting for a sent transaction (the Lambda's own deadline bounds it too, at the caller).
 * Patience: twice the p95 of landing plus confirmation. A transaction slower than that is most likely one that will
 * never land; holding the invocation for it would hold up the rest of its batch, so it is given back to the queue and
 * looked at again later. The client's confirmation timeout bounds it as well.
 * The sender waits less: a typical landing plus a slow confirmation (2.4 s realistic), then gives the rest back for a
 * re-check. An invocation lasts as long as its slowest record, so the slow few would otherwise hold the slot of the
 * whole batch (npm run bench, defaults: queue wait p50 8.4 s -> 4.8 s). A later delivery (a re-check, a takeover after
 * a crash) waits its own full patience.
 */
export const confirmationDeadline = (
  hints: ConfirmationHints,
  { sentAtMs, waitStartedMs, recheck }: { sentAtMs: number; waitStartedMs: number; recheck: boolean },
): number => {
  const patienceMs = Math.max(1_000, 2 * (hints.landing.p95Ms + hints.confirm.p95Ms));
  const senderWaitMs = Math.min(patienceMs, Math.max(1_000, hints.landing.medianMs + hints.confirm.p95Ms));
  return recheck
    ? Math.max(sentAtMs + Math.min(hints.timeoutMs, patienceMs), waitStartedMs + patienceMs)
    : sentAtMs + Math.min(hints.timeoutMs, senderWaitMs);
};

/**
 * Seconds until a delivery whose transaction is still in flight looks again. The sender gives it back for one look a
 * backoff later (it may be landing slowly); a re-check that still finds it in flight waits for the blockhash's
 * expiry, when the outcome is decided. So a transaction costs at most 3 receives (send, re-check, decide) and the
 * redrive budget covers 3 attempts of transactions that never land.
 */
export const lookAgainAfterSeconds = ({ expiresAtMs, nowMs, recheck, backoffSeconds }: { expiresAtMs: number; nowMs: number; recheck: boolean; backoffSeconds: number }): number => {
  const untilExpirySeconds = Math.max(1, Math.ceil((expiresAtMs - nowMs) / 1000) + 1);
  return recheck ? untilExpirySeconds : Math.min(untilExpirySeconds, backoffSeconds);
};
