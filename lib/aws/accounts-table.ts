import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients';
import { accountRecordSchema, isActive, type AccountRecord } from '../accounts/api-key';

export type RevokeOutcome =
  | { outcome: 'revoked'; record: AccountRecord }
  | { outcome: 'already-revoked'; record: AccountRecord }
  | { outcome: 'not-found' };

export class AccountsTable {
  /**
   * `client` defaults to the process's shared client (endpoint from the SDK's variables); the `keys` command passes
   * its own, because it picks the endpoint and credentials per run (a local stack, or AWS).
   */
  constructor(
    private readonly tableName: string,
    private readonly client: () => DynamoDBDocumentClient = dynamo,
  ) {}

  /**
   * The account of an API key that may connect: undefined when the key is unknown, revoked, or its row is malformed
   * (refusing is the safe answer for `$connect`). An eventually consistent read: a revocation takes effect on AWS
   * within about a second, which does not justify doubling the read cost of every connect.
   */
  async findByKeyHash(apiKeyHash: string): Promise<AccountRecord | undefined> {
    const record = await this.get(apiKeyHash);
    return record && isActive(record) ? record : undefined;
  }

  /** The record of a key hash whatever its state, revoked included; `consistent` when the caller must see its own writes. */
  async get(apiKeyHash: string, consistent = false): Promise<AccountRecord | undefined> {
    const result = await this.client().send(
      new GetCommand({ TableName: this.tableName, Key: { apiKeyHash }, ConsistentRead: consistent }),
    );
    if (!result.Item) return undefined;
    const parsed = accountRecordSchema.safeParse(result.Item);
    return parsed.success ? parsed.data : undefined;
  }

  async put(record: AccountRecord): Promise<void> {
    await this.client().send(new PutCommand({ TableName: this.tableName, Item: record }));
  }

  /**
   * Stores a new key's record; never overwrites one. A SHA-256 collision of fresh random keys will not happen, but a
   * revoked record must not be brought back to life by a put with the same hash. Returns false if the hash exists.
   */
  async create(record: AccountRecord): Promise<boolean> {
    try {
      await this.client().send(
        new PutCommand({ TableName: this.tableName, Item: record, ConditionExpression: 'attribute_not_exists(apiKeyHash)' }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Every key record, revoked ones included, optionally of one account. A Scan: the table is keyed by hash only and
   * this is an operator's command, not a request path, so an index by account would cost every write for nothing.
   * Rows that do not parse are skipped rather than failing the whole listing.
   */
  async list(options: { accountId?: string } = {}): Promise<AccountRecord[]> {
    const records: AccountRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client().send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ExclusiveStartKey: start,
          ...(options.accountId === undefined
            ? {}
            : { FilterExpression: 'accountId = :accountId', ExpressionAttributeValues: { ':accountId': options.accountId } }),
        }),
      );
      for (const item of page.Items ?? []) {
        const parsed = accountRecordSchema.safeParse(item);
        if (parsed.success) records.push(parsed.data);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return records;
  }

  /**
   * Marks a key revoked at `revokedAt` (ISO time), keeping the record. Conditional, so a second revoke keeps the first
   * time and says so, and a hash that is not in the table is not created as a revoked stub.
   */
  async revoke(apiKeyHash: string, revokedAt: string): Promise<RevokeOutcome> {
    try {
      const result = await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { apiKeyHash },
          UpdateExpression: 'SET revokedAt = :revokedAt',
          ConditionExpression: 'attribute_exists(apiKeyHash) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':revokedAt': revokedAt },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const parsed = accountRecordSchema.safeParse(result.Attributes);
      // The revoke is done either way; a row this code cannot parse is still reported by its hash.
      const record = parsed.success ? parsed.data : { apiKeyHash, accountId: String(result.Attributes?.accountId ?? '?'), label: '', createdAt: '', revokedAt };
      return { outcome: 'revoked', record };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = await this.get(apiKeyHash, true);
      return current ? { outcome: 'already-revoked', record: current } : { outcome: 'not-found' };
    }
  }
}
