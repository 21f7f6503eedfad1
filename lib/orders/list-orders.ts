import { z } from 'zod';
import { RequestError, UnavailableError } from '../errors';
import { retryTransient } from '../aws/transient';
import type { EngineContext } from '../engine';
import type { ListingStatus } from '../aws/order-listing';
import { MAX_FRAME_BYTES, type OrderFrame, type OrdersFrame } from '../notify/frames';
import type { OrdersRequest } from './request';
import { isTerminal } from './state-machine';

/*
 * PROTOCOL.md v2 `orders`: the caller's orders, newest first, a page at a time, from the orders table's indexes
 * (lib/aws/order-listing.ts), never a scan.
 *
 * The cursor is opaque to the client: base64url of {v, o: owner, s: status, b: the orderId the next page starts below}.
 * A position is an orderId (a ULID, so a time), which stays meaningful however the orders change meanwhile: no order is
 * listed twice, and one that changes status between two pages of `open` or `closed` is listed on the page its id falls
 * on if it still matches. A cursor is the caller's and for its status filter: another account's, or one that does not
 * parse, is VALIDATION_FAILED on `cursor`.
 */
const cursorSchema = z.strictObject({
  v: z.literal(1),
  o: z.string().min(1),
  s: z.enum(['open', 'closed', 'all']),
  b: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/),
});

export interface CursorPosition {
  owner: string;
  status: ListingStatus;
  /** The next page lists orders strictly older than this orderId. */
  below: string;
}

export const encodeCursor = (position: CursorPosition): string =>
  Buffer.from(JSON.stringify({ v: 1, o: position.owner, s: position.status, b: position.below }), 'utf8').toString('base64url');

const badCursor = (message: string): RequestError => new RequestError('VALIDATION_FAILED', `cursor: ${message}`, [{ path: 'cursor', message }]);

/** The position a cursor names, for this caller and status filter; anything else is VALIDATION_FAILED on `cursor`. */
export const decodeCursor = (cursor: string, expected: { owner: string; status: ListingStatus }): string => {
  let json: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('not a cursor of a previous answer');
  }
  const parsed = cursorSchema.safeParse(json);
  if (!parsed.success) throw badCursor('not a cursor of a previous answer');
  // Said the same way as a garbled one: a cursor does not tell whose it is.
  if (parsed.data.o !== expected.owner) throw badCursor('not a cursor of a previous answer');
  if (parsed.data.s !== expected.status) throw badCursor(`a cursor of a status "${parsed.data.s}" listing; ask again with that status or without a cursor`);
  return parsed.data.b;
};

/** Index entries one request reads at most while looking for `closed` orders among open ones (then it answers a short page). */
const MAX_EVALUATED = 1_000;
const READ_BUDGET_MS = 3_000;
/** Room in a WebSocket frame for the envelope and the cursor. */
const ENVELOPE_BYTES = 1_024;

/**
 * One page of the caller's orders. `maxBytes` bounds the answer (a WebSocket frame is at most 32 KB): a page whose
 * frames would not fit is cut short, and its cursor goes on from the last order it holds. A page may also be short
 * when `closed` had to look past many open orders, or when orders changed status between the index and the read;
 * only `cursor: null` means there is nothing more.
 */
export const listOrders = async (
  ctx: EngineContext,
  params: { owner: string; request: OrdersRequest; maxBytes?: number },
): Promise<OrdersFrame> => {
  const { owner, request } = params;
  const status = request.status;
  const below = request.cursor !== undefined ? decodeCursor(request.cursor, { owner, status }) : undefined;
  const deadlineMs = Date.now() + READ_BUDGET_MS;
  const page = await retryTransient(() => ctx.orderListing.orderIds({ owner, status, below, limit: request.limit, maxEvaluated: MAX_EVALUATED }), { deadlineMs });
  if (!page.ok) throw new UnavailableError('the engine is over capacity; the orders could not be read', { cause: page.error });
  const read = await retryTransient(() => ctx.orderListing.latestFrames(owner, page.value.orderIds), { deadlineMs });
  if (!read.ok) throw new UnavailableError('the engine is over capacity; the orders could not be read', { cause: read.error });

  // The index may lag the item by a moment: an order that has just ended is not shown as open, nor the reverse.
  const matches = (frame: OrderFrame): boolean => status === 'all' || (status === 'open') === !isTerminal(frame.status);
  const budget = (params.maxBytes ?? MAX_FRAME_BYTES) - ENVELOPE_BYTES;
  const orders: OrderFrame[] = [];
  let bytes = 0;
  let continueBelow = page.value.continueBelow;
  let lastConsidered: string | undefined;
  for (const frame of read.value) {
    if (matches(frame)) {
      const size = Buffer.byteLength(JSON.stringify(frame), 'utf8') + 1;
      if (orders.length > 0 && bytes + size > budget) {
        // Cut short: the next page starts with this order.
        continueBelow = lastConsidered;
        break;
      }
      bytes += size;
      orders.push(frame);
    }
    lastConsidered = frame.orderId;
  }
  return { type: 'orders', orders, cursor: continueBelow !== undefined ? encodeCursor({ owner, status, below: continueBelow }) : null };
};
