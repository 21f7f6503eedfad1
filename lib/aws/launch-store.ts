import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamo } from './clients';
import type { MockLaunchStore } from '../chain/launches';
import type { LaunchSpec } from '../venues/launched';

/**
 * Launches made by `mockLaunch` (test hooks), kept by the mock cluster next to its transactions: one item of the chain
 * ledger table (key `signature` = ITEM_KEY, never a transaction signature: those are 87-88 base58 characters) whose
 * `launches` map is keyed by upper-cased symbol. One consistent GetItem reads them all; a symbol is taken once
 * (conditional on its map key). Test stacks make a handful, far under DynamoDB's 400 KB item limit.
 */
export const LAUNCHES_ITEM_KEY = 'mock-launches';

export class LaunchStoreTable implements MockLaunchStore {
  constructor(
    private readonly tableName: string,
    private readonly client: () => DynamoDBDocumentClient = dynamo,
  ) {}

  async putIfAbsent(launch: LaunchSpec): Promise<boolean> {
    try {
      await this.client().send(
        new PutCommand({ TableName: this.tableName, Item: { signature: LAUNCHES_ITEM_KEY, launches: {} }, ConditionExpression: 'attribute_not_exists(signature)' }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    try {
      await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { signature: LAUNCHES_ITEM_KEY },
          UpdateExpression: 'SET launches.#symbol = :launch',
          ConditionExpression: 'attribute_not_exists(launches.#symbol)',
          ExpressionAttributeNames: { '#symbol': launch.symbol.toUpperCase() },
          ExpressionAttributeValues: { ':launch': launch },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async list(): Promise<LaunchSpec[]> {
    const result = await this.client().send(new GetCommand({ TableName: this.tableName, Key: { signature: LAUNCHES_ITEM_KEY }, ConsistentRead: true }));
    const launches = (result.Item?.launches ?? {}) as Record<string, LaunchSpec>;
    return Object.values(launches);
  }
}
