import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients';
import { UnavailableError } from '../errors';
import type { OrderFrame } from '../notify/frames';

/** PROTOCOL.md v2 `orders`: `open` = every non-terminal status, `closed` = terminal, `all` = both. */
export type ListingStatus = 'open' | 'closed' | 'all';

/** A page of one owner's order ids, newest first. */
export interface OrderIdPage {
  orderIds: string[];
  /** The oldest order id this page looked at: the next page starts below it. Undefined: there is nothing older. */
  continueBelow: string | undefined;
}

/** BatchGetItem takes at most 100 keys per call. */
const BATCH_GET_MAX_KEYS = 100;
const UNPROCESSED_RETRIES = 5;

/*
 * The owner's orders, from two indexes of the orders table (serverless.yml), never a scan:
 * - `byOwner`: every order item carries `ownerOrders` = its owner (clientOrderId guards do not), sorted by orderId, a
 *   ULID, so by time. Projected: the keys and `openOwner`, so `closed` filters on the index without reading items.
 * - `openByOwner`: sparse, keyed by `openOwner`, which an order carries until it turns terminal (OrdersTable.transition
 *   removes it in the terminal write). KEYS_ONLY: it changes twice per order, at placement and at the end.
 * Neither projects the frame: a projection of `lastFrame` would be rewritten on every status change.
 */
export class OrderListing {
  constructor(
    private readonly tableName: string,
    private readonly client: () => DynamoDBDocumentClient = dynamo,
  ) {}

  /**
   * Up to `limit` ids of the owner's orders in `status`, strictly older than `below` (newest first). Reads at most
   * `maxEvaluated` index entries: a `closed` page over many open orders may come back short (even empty) with
   * `continueBelow` set, which is where the next page goes on. Indexes are eventually consistent: an order placed a
   * moment ago may not be listed yet.
   */
  async orderIds(params: { owner: string; status: ListingStatus; below?: string | undefined; limit: number; maxEvaluated: number }): Promise<OrderIdPage> {
    const { owner, status, below, limit } = params;
    const open = status === 'open';
    const hashKey = open ? 'openOwner' : 'ownerOrders';
    const found: string[] = [];
    let evaluated = 0;
    let startKey: Record<string, unknown> | undefined;
    let lastEvaluated: string | undefined;
    // One more than the page: whether anything is left decides the cursor, so a full last page ends with null.
    const wanted = limit + 1;
    do {
      const page = await this.client().send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: open ? 'openByOwner' : 'byOwner',
          KeyConditionExpression: `#owner = :owner${below !== undefined ? ' AND orderId < :below' : ''}`,
          ...(status === 'closed' ? { FilterExpression: 'attribute_not_exists(openOwner)' } : {}),
          ExpressionAttributeNames: { '#owner': hashKey },
          ExpressionAttributeValues: { ':owner': owner, ...(below !== undefined ? { ':below': below } : {}) },
          ScanIndexForward: false,
          Limit: Math.max(1, Math.min(params.maxEvaluated - evaluated, status === 'closed' ? Math.max(wanted - found.length, 100) : wanted - found.length)),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      evaluated += page.ScannedCount ?? 0;
      for (const item of page.Items ?? []) found.push(String(item.orderId));
      startKey = page.LastEvaluatedKey;
      if (startKey) lastEvaluated = String(startKey.orderId);
    } while (startKey && found.length < wanted && evaluated < params.maxEvaluated);
    if (found.length > limit) return { orderIds: found.slice(0, limit), continueBelow: found[limit - 1] };
    return { orderIds: found, continueBelow: startKey ? lastEvaluated : undefined };
  }

  /**
   * How many orders of `owner` are not terminal, counted on the sparse `openByOwner` index (Select COUNT: no item is
   * returned). The index is eventually consistent: an order placed or ended a moment ago may not be counted as it is.
   */
  async countOpen(owner: string): Promise<number> {
    let counted = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client().send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'openByOwner',
          KeyConditionExpression: 'openOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner },
          Select: 'COUNT',
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      counted += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return counted;
  }

  /**
   * The latest frame of each order (BatchGetItem, strongly consistent, without the history), in the order of `orderIds`;
   * an id that is not an order of `owner` is left out.
   */
  async latestFrames(owner: string, orderIds: readonly string[]): Promise<OrderFrame[]> {
    const byId = new Map<string, OrderFrame>();
    for (let start = 0; start < orderIds.length; start += BATCH_GET_MAX_KEYS) {
      let keys: Array<Record<string, unknown>> = orderIds.slice(start, start + BATCH_GET_MAX_KEYS).map((orderId) => ({ orderId }));
      for (let round = 0; keys.length > 0; round++) {
        if (round > UNPROCESSED_RETRIES) throw new UnavailableError('the engine is over capacity; the orders could not be read');
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** round));
        const out = await this.client().send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: keys,
                ConsistentRead: true,
                ProjectionExpression: 'orderId, #owner, #kind, lastFrame',
                ExpressionAttributeNames: { '#owner': 'owner', '#kind': 'kind' },
              },
            },
          }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          if (item.kind === 'order' && item.owner === owner) byId.set(String(item.orderId), item.lastFrame as OrderFrame);
        }
        keys = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Array<Record<string, unknown>>;
      }
    }
    return orderIds.flatMap((orderId) => {
      const frame = byId.get(orderId);
      return frame ? [frame] : [];
    });
  }
}
