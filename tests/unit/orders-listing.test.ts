import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ulid } from 'ulid';
import { decodeCursor, encodeCursor } from '../../lib/orders/list-orders';
import { validateCancel, validateOrders } from '../../lib/orders/request';
import { ordersMessageOfQuery } from '../../lib/http/api';
import { RequestError } from '../../lib/errors';

/*
 * `orders`' opaque cursor (lib/orders/list-orders.ts) and the validation of `cancel` and `orders` (lib/orders/request.ts,
 * PROTOCOL.md v2 "New actions").
 */

const refusal = (run: () => unknown): RequestError => {
  try {
    run();
  } catch (error) {
    if (error instanceof RequestError) return error;
    throw error;
  }
  throw new Error('expected a RequestError');
};

const statuses = ['open', 'closed', 'all'] as const;
const ORDER_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('the orders cursor', () => {
  it('round-trips: what encodeCursor gives, decodeCursor takes back for the same caller and status', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80 }), fc.constantFrom(...statuses), fc.integer({ min: 0, max: 2 ** 47 }), (owner, status, ms) => {
        const below = ulid(ms);
        const cursor = encodeCursor({ owner, status, below });
        expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeCursor(cursor, { owner, status })).toBe(below);
      }),
    );
  });

  it("refuses another account's cursor as VALIDATION_FAILED on cursor, without saying whose it is", () => {
    const cursor = encodeCursor({ owner: 'account-a', status: 'all', below: ulid() });
    const error = refusal(() => decodeCursor(cursor, { owner: 'account-b', status: 'all' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues).toEqual([{ path: 'cursor', message: 'not a cursor of a previous answer' }]);
    expect(error.message).not.toContain('account-a');
  });

  it('refuses a cursor of another status filter', () => {
    const cursor = encodeCursor({ owner: 'a', status: 'open', below: ulid() });
    const error = refusal(() => decodeCursor(cursor, { owner: 'a', status: 'closed' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues[0]?.path).toBe('cursor');
  });

  it('refuses garbled cursors: not base64url, not JSON, another shape, a position that is not an order id', () => {
    const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const garbled = [
      'not a cursor!',
      '====',
      Buffer.from('{"v":1,').toString('base64url'),
      b64({ v: 2, o: 'a', s: 'all', b: ulid() }),
      b64({ v: 1, o: 'a', s: 'all', b: 'x' }),
      b64({ v: 1, o: 'a', s: 'all', b: ulid(), extra: 1 }),
      b64(['a', 'all']),
      b64(null),
    ];
    for (const cursor of garbled) {
      const error = refusal(() => decodeCursor(cursor, { owner: 'a', status: 'all' }));
      expect(error.code, cursor).toBe('VALIDATION_FAILED');
      expect(error.issues[0]?.path, cursor).toBe('cursor');
    }
  });

  it('refuses any string that is not an encoded cursor of this caller (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        let decoded: string | undefined;
        try {
          decoded = decodeCursor(text, { owner: 'a', status: 'all' });
        } catch (error) {
          expect(error).toBeInstanceOf(RequestError);
          expect((error as RequestError).code).toBe('VALIDATION_FAILED');
          return;
        }
        // The only strings that decode are cursors this caller could have been given.
        expect(decoded).toMatch(ORDER_ID);
        expect(encodeCursor({ owner: 'a', status: 'all', below: decoded })).toBe(text.replace(/=+$/, ''));
      }),
    );
  });
});

describe('cancel validation', () => {
  it('takes an orderId or a clientOrderId', () => {
    const orderId = ulid();
    expect(validateCancel({ action: 'cancel', orderId })).toEqual({ orderId });
    expect(validateCancel({ action: 'cancel', clientOrderId: 'my-order_1' })).toEqual({ clientOrderId: 'my-order_1' });
  });

  it('refuses neither, both, a malformed id and unknown fields', () => {
    for (const body of [
      { action: 'cancel' },
      { action: 'cancel', orderId: ulid(), clientOrderId: 'x' },
      { action: 'cancel', orderId: 'not-an-id' },
      { action: 'cancel', clientOrderId: 'has space' },
      { action: 'cancel', orderId: ulid(), force: true },
    ]) {
      const error = refusal(() => validateCancel(body));
      expect(error.code, JSON.stringify(body)).toBe('VALIDATION_FAILED');
    }
    expect(refusal(() => validateCancel({ action: 'cancel' })).issues[0]?.path).toBe('orderId');
    expect(refusal(() => validateCancel({ action: 'cancel', orderId: ulid(), force: true })).issues[0]).toEqual({ path: 'force', message: 'unknown field' });
  });
});

describe('orders validation', () => {
  it('defaults to all, 50, no cursor', () => {
    expect(validateOrders({ action: 'orders' })).toEqual({ status: 'all', limit: 50 });
    expect(validateOrders({ action: 'orders', status: 'open', limit: 100, cursor: 'abc' })).toEqual({ status: 'open', limit: 100, cursor: 'abc' });
  });

  it('refuses a status outside open|closed|all, a limit outside 1-100 or not whole, an empty cursor, unknown fields', () => {
    for (const [body, path] of [
      [{ action: 'orders', status: 'pending' }, 'status'],
      [{ action: 'orders', limit: 0 }, 'limit'],
      [{ action: 'orders', limit: 101 }, 'limit'],
      [{ action: 'orders', limit: 2.5 }, 'limit'],
      [{ action: 'orders', limit: '10' }, 'limit'],
      [{ action: 'orders', cursor: '' }, 'cursor'],
      [{ action: 'orders', page: 2 }, 'page'],
    ] as const) {
      const error = refusal(() => validateOrders(body));
      expect(error.code, JSON.stringify(body)).toBe('VALIDATION_FAILED');
      expect(error.issues[0]?.path, JSON.stringify(body)).toBe(path);
    }
  });

  it("GET /api/orders' query becomes the orders message: limit as a number when written as one", () => {
    expect(validateOrders(ordersMessageOfQuery({ status: 'closed', limit: '7' }))).toEqual({ status: 'closed', limit: 7 });
    expect(validateOrders(ordersMessageOfQuery(undefined))).toEqual({ status: 'all', limit: 50 });
    expect(refusal(() => validateOrders(ordersMessageOfQuery({ limit: 'ten' }))).issues[0]?.path).toBe('limit');
    expect(refusal(() => validateOrders(ordersMessageOfQuery({ limit: '1e2' }))).issues[0]?.path).toBe('limit');
    expect(refusal(() => ordersMessageOfQuery({ action: 'execute' })).issues[0]?.path).toBe('action');
    expect(refusal(() => ordersMessageOfQuery({ status: 'open,closed' })).code).toBe('BAD_REQUEST');
  });
});
