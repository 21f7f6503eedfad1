import { StaleWriteError } from '../errors';

export const ORDER_STATUSES = ['pending', 'routing', 'building', 'submitted', 'confirmed', 'failed'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['confirmed', 'failed']);
export const isTerminal = (status: OrderStatus): boolean => TERMINAL_STATUSES.has(status);

/**
 * The order's lifecycle (PROTOCOL.md "Engine -> client frames"). A retry returns a non-terminal order to `pending`
 * with `attempt` increased; `failed` is reachable from every non-terminal state (final failures, exhausted retries,
 * the dead-letter backstop). Nothing leaves a terminal state.
 */
const ALLOWED: Record<OrderStatus, readonly OrderStatus[]> = {
  // pending -> pending: a retry after a failure that struck before the order left pending (a venue error while quoting).
  pending: ['pending', 'routing', 'failed'],
  routing: ['building', 'pending', 'failed'],
  building: ['submitted', 'pending', 'failed'],
  submitted: ['confirmed', 'pending', 'failed'],
  confirmed: [],
  failed: [],
};

export const canTransition = (from: OrderStatus, to: OrderStatus): boolean => ALLOWED[from].includes(to);

export interface OrderVersion {
  status: OrderStatus;
  seq: number;
  attempt: number;
}

/**
 * The next version of an order. `attempt` only moves on a retry (back to `pending`) and never backwards.
 * Throws StaleWriteError for a transition the state machine forbids.
 */
export const nextVersion = (current: OrderVersion, to: OrderStatus, attempt = current.attempt): OrderVersion => {
  if (!canTransition(current.status, to)) {
    throw new StaleWriteError(`transition ${current.status} -> ${to} is not allowed`, {
      details: { from: current.status, to, seq: current.seq },
    });
  }
  if (to === 'pending' && attempt <= current.attempt) {
    throw new StaleWriteError(`a retry must increase attempt (current ${current.attempt}, asked ${attempt})`);
  }
  if (to !== 'pending' && attempt !== current.attempt) {
    throw new StaleWriteError(`attempt changes only on a retry (current ${current.attempt}, asked ${attempt})`);
  }
  return { status: to, seq: current.seq + 1, attempt };
};
