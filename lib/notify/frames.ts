import { z } from 'zod';
import { ORDER_STATUSES, type OrderStatus } from '../orders/state-machine';
import type { ValidationIssue } from '../errors';

/*
 * PROTOCOL.md "Engine -> client frames": one JSON object per frame. The schemas are the one definition of the frames;
 * the engine builds frames of these types and the client SDK (client/sdk.ts) parses what arrives with them. Unknown
 * keys are stripped on parsing, so a client keeps working when a later engine adds fields.
 */
const validationIssueSchema = z.object({ path: z.string(), message: z.string() });

export const orderFrameSchema = z.object({
  type: z.literal('order'),
  orderId: z.string().min(1),
  clientOrderId: z.string().optional(),
  status: z.enum(ORDER_STATUSES),
  seq: z.number().int().min(1),
  at: z.string(),
  attempt: z.number().int().min(1),
  meta: z.record(z.string(), z.unknown()),
});
export type OrderFrame = z.infer<typeof orderFrameSchema>;

export const errorFrameSchema = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  details: z.array(validationIssueSchema).optional(),
  /** The refused request's `action` and `clientOrderId` (PROTOCOL.md v2 "Admission control"). */
  action: z.string().optional(),
  clientOrderId: z.string().optional(),
  /** RATE_LIMITED and UNAVAILABLE: when trying again can succeed. */
  retryAfterMs: z.number().min(0).optional(),
  /** UNAVAILABLE when the order may have been recorded: the id it was recorded under, if it was. */
  orderId: z.string().optional(),
});
export type ErrorFrame = z.infer<typeof errorFrameSchema>;

export const quoteFrameSchema = z.object({
  type: z.literal('quote'),
  quotes: z.array(z.unknown()),
  route: z.unknown(),
});
export type QuoteFrame = z.infer<typeof quoteFrameSchema>;

/**
 * PROTOCOL.md v2 `orders`' answer: the latest frame of each of the caller's orders, newest first, and the cursor of the
 * next page (null: no more).
 */
export const ordersFrameSchema = z.object({
  type: z.literal('orders'),
  orders: z.array(orderFrameSchema),
  cursor: z.string().nullable(),
});
export type OrdersFrame = z.infer<typeof ordersFrameSchema>;

/** PROTOCOL.md v2 `launches` entry: a launch announced by the mock chain; `poolId` null until its pool is created. */
export const launchEntrySchema = z.object({
  symbol: z.string(),
  /** base58, 32 bytes */
  mint: z.string(),
  decimals: z.number().int().min(0),
  dex: z.enum(['raydium', 'meteora']),
  quoteToken: z.string(),
  /** ISO 8601: swaps on the pool fail on chain before it (AMM v4 open_time, DLMM activation point). */
  openTime: z.string(),
  poolId: z.string().nullable(),
});

/** PROTOCOL.md v2 `launches`' answer (and `mockLaunch`'s: the one launch it made). */
export const launchesFrameSchema = z.object({ type: z.literal('launches'), launches: z.array(launchEntrySchema) });
export type LaunchesFrame = z.infer<typeof launchesFrameSchema>;

/** PROTOCOL.md v2 `ping`'s answer. */
export const pongFrameSchema = z.object({ type: z.literal('pong'), at: z.string() });
export type PongFrame = z.infer<typeof pongFrameSchema>;
export const pongFrame = (atMs: number): PongFrame => ({ type: 'pong', at: new Date(atMs).toISOString() });

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

/*
 * An error frame says what was wrong, it does not reflect the request back: a 30 KB message with a thousand unknown
 * keys was answered with 60 KB (every key in `details` and again in `message`), so a client that sent such messages
 * and stopped reading grew the host's buffers twice as fast as it wrote. Bounded, a frame stays under 4 KB.
 */
export const MAX_ERROR_DETAILS = 10;
const MAX_ERROR_MESSAGE_CHARS = 512;
const MAX_DETAIL_PATH_CHARS = 96;
const MAX_DETAIL_MESSAGE_CHARS = 160;

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const boundedDetails = (details: ValidationIssue[]): ValidationIssue[] => {
  const kept = details.slice(0, MAX_ERROR_DETAILS).map((d) => ({ path: clip(d.path, MAX_DETAIL_PATH_CHARS), message: clip(d.message, MAX_DETAIL_MESSAGE_CHARS) }));
  if (details.length > MAX_ERROR_DETAILS) kept.push({ path: '', message: `and ${details.length - MAX_ERROR_DETAILS} more` });
  return kept;
};

export const errorFrame = (code: string, message: string, details?: ValidationIssue[], extras: ErrorFrameExtras = {}): ErrorFrame => ({
  type: 'error',
  code,
  message: clip(message, MAX_ERROR_MESSAGE_CHARS),
  ...(details && details.length > 0 ? { details: boundedDetails(details) } : {}),
  ...(extras.action !== undefined ? { action: extras.action } : {}),
  ...(extras.clientOrderId !== undefined ? { clientOrderId: extras.clientOrderId } : {}),
  ...(extras.retryAfterMs !== undefined ? { retryAfterMs: Math.max(0, Math.ceil(extras.retryAfterMs)) } : {}),
  ...(extras.orderId !== undefined ? { orderId: extras.orderId } : {}),
});

/** API Gateway's WebSocket frame limit (serverless-anchors.md B.6): larger frames close the socket with 1009. */
export const MAX_FRAME_BYTES = 32 * 1024;
