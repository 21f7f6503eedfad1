import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { dynamo } from './clients';
import { InfrastructureError, StaleWriteError } from '../errors';
import type { OrderFrame } from '../notify/frames';
import { isTerminal, type OrderStatus } from '../orders/state-machine';
import type { SignedTransaction, TxFees } from '../chain/port';
import type { PriorityFeePolicy } from '../orders/request';

/** What the execution step needs to re-run the order; amounts in base units as decimal strings. */
type LaunchSpec = import('../venues/launched').LaunchSpec;

export interface StoredOrderRequest {
  /** Absent: market. */
  type?: 'limit' | 'snipe';
  /** Canonical decimal string, counter token per unit of the asset (PROTOCOL.md v2). */
  limitPrice?: string;
  /** limit and snipe: when the resting order ends `expired`. */
  expiresAtMs?: number;
  side: 'buy' | 'sell';
  tokenIn: string;
  tokenOut: string;
  amountIn: string;
  slippageBps: number;
  /** Absent: "auto". */
  priorityFee?: PriorityFeePolicy;
  mockFailures?: Record<string, string>;
  /** The launched token's launch (its pool included) when the order trades one: it is in no token list. */
  launch?: LaunchSpec;
}

export interface StoredTransaction {
  signature: string;
  dex: string;
  /** The signed transaction as sent: re-sending it is idempotent (same signature), which is how a takeover reconciles. */
  request: SignedTransaction;
}

export interface OrderItem {
  orderId: string;
  kind: 'order';
  owner: string;
  clientOrderId?: string;
  status: OrderStatus;
  seq: number;
  attempt: number;
  createdAtMs: number;
  updatedAtMs: number;
  request: StoredOrderRequest;
  /** The validated order as the client sees it (decimal strings): the `pending` frame's `meta.order`. */
  wireOrder: Record<string, unknown>;
  lastFrame: OrderFrame;
  /** Every frame the order produced, seq 1..n (orders placed before the history existed: from then on). */
  history?: OrderFrame[];
  /** Connections that placed or subscribed to the order; every one was checked to belong to `owner`. */
  subscribers?: Set<string>;
  mgmtEndpoint?: string;
  /** While an execution holds the order, a redelivered copy of its message leaves it alone. */
  leaseUntilMs: number;
  /** Who holds the lease: `<messageId>#<receiveCount>#<invocation nonce>`. */
  leaseHolder?: string;
  tx?: StoredTransaction;
  lastError?: { code: string; message: string };
  /** Simulated venue and chain time spent on this order across attempts (bench: pipeline overhead). */
  simulatedMs: number;
  /** Fees paid so far by its transactions that landed (a failed landing pays too): terminal frames' `meta.fees`. */
  feesPaid?: TxFees;
  /** Present while the order is not terminal and not resting: its key in the sparse `openOrders` index the sweeper reads. */
  openShard?: string;
  /** Present while a limit order rests `open`: its place in the watcher's `restingByPrice` index (lib/orders/resting.ts). */
  restKey?: string;
  restPx?: number;
  /** Present while the order rests `open`: its place in the watcher's `restingByExpiry` index. */
  restShard?: string;
  restExpiresAtMs?: number;
  /** Attempts that ended on price (the landing's SLIPPAGE_EXCEEDED): a resting order keeps watching after those, they do not use up its attempts. */
  priceMisses?: number;
  /** The owner, on order items only (never on clientOrderId guards): the key of the `byOwner` index `orders` pages. */
  ownerOrders?: string;
  /** The owner while the order is not terminal: the key of the sparse `openByOwner` index (`orders` with status open). */
  openOwner?: string;
}

/** Where an order resting `open` is indexed for the watcher (absent keys: not in that index). */
export interface RestingAttributes {
  restKey?: string;
  restPx?: number;
  restShard: string;
  restExpiresAtMs: number;
}

/** The item that lists the watcher's index keys that have ever held a resting order (a handful per pair). */
const WATCHLIST_ID = 'watch#keys';

/** Shards of the `openOrders` index: enough that no single partition takes every open order's writes. */
export const OPEN_SHARDS = 16;
export const openShardOf = (orderId: string): string => {
  let hash = 0;
  for (let i = 0; i < orderId.length; i++) hash = (hash * 31 + orderId.charCodeAt(i)) >>> 0;
  return `open#${hash % OPEN_SHARDS}`;
};

