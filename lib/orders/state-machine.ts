import { StaleWriteError } from '../errors';

export const ORDER_STATUSES = ['pending', 'open', 'routing', 'building', 'submitted', 'confirmed', 'failed', 'cancelled', 'expired'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['confirmed', 'failed', 'cancelled', 'expired']);
export const isTerminal = (status: OrderStatus): boolean => TERMINAL_STATUSES.has(status);

/** An attempt is running: the order is being quoted, built or followed on chain. */
export const EXECUTING_STATUSES: ReadonlySet<OrderStatus> = new Set(['routing', 'building', 'submitted']);

/** PROTOCOL.md v2 `cancel`: only an order nobody is executing can be cancelled. */
export const CANCELLABLE_STATUSES: ReadonlySet<OrderStatus> = new Set(['pending', 'open']);

/**
 * The order's lifecycle (PROTOCOL.md "Engine -> client frames" and v2 "New statuses"). A retry returns a non-terminal
 * market order to `pending` with `attempt` increased; a limit or snipe order whose attempt failed goes back to resting
 * in `open`, also with `attempt` increased. `failed` is reachable from every non-terminal state (final failures,
 * exhausted retries, the dead-letter backstop). Nothing leaves a terminal state.
 */
const ALLOWED: Record<OrderStatus, readonly OrderStatus[]> = {
  // pending -> pending: a retry after a failure that struck before the order left pending (a venue error while quoting).
  pending: ['pending', 'open', 'routing', 'cancelled', 'failed'],
  open: ['routing', 'cancelled', 'expired', 'failed'],
  routing: ['building', 'pending', 'open', 'failed'],
  building: ['submitted', 'pending', 'open', 'failed'],
  submitted: ['confirmed', 'pending', 'open', 'failed'],
  confirmed: [],
  failed: [],
  cancelled: [],
  expired: [],
};

export const canTransition = (from: OrderStatus, to: OrderStatus): boolean => ALLOWED[from].includes(to);

export interface OrderVersion {
  status: OrderStatus;
  seq: number;
  attempt: number;
}

/** A new attempt: a retry back to `pending`, or a resting order going back to `open` after an attempt. */
const startsNewAttempt = (from: OrderStatus, to: OrderStatus): boolean => to === 'pending' || (to === 'open' && EXECUTING_STATUSES.has(from));

/**
 * The next version of an order. `attempt` only moves when an attempt ends without a terminal status, and never
 * backwards. Throws StaleWriteError for a transition the state machine forbids.
 */
export const nextVersion = (current: OrderVersion, to: OrderStatus, attempt = current.attempt): OrderVersion => {
  if (!canTransition(current.status, to)) {
    throw new StaleWriteError(`transition ${current.status} -> ${to} is not allowed`, {
      details: { from: current.status, to, seq: current.seq },
    });
  }
  if (startsNewAttempt(current.status, to) && attempt <= current.attempt) {
    throw new StaleWriteError(`a new attempt must increase attempt (current ${current.attempt}, asked ${attempt})`);
  }
  if (!startsNewAttempt(current.status, to) && attempt !== current.attempt) {
    throw new StaleWriteError(`attempt changes only when an attempt ends (current ${current.attempt}, asked ${attempt})`);
  }
  return { status: to, seq: current.seq + 1, attempt };
};
