import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamo } from './clients';
import type { LandingUpdate, LedgerStore, TxRecord } from '../chain/cluster';

/**
 * The mock cluster's record of sent transactions, in DynamoDB: it outlives any Lambda host, so a redelivered
 * message reconciles by signature on the embedded default and on AWS alike. Signatures are unique: a re-send of
 * the same signed transaction is `AlreadyProcessed`, never a second transaction.
 */
export class LedgerTable implements LedgerStore {
  constructor(
    private readonly tableName: string,
    private readonly client: () => DynamoDBDocumentClient = dynamo,
  ) {}

  async putIfAbsent(record: TxRecord): Promise<boolean> {
    try {
      await this.client().send(
        new PutCommand({ TableName: this.tableName, Item: record, ConditionExpression: 'attribute_not_exists(signature)' }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async get(signature: string): Promise<TxRecord | undefined> {
    const result = await this.client().send(new GetCommand({ TableName: this.tableName, Key: { signature }, ConsistentRead: true }));
    return result.Item as TxRecord | undefined;
  }

  async improveLanding(signature: string, update: LandingUpdate, expectedLandsAtMs: number | null): Promise<boolean> {
    const landsAsExpected = expectedLandsAtMs === null ? 'attribute_type(landsAtMs, :nullType)' : 'landsAtMs = :expected';
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { signature },
        UpdateExpression: 'SET landsAtMs = :landsAtMs, confirmAtMs = :confirmAtMs, feeLamports = :feeLamports, fate = :fate',
        ConditionExpression: `attribute_exists(signature) AND attribute_not_exists(sealed) AND ${landsAsExpected}`,
        ExpressionAttributeValues: {
          ':landsAtMs': update.landsAtMs,
          ':confirmAtMs': update.confirmAtMs,
          ':feeLamports': update.feeLamports,
          ':fate': update.fate,
          ...(expectedLandsAtMs === null ? { ':nullType': 'NULL' } : { ':expected': expectedLandsAtMs }),
        },
      }),
    );
  }

  async seal(signature: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { signature },
        UpdateExpression: 'SET sealed = :sealed',
        ConditionExpression: 'attribute_exists(signature) AND attribute_not_exists(sealed) AND attribute_type(landsAtMs, :nullType)',
        ExpressionAttributeValues: { ':sealed': true, ':nullType': 'NULL' },
      }),
    );
  }

  private async conditional(command: UpdateCommand): Promise<boolean> {
    try {
      await this.client().send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Every transaction ever sent for an order (tests: "executed at most once on chain"). */
  async signaturesOf(orderId: string): Promise<string[]> {
    const result = await this.client().send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byOrder',
        KeyConditionExpression: 'orderId = :orderId',
        ExpressionAttributeValues: { ':orderId': orderId },
      }),
    );
    return (result.Items ?? []).map((item) => String(item.signature));
  }
}