interface ClientOrderGuard {
  orderId: string;
  kind: 'clientOrderId';
  owner: string;
  refOrderId: string;
}

export const clientOrderGuardKey = (owner: string, clientOrderId: string): string => `client#${owner}#${clientOrderId}`;

/**
 * `created: false` names the order that holds the key. When `existingOrderId` is the order being created, an earlier
 * attempt of the same write landed (its answer was lost): the caller's order is recorded.
 */
export type CreateOrderResult = { created: true } | { created: false; existingOrderId: string };

export class OrdersTable {
  constructor(
    private readonly tableName: string,
    private readonly client: () => DynamoDBDocumentClient = dynamo,
  ) {}

  /** The order and, when it has one, its clientOrderId guard, in one transaction: one order per (owner, key). */
  async create(order: OrderItem): Promise<CreateOrderResult> {
    const putOrder = {
      TableName: this.tableName,
      Item: order,
      ConditionExpression: 'attribute_not_exists(orderId)',
    };
    if (!order.clientOrderId) {
      try {
        await this.client().send(new PutCommand(putOrder));
      } catch (error) {
        // orderId is a fresh ULID: only an earlier attempt of this very write can have taken it.
        if (error instanceof ConditionalCheckFailedException) return { created: false, existingOrderId: order.orderId };
        throw error;
      }
      return { created: true };
    }
    const guard: ClientOrderGuard = {
      orderId: clientOrderGuardKey(order.owner, order.clientOrderId),
      kind: 'clientOrderId',
      owner: order.owner,
      refOrderId: order.orderId,
    };
    try {
      await this.client().send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.tableName, Item: guard, ConditionExpression: 'attribute_not_exists(orderId)' } },
            { Put: putOrder },
          ],
        }),
      );
      return { created: true };
    } catch (error) {
      const guardLost =
        error instanceof TransactionCanceledException && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed';
      if (!guardLost) throw error;
      const existing = await this.getGuard(order.owner, order.clientOrderId);
      if (!existing) throw new InfrastructureError('INTERNAL', 'clientOrderId guard vanished after a conflict', { cause: error });
      return { created: false, existingOrderId: existing.refOrderId };
    }
  }

  /** The id of the owner's order placed under `clientOrderId`, if any (its guard item). */
  async orderIdOfClientOrderId(owner: string, clientOrderId: string): Promise<string | undefined> {
    return (await this.getGuard(owner, clientOrderId))?.refOrderId;
  }

  private async getGuard(owner: string, clientOrderId: string): Promise<ClientOrderGuard | undefined> {
    const result = await this.client().send(
      new GetCommand({ TableName: this.tableName, Key: { orderId: clientOrderGuardKey(owner, clientOrderId) }, ConsistentRead: true }),
    );
    return result.Item as ClientOrderGuard | undefined;
  }

  async get(orderId: string): Promise<OrderItem | undefined> {
    const result = await this.client().send(new GetCommand({ TableName: this.tableName, Key: { orderId }, ConsistentRead: true }));
    const item = result.Item as OrderItem | undefined;
    return item?.kind === 'order' ? item : undefined;
  }

  /**
   * A status change, conditional on the version the writer read: a stale or duplicate writer loses and gets the
   * current item back in the StaleWriteError's details. Returns the new item (its subscribers receive the frame).
   */
  async transition(params: {
    orderId: string;
    expected: { status: OrderStatus; seq: number };
    next: { status: OrderStatus; seq: number; attempt: number };
    frame: OrderFrame;
    /** The frames this change produces, in seq order (a status passed through, then `frame`): appended to `history`. */
    history: OrderFrame[];
    nowMs: number;
    leaseUntilMs: number;
    set?: Partial<Pick<OrderItem, 'tx' | 'lastError' | 'simulatedMs' | 'leaseHolder' | 'feesPaid' | 'priceMisses'>>;
    /** The order goes to rest (`open`): where the watcher finds it. */
    resting?: RestingAttributes;
  }): Promise<OrderItem> {
    const names: Record<string, string> = { '#status': 'status', '#seq': 'seq' };
    const values: Record<string, unknown> = {
      ':to': params.next.status,
      ':seq': params.next.seq,
      ':attempt': params.next.attempt,
      ':frame': params.frame,
      ':now': params.nowMs,
      ':lease': params.leaseUntilMs,
      ':fromStatus': params.expected.status,
      ':fromSeq': params.expected.seq,
      ':history': params.history,
      ':none': [],
    };
    const sets = [
      '#status = :to',
      '#seq = :seq',
      'attempt = :attempt',
      'lastFrame = :frame',
      'updatedAtMs = :now',
      'leaseUntilMs = :lease',
      // The same conditional write keeps the history: a frame is in it exactly when its status change happened.
      'history = list_append(if_not_exists(history, :none), :history)',
    ];
    for (const [key, value] of Object.entries(params.set ?? {})) {
      if (value === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    /*
     * A terminal order leaves the sweeper's index. A resting order is the watcher's: it leaves the sweeper's index while it
     * rests (the sweeper would otherwise enqueue every order resting for ten minutes, every minute), and comes back
     * into it when it leaves `open` to execute.
     */
    const removed: string[] = [];
    if (isTerminal(params.next.status) || params.next.status === 'open') removed.push('openShard');
    // A terminal order leaves its owner's open orders (`orders` with status open).
    if (isTerminal(params.next.status)) removed.push('openOwner');
    if (params.next.status === 'open') {
      for (const [key, value] of Object.entries(params.resting ?? {})) {
        names[`#${key}`] = key;
        values[`:${key}`] = value;
        sets.push(`#${key} = :${key}`);
      }
    } else if (params.expected.status === 'open') {
      removed.push('restKey', 'restPx', 'restShard', 'restExpiresAtMs');
      if (!isTerminal(params.next.status)) {
        values[':openShard'] = openShardOf(params.orderId);
        sets.push('openShard = :openShard');
      }
    }
    const removes = removed.length > 0 ? ` REMOVE ${removed.join(', ')}` : '';
    try {
      const result = await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { orderId: params.orderId },
          UpdateExpression: `SET ${sets.join(', ')}${removes}`,
          ConditionExpression: '#status = :fromStatus AND #seq = :fromSeq',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return result.Attributes as OrderItem;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const current = (error.Item ? error.Item : await this.get(params.orderId)) as OrderItem | undefined;
        throw new StaleWriteError(
          `order ${params.orderId}: expected ${params.expected.status}#${params.expected.seq}, found ${current?.status}#${current?.seq}`,
          { cause: error, details: { current } },
        );
      }
      throw error;
    }
  }

  /**
   * Takes over an order whose execution died, without a status change: compare-and-swap on the lease holder, so of
   * two deliveries taking over at once exactly one wins (the other gets StaleWriteError).
   */
  async takeLease(order: OrderItem, leaseUntilMs: number, holder: string): Promise<OrderItem> {
    const values: Record<string, unknown> = { ':seq': order.seq, ':status': order.status, ':until': leaseUntilMs, ':holder': holder };
    let holderCondition = 'attribute_not_exists(leaseHolder)';
    if (order.leaseHolder !== undefined) {
      values[':previous'] = order.leaseHolder;
      holderCondition = 'leaseHolder = :previous';
    }
    try {
      const result = await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { orderId: order.orderId },
          UpdateExpression: 'SET leaseUntilMs = :until, leaseHolder = :holder',
          ConditionExpression: `#seq = :seq AND #status = :status AND ${holderCondition}`,
          ExpressionAttributeNames: { '#seq': 'seq', '#status': 'status' },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as OrderItem;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new StaleWriteError(`order ${order.orderId}: lease taken by another delivery`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Ids of non-terminal orders whose last change is older than `cutoffMs` (the sweeper's query, shard by shard, every
   * page up to `limitPerShard`). `firstPendingOnly` keeps orders still at their first `pending` (seq 1): recorded,
   * perhaps never enqueued.
   */
  async staleOpenOrders(cutoffMs: number, options: { limitPerShard?: number; firstPendingOnly?: boolean } = {}): Promise<string[]> {
    const limitPerShard = options.limitPerShard ?? 100;
    const filter = options.firstPendingOnly
      ? { FilterExpression: '#status = :pending AND #seq = :one', ExpressionAttributeNames: { '#status': 'status', '#seq': 'seq' } }
      : {};
    const shardIds = async (shard: number): Promise<string[]> => {
      const ids: string[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await this.client().send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: 'openOrders',
            KeyConditionExpression: 'openShard = :shard AND updatedAtMs < :cutoff',
            ExpressionAttributeValues: {
              ':shard': `open#${shard}`,
              ':cutoff': cutoffMs,
              ...(options.firstPendingOnly ? { ':pending': 'pending', ':one': 1 } : {}),
            },
            ...filter,
            Limit: Math.min(limitPerShard, 500),
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        for (const item of page.Items ?? []) ids.push(String(item.orderId));
        startKey = page.LastEvaluatedKey;
      } while (startKey && ids.length < limitPerShard);
      return ids.slice(0, limitPerShard);
    };
    return (await Promise.all(Array.from({ length: OPEN_SHARDS }, (_, shard) => shardIds(shard)))).flat();
  }

  /** Notes that `keys` have resting orders, so that the watcher queries them (idempotent; the list only grows). */
  async watchKeys(keys: string[]): Promise<void> {
    await this.client().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { orderId: WATCHLIST_ID },
        UpdateExpression: 'ADD #keys :keys SET kind = :kind',
        ExpressionAttributeNames: { '#keys': 'keys' },
        ExpressionAttributeValues: { ':keys': new Set(keys), ':kind': 'watchlist' },
      }),
    );
  }

  /** The keys `watchKey` noted. */
  async watchedKeys(): Promise<string[]> {
    const out = await this.client().send(new GetCommand({ TableName: this.tableName, Key: { orderId: WATCHLIST_ID }, ConsistentRead: true }));
    const keys = out.Item?.keys as Set<string> | undefined;
    return keys ? [...keys] : [];
  }

  /** Resting orders on `restKey` whose `restPx` is in the range (either bound may be open), as the index holds them. */
  async restingCandidates(restKey: string, range: { from?: number; to?: number }, limit = 500): Promise<{ orderId: string; request: StoredOrderRequest; seq: number }[]> {
    const bounds = range.from !== undefined ? ' AND restPx >= :from' : range.to !== undefined ? ' AND restPx <= :to' : '';
    const found: { orderId: string; request: StoredOrderRequest; seq: number }[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client().send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'restingByPrice',
          KeyConditionExpression: `restKey = :key${bounds}`,
          ExpressionAttributeValues: { ':key': restKey, ...(range.from !== undefined ? { ':from': range.from } : range.to !== undefined ? { ':to': range.to } : {}) },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          Limit: limit,
        }),
      );
      for (const item of page.Items ?? []) found.push({ orderId: String(item.orderId), request: item.request as StoredOrderRequest, seq: Number(item.seq) });
      startKey = page.LastEvaluatedKey;
    } while (startKey && found.length < limit);
    return found;
  }

  /** Ids of orders resting past their `expiresAt` (the watcher's expiry query, one shard). */
  async expiredResting(restShard: string, nowMs: number, limit = 500): Promise<string[]> {
    const page = await this.client().send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'restingByExpiry',
        KeyConditionExpression: 'restShard = :shard AND restExpiresAtMs <= :now',
        ExpressionAttributeValues: { ':shard': restShard, ':now': nowMs },
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map((item) => String(item.orderId));
  }

  /** Gives the order back before the visibility timeout ends, so the next delivery may reconcile it at once. */
  async releaseLease(orderId: string, seq: number): Promise<void> {
    try {
      await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { orderId },
          UpdateExpression: 'SET leaseUntilMs = :zero',
          ConditionExpression: '#seq = :seq',
          ExpressionAttributeNames: { '#seq': 'seq' },
          ExpressionAttributeValues: { ':zero': 0, ':seq': seq },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Adds a connection of the owner; resolves to the order as it is now, or undefined when the caller does not own it.
   * An order placed over HTTP has no Management API endpoint yet: its first subscriber's is kept.
   */
  async addSubscriber(orderId: string, owner: string, connectionId: string, endpoint: string): Promise<OrderItem | undefined> {
    try {
      const result = await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { orderId },
          UpdateExpression: 'ADD subscribers :connection SET mgmtEndpoint = if_not_exists(mgmtEndpoint, :endpoint)',
          ConditionExpression: 'attribute_exists(orderId) AND kind = :order AND #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':connection': new Set([connectionId]), ':order': 'order', ':owner': owner, ':endpoint': endpoint },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as OrderItem;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async removeSubscriber(orderId: string, connectionId: string): Promise<void> {
    await this.client().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { orderId },
        UpdateExpression: 'DELETE subscribers :connection',
        ConditionExpression: 'attribute_exists(orderId)',
        ExpressionAttributeValues: { ':connection': new Set([connectionId]) },
      }),
    ).catch((error: unknown) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
  }
}
