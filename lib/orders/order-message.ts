import { z } from 'zod';
import { orderFrame } from '../notify/frames';
import { priorityFeeSchema } from './request';
import { launchSpecSchema } from '../venues/launched';
import type { OrderItem } from '../aws/orders-table';

/** What the order was when it was placed (seq 1): enough for its first delivery to start without reading it back. */
export const placedOrderSchema = z.object({
  owner: z.string().min(1),
  clientOrderId: z.string().optional(),
  request: z.object({
    type: z.enum(['limit', 'snipe']).optional(),
    limitPrice: z.string().optional(),
    expiresAtMs: z.number().optional(),
    side: z.enum(['buy', 'sell']),
    tokenIn: z.string(),
    tokenOut: z.string(),
    amountIn: z.string().regex(/^\d+$/),
    slippageBps: z.number().int().positive(),
    priorityFee: priorityFeeSchema.optional(),
    mockFailures: z.record(z.string(), z.string()).optional(),
    launch: launchSpecSchema.optional(),
  }),
  wireOrder: z.record(z.string(), z.unknown()),
  createdAtMs: z.number(),
  mgmtEndpoint: z.string().optional(),
});
export type PlacedOrder = z.infer<typeof placedOrderSchema>;

/**
 * The orders queue message, sent at placement, by the sweeper and the watchdog, and read by the execution and the
 * dead-letter backstop. The order lives in DynamoDB; the message names it and, when sent at placement, carries the
 * placed order so that the first delivery saves a read (its first write is conditional on seq 1 anyway).
 */
export const orderMessageSchema = z.object({
  orderId: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/),
  // Only a shortcut: a placed order that does not parse is ignored and the order is read from the table instead.
  placed: placedOrderSchema.optional().catch(undefined),
});
export type OrderMessage = z.infer<typeof orderMessageSchema>;

/** A queue message's body, parsed; a body that is not JSON fails like one that does not match. */
export const parseOrderMessage = (body: string): ReturnType<typeof orderMessageSchema.safeParse> => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return orderMessageSchema.safeParse(json);
};

const pendingFrameOf = (orderId: string, placed: PlacedOrder) =>
  orderFrame({ orderId, clientOrderId: placed.clientOrderId, status: 'pending', seq: 1, attempt: 1, atMs: placed.createdAtMs, meta: { order: placed.wireOrder } });

/** The order item as placed, at seq 1 (`pending`): what placement records and what a first delivery may assume. */
export const placedOrderItem = (orderId: string, placed: PlacedOrder): OrderItem => ({
  orderId,
  kind: 'order',
  ...placed,
  status: 'pending',
  seq: 1,
  attempt: 1,
  updatedAtMs: placed.createdAtMs,
  lastFrame: pendingFrameOf(orderId, placed),
  history: [pendingFrameOf(orderId, placed)],
  leaseUntilMs: 0,
  simulatedMs: 0,
});
