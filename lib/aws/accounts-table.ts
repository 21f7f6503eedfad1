import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients';
import type { AccountRecord } from '../accounts/api-key';

export class AccountsTable {
  constructor(private readonly tableName: string) {}

  async findByKeyHash(apiKeyHash: string): Promise<AccountRecord | undefined> {
    const result = await dynamo().send(new GetCommand({ TableName: this.tableName, Key: { apiKeyHash } }));
    return result.Item as AccountRecord | undefined;
  }

  async put(record: AccountRecord): Promise<void> {
    await dynamo().send(new PutCommand({ TableName: this.tableName, Item: record }));
  }
}
