import { type DynamoDBDocumentClient, BatchGetCommand, DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients';

export interface ConnectionItem {
  connectionId: string;
  owner: string;
  connectedAtMs: number;
  /** TTL attribute (epoch seconds): `$disconnect` is best effort, so rows expire on their own. */
  expiresAt: number;
}

export class ConnectionsTable {
  constructor(
    private readonly tableName: string,
    private readonly client: () => DynamoDBDocumentClient = dynamo,
  ) {}

  async put(item: ConnectionItem): Promise<void> {
    await this.client().send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  /** The live connection, or undefined. Expired rows may linger until TTL deletes them, so they are filtered here. */
  async get(connectionId: string, nowMs: number): Promise<ConnectionItem | undefined> {
    const result = await this.client().send(new GetCommand({ TableName: this.tableName, Key: { connectionId } }));
    const item = result.Item as ConnectionItem | undefined;
    if (!item || item.expiresAt * 1000 <= nowMs) return undefined;
    return item;
  }

  /** Deletes the row; resolves to what it was (its owner), or undefined when there was none. */
  async delete(connectionId: string): Promise<ConnectionItem | undefined> {
    const result = await this.client().send(new DeleteCommand({ TableName: this.tableName, Key: { connectionId }, ReturnValues: 'ALL_OLD' }));
    return result.Attributes as ConnectionItem | undefined;
  }

  /**
   * Which of these connections still have a live row (consistent reads, 100 keys per call). Keys DynamoDB leaves
   * unprocessed after a few tries are reported live: the caller only prunes what is certainly closed.
   */
  async liveIds(connectionIds: string[], nowMs: number): Promise<Set<string>> {
    const live = new Set<string>();
    for (let start = 0; start < connectionIds.length; start += BATCH_GET_LIMIT) {
      let keys: Array<Record<string, unknown>> = connectionIds.slice(start, start + BATCH_GET_LIMIT).map((connectionId) => ({ connectionId }));
      for (let round = 0; keys.length > 0; round++) {
        if (round === BATCH_GET_ROUNDS) {
          for (const key of keys) live.add(String(key.connectionId));
          break;
        }
        const result = await this.client().send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'connectionId, expiresAt' } } }),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) {
          if (Number(item.expiresAt) * 1000 > nowMs) live.add(String(item.connectionId));
        }
        keys = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return live;
  }
}

const BATCH_GET_LIMIT = 100;
const BATCH_GET_ROUNDS = 3;
