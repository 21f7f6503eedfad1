import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients';

export interface ConnectionItem {
  connectionId: string;
  owner: string;
  connectedAtMs: number;
  /** TTL attribute (epoch seconds): `$disconnect` is best effort, so rows expire on their own. */
  expiresAt: number;
}

export class ConnectionsTable {
  constructor(private readonly tableName: string) {}

  async put(item: ConnectionItem): Promise<void> {
    await dynamo().send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  /** The live connection, or undefined. Expired rows may linger until TTL deletes them, so they are filtered here. */
  async get(connectionId: string, nowMs: number): Promise<ConnectionItem | undefined> {
    const result = await dynamo().send(new GetCommand({ TableName: this.tableName, Key: { connectionId } }));
    const item = result.Item as ConnectionItem | undefined;
    if (!item || item.expiresAt * 1000 <= nowMs) return undefined;
    return item;
  }

  async delete(connectionId: string): Promise<void> {
    await dynamo().send(new DeleteCommand({ TableName: this.tableName, Key: { connectionId } }));
  }
}
