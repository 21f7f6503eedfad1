import type { OrderStatus } from '../orders/state-machine';
import type { ValidationIssue } from '../errors';

/** PROTOCOL.md "Engine -> client frames": one JSON object per frame. */
export interface OrderFrame {
  type: 'order';
  orderId: string;
  clientOrderId?: string;
  status: OrderStatus;
  seq: number;
  at: string;
  attempt: number;
  meta: Record<string, unknown>;
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  details?: ValidationIssue[];
  /** The refused request's `action` and `clientOrderId` (PROTOCOL.md v2 "Admission control"). */
  action?: string;
  clientOrderId?: string;
  /** RATE_LIMITED and UNAVAILABLE: when trying again can succeed. */
  retryAfterMs?: number;
  /** UNAVAILABLE when the order may have been recorded: the id it was recorded under, if it was. */
  orderId?: string;
}

export interface QuoteFrame {
  type: 'quote';
  quotes: unknown[];
  route: unknown;
}

export type Frame = OrderFrame | ErrorFrame | QuoteFrame;

export interface OrderFrameInput {
  orderId: string;
  clientOrderId?: string | undefined;
  status: OrderStatus;
  seq: number;
  attempt: number;
  atMs: number;
  meta: Record<string, unknown>;
}

export const orderFrame = (input: OrderFrameInput): OrderFrame => ({
  type: 'order',
  orderId: input.orderId,
  ...(input.clientOrderId ? { clientOrderId: input.clientOrderId } : {}),
  status: input.status,
  seq: input.seq,
  at: new Date(input.atMs).toISOString(),
  attempt: input.attempt,
  meta: input.meta,
});

export interface ErrorFrameExtras {
  action?: string | undefined;
  clientOrderId?: string | undefined;
  retryAfterMs?: number | undefined;
  orderId?: string | undefined;
}

export const errorFrame = (code: string, message: string, details?: ValidationIssue[], extras: ErrorFrameExtras = {}): ErrorFrame => ({
  type: 'error',
  code,
  message,
  ...(details && details.length > 0 ? { details } : {}),
  ...(extras.action !== undefined ? { action: extras.action } : {}),
  ...(extras.clientOrderId !== undefined ? { clientOrderId: extras.clientOrderId } : {}),
  ...(extras.retryAfterMs !== undefined ? { retryAfterMs: Math.max(0, Math.ceil(extras.retryAfterMs)) } : {}),
  ...(extras.orderId !== undefined ? { orderId: extras.orderId } : {}),
});

const ECHOABLE = /^[\x20-\x7e]{1,64}$/;

/**
 * What an error frame echoes of the request it answers: `action` and `clientOrderId` when they are short printable
 * strings (a client correlates by them; anything else is not worth reflecting back).
 */
export const echoOf = (rawBody: string | undefined): Pick<ErrorFrameExtras, 'action' | 'clientOrderId'> => {
  if (!rawBody || rawBody.length > MAX_FRAME_BYTES) return {};
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return {};
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  const { action, clientOrderId } = body as { action?: unknown; clientOrderId?: unknown };
  return {
    ...(typeof action === 'string' && ECHOABLE.test(action) ? { action } : {}),
    ...(typeof clientOrderId === 'string' && ECHOABLE.test(clientOrderId) ? { clientOrderId } : {}),
  };
};

/** API Gateway's WebSocket frame limit (serverless-anchors.md B.6): larger frames close the socket with 1009. */
export const MAX_FRAME_BYTES = 32 * 1024;
