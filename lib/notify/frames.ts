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

export const errorFrame = (code: string, message: string, details?: ValidationIssue[]): ErrorFrame => ({
  type: 'error',
  code,
  message,
  ...(details && details.length > 0 ? { details } : {}),
});

/** API Gateway's WebSocket frame limit (serverless-anchors.md B.6): larger frames close the socket with 1009. */
export const MAX_FRAME_BYTES = 32 * 1024;
