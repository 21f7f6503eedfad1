import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients';

/*
 * One item per account, keyed by `accountId`, holding everything admission control decides on (PROTOCOL.md v2
 * "Admission control"; the policy is lib/accounts/admission.ts):
 *   orderTat, quoteTat   the `execute` and `quote` token buckets, as GCRA theoretical arrival times (microseconds
 *                        since the epoch, whole numbers: see TokenBucket in lib/accounts/admission.ts)
 *   openOrders           non-terminal orders: +1 when an order is admitted, -1 when it reaches a terminal status
 *   openChangedAt        when `openOrders` last moved (microseconds): a recount trusts only a count that has been still
 *   openRecountedAt      when the open orders were last recounted (microseconds): at most one recount per interval
 *   connections          registered connections: +1 on $connect, -1 on $disconnect (or when found closed)
 *   c#<connectionId>     one per registered connection: that connection's message bucket (its tat; the connect time
 *                        until its first message, in microseconds too). Present exactly while the connection is counted.
 * Every change is one conditional UpdateItem on this item, never a transaction: the item is hot (all of an account's
 * admissions meet here), and DynamoDB serialises single-item updates where concurrent transactions would conflict.
 */

export type BucketKey = 'orders' | 'quotes' | 'messages';

/** One GCRA bucket charged by an admission (lib/accounts/admission.ts `gcra`). */
export interface BucketStep {
  key: BucketKey;
  intervalUs: number;
  toleranceUs: number;
  /**
   * The writer believes the bucket idle (its tat behind now): the write then sets `tat = now + interval` on condition
   * `tat < now`, the exact GCRA step for an idle bucket, instead of adding an interval to a stale tat and raising it in
   * a second write. A wrong belief fails the condition and costs a retry with the other form.
   */
  idle?: boolean;
}

/** The numbers of one account's item (undefined where absent). */
export interface LimitsState {
  orderTat?: number;
  quoteTat?: number;
  openOrders?: number;
  openChangedAt?: number;
  openRecountedAt?: number;
  connections?: number;
  /** Registered connections and the tat of each one's message bucket. */
  connectionTats: Record<string, number>;
}

export type LimitsWrite = { ok: true; state: LimitsState } | { ok: false; state: LimitsState };

const CONNECTION_PREFIX = 'c#';
const ATTRIBUTE: Record<Exclude<BucketKey, 'messages'>, string> = { orders: 'orderTat', quotes: 'quoteTat' };

/**
 * Numbers out of an item: the document client's plain values on success, or the raw AttributeValues that a failed
 * condition returns (lib-dynamodb does not unmarshall `ReturnValuesOnConditionCheckFailure`).
 */
const numberOf = (value: unknown): number | undefined => {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'N' in value) return Number((value as { N: string }).N);
  return undefined;
};

export const stateOf = (item: Record<string, unknown> | undefined): LimitsState => {
  const state: LimitsState = { connectionTats: {} };
  for (const [name, value] of Object.entries(item ?? {})) {
    const number = numberOf(value);
    if (number === undefined) continue;
    if (name.startsWith(CONNECTION_PREFIX)) state.connectionTats[name.slice(CONNECTION_PREFIX.length)] = number;
    else if (name === 'orderTat') state.orderTat = number;
    else if (name === 'quoteTat') state.quoteTat = number;
    else if (name === 'openOrders') state.openOrders = number;
    else if (name === 'openChangedAt') state.openChangedAt = number;
    else if (name === 'openRecountedAt') state.openRecountedAt = number;
    else if (name === 'connections') state.connections = number;
  }
  return state;
};

const failedItem = (error: ConditionalCheckFailedException): Record<string, unknown> | undefined =>
  (error as { Item?: Record<string, unknown> }).Item;

export class LimitsTable {
  constructor(
    private readonly tableName: string,
    private readonly client: () => DynamoDBDocumentClient = dynamo,
  ) {}

  /**
   * One admission: every bucket and, when `openOrdersMax` is set, one open-order slot, in one conditional UpdateItem
   * whose form does not depend on what the writer last saw, so concurrent admissions never fail each other (DynamoDB
   * serialises them; each is refused only if the item, as it then is, is over a limit). Per bucket: condition
   * `tat <= now + tolerance`, update `tat = if_not_exists(tat, now) + interval`; or, for a bucket the writer believes
   * idle, condition `tat < now`, update `tat = now + interval` (DynamoDB has no max()). A tat left behind `now` by an
   * idle spell that the writer did not expect is raised to `now` afterwards (`raiseIdleBuckets`). A failed condition
   * returns the whole item as it was. The message bucket exists from `$connect` on: absent means not registered.
   */
  async admit(accountId: string, params: { nowUs: number; connectionId: string; steps: BucketStep[]; openOrdersMax?: number }): Promise<LimitsWrite> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':now': params.nowUs };
    const conditions: string[] = [];
    const sets: string[] = [];
    for (const [index, step] of params.steps.entries()) {
      const name = `#b${index}`;
      names[name] = this.attributeOf(step.key, params.connectionId);
      // The message bucket exists from $connect on: its absence must fail the condition (not registered).
      const orAbsent = (condition: string) => (step.key === 'messages' ? condition : `(attribute_not_exists(${name}) OR ${condition})`);
      if (step.idle) {
        values[`:n${index}`] = params.nowUs + step.intervalUs;
        conditions.push(orAbsent(`${name} < :now`));
        sets.push(`${name} = :n${index}`);
      } else {
        values[`:l${index}`] = params.nowUs + step.toleranceUs;
        values[`:i${index}`] = step.intervalUs;
        conditions.push(orAbsent(`${name} <= :l${index}`));
        sets.push(`${name} = if_not_exists(${name}, :now) + :i${index}`);
      }
    }
    let add = '';
    if (params.openOrdersMax !== undefined) {
      names['#open'] = 'openOrders';
      names['#openChanged'] = 'openChangedAt';
      values[':maxOpen'] = params.openOrdersMax;
      values[':one'] = 1;
      conditions.push('(attribute_not_exists(#open) OR #open < :maxOpen)');
      sets.push('#openChanged = :now');
      add = ' ADD #open :one';
    }
    if (conditions.length === 0) return { ok: true, state: { connectionTats: {} } };
    try {
      const result = await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: `${sets.length ? `SET ${sets.join(', ')}` : ''}${add}`.trim(),
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, state: stateOf(result.Attributes) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { ok: false, state: stateOf(failedItem(error)) };
      throw error;
    }
  }

  /**
   * Raises each bucket still behind `now` to `now + interval`: a full bucket charged with the admission that found it
   * idle, and no stored credit. Only admissions that landed between that charge and this write are not counted.
   */
  async raiseIdleBuckets(accountId: string, params: { nowUs: number; connectionId: string; steps: BucketStep[] }): Promise<void> {
    await Promise.all(
      params.steps.map(async ({ key, intervalUs }) => {
        try {
          await this.client().send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { accountId },
              UpdateExpression: 'SET #b = :charged',
              ConditionExpression: '#b < :now',
              ExpressionAttributeNames: { '#b': this.attributeOf(key, params.connectionId) },
              ExpressionAttributeValues: { ':now': params.nowUs, ':charged': params.nowUs + intervalUs },
            }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }),
    );
  }

  private attributeOf(key: BucketKey, connectionId: string): string {
    return key === 'messages' ? CONNECTION_PREFIX + connectionId : ATTRIBUTE[key];
  }

  /** Frees one open-order slot; never below zero (orders admitted before the counter existed are not counted). */
  async releaseOpenOrder(accountId: string, nowUs: number): Promise<void> {
    try {
      await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: 'SET openChangedAt = :now ADD openOrders :minusOne',
          ConditionExpression: 'openOrders > :zero',
          ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0, ':now': nowUs },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Claims the account's next open-order recount: one writer per `everyUs`, and only while the count has not moved
   * since `observed` was read and has been still since `stillSinceUs` (no admission or release in flight that an index
   * could not show yet). False when another writer claimed it, or the count moved: the caller keeps the count.
   */
  async claimOpenOrderRecount(accountId: string, params: { observed: LimitsState; nowUs: number; everyUs: number; stillSinceUs: number }): Promise<boolean> {
    const { observed } = params;
    if (observed.openOrders === undefined || (observed.openChangedAt ?? 0) >= params.stillSinceUs) return false;
    if (observed.openRecountedAt !== undefined && observed.openRecountedAt > params.nowUs - params.everyUs) return false;
    return this.conditionalSet(accountId, 'SET openRecountedAt = :now', {
      observed,
      extraCondition: 'AND (attribute_not_exists(openRecountedAt) OR openRecountedAt <= :lastAllowed)',
      values: { ':now': params.nowUs, ':lastAllowed': params.nowUs - params.everyUs },
    });
  }

  /** Sets the open-order count to `counted`, unless it moved since `observed` was read (then false: keep it). */
  async correctOpenOrders(accountId: string, params: { observed: LimitsState; counted: number; nowUs: number }): Promise<boolean> {
    return this.conditionalSet(accountId, 'SET openOrders = :counted, openChangedAt = :now', {
      observed: params.observed,
      values: { ':counted': params.counted, ':now': params.nowUs },
    });
  }

  /** An update on condition that `openOrders` and `openChangedAt` are what `observed` read. */
  private async conditionalSet(
    accountId: string,
    update: string,
    params: { observed: LimitsState; values: Record<string, unknown>; extraCondition?: string },
  ): Promise<boolean> {
    const { observed } = params;
    const changed = observed.openChangedAt === undefined ? 'attribute_not_exists(openChangedAt)' : 'openChangedAt = :seenChanged';
    try {
      await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: update,
          ConditionExpression: `openOrders = :seenOpen AND ${changed} ${params.extraCondition ?? ''}`.trim(),
          ExpressionAttributeValues: {
            ...params.values,
            ':seenOpen': observed.openOrders,
            ...(observed.openChangedAt === undefined ? {} : { ':seenChanged': observed.openChangedAt }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Counts a new connection while the account holds fewer than `max`. Idempotent: a connection already registered
   * (a repeated $connect) is not counted twice. On refusal, returns the item so the caller can look for closed ones.
   */
  async registerConnection(accountId: string, connectionId: string, nowUs: number, max: number): Promise<LimitsWrite> {
    try {
      await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          // Registered with a full message bucket: its tat just before now.
          UpdateExpression: 'SET #c = :full ADD connections :one',
          ConditionExpression: 'attribute_not_exists(#c) AND (attribute_not_exists(connections) OR connections < :max)',
          ExpressionAttributeNames: { '#c': CONNECTION_PREFIX + connectionId },
          ExpressionAttributeValues: { ':full': nowUs - 1, ':one': 1, ':max': max },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, state: { connectionTats: {} } };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const state = stateOf(failedItem(error));
      return { ok: connectionId in state.connectionTats, state };
    }
  }

  /** Uncounts a connection; false when it was not registered (already released, or pruned as closed). */
  async releaseConnection(accountId: string, connectionId: string): Promise<boolean> {
    try {
      await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: 'REMOVE #c ADD connections :minusOne',
          ConditionExpression: 'attribute_exists(#c)',
          ExpressionAttributeNames: { '#c': CONNECTION_PREFIX + connectionId },
          ExpressionAttributeValues: { ':minusOne': -1 },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Uncounts connections found closed, and sets the counter to the registrations that remain, as long as nothing
   * changed since `observed` was read (the count, and each closed connection still registered and still idle since
   * before `idleBeforeUs`). False when something did: the caller reads again.
   */
  async pruneConnections(accountId: string, params: { closed: string[]; observed: LimitsState; idleBeforeUs: number }): Promise<boolean> {
    if (params.closed.length === 0) return false;
    const names: Record<string, string> = {};
    const conditions: string[] = [];
    params.closed.forEach((connectionId, index) => {
      names[`#c${index}`] = CONNECTION_PREFIX + connectionId;
      conditions.push(`#c${index} < :idleBefore`);
    });
    const registered = Object.keys(params.observed.connectionTats).length;
    const values: Record<string, unknown> = { ':idleBefore': params.idleBeforeUs, ':remaining': registered - params.closed.length };
    if (params.observed.connections === undefined) conditions.push('attribute_not_exists(connections)');
    else {
      values[':observed'] = params.observed.connections;
      conditions.push('connections = :observed');
    }
    try {
      await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: `SET connections = :remaining REMOVE ${Object.keys(names).join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
