import { inject } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';

export interface E2eStack {
  wsUrl: string;
  /** The HTTP API's base URL (`ready` line's second URL). */
  httpUrl: string;
  devKey: string;
  keys: Record<string, string>;
  stateFile: string;
  stage: string;
  sqsEndpoint: string;
  dynamoEndpoint: string;
  readyMs: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2eStack: E2eStack;
  }
}

let override: E2eStack | undefined;
/** The suite's stack, or the one a test file started for itself (the crash test). */
export const e2e = (): E2eStack => override ?? inject('e2eStack');
export const useStack = (stack: E2eStack | undefined): void => {
  override = stack;
  documentClient = undefined;
  sqsClient = undefined;
};

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
/*
 * Table and queue names as the stack provisioned them from `serverless print` (its state file's `resources`, by
 * logical id), not spelled out here: a rename in serverless.yml cannot leave the tests looking at another table.
 */
const LOGICAL_IDS = {
  orders: 'OrdersTable',
  ledger: 'ChainLedgerTable',
  connections: 'ConnectionsTable',
  limits: 'LimitsTable',
  ordersQueue: 'OrdersQueue',
  ordersDlq: 'OrdersDeadLetterQueue',
  statusQueue: 'StatusQueue',
} as const;
const provisionedNames = new Map<string, Record<keyof typeof LOGICAL_IDS, string>>();
export const names = (stateFile: string = e2e().stateFile): Record<keyof typeof LOGICAL_IDS, string> => {
  let known = provisionedNames.get(stateFile);
  if (!known) {
    const { resources = {} } = JSON.parse(readFileSync(stateFile, 'utf8')) as { resources?: Record<string, string> };
    known = Object.fromEntries(
      Object.entries(LOGICAL_IDS).map(([key, logicalId]) => {
        const name = resources[logicalId];
        if (!name) throw new Error(`the stack's state file ${stateFile} names no ${logicalId}`);
        return [key, name];
      }),
    ) as Record<keyof typeof LOGICAL_IDS, string>;
    provisionedNames.set(stateFile, known);
  }
  return known;
};

let documentClient: DynamoDBDocumentClient | undefined;
const db = (): DynamoDBDocumentClient => {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: e2e().dynamoEndpoint, region: 'us-east-1', credentials }));
  return documentClient;
};
let sqsClient: SQSClient | undefined;
const sqs = (): SQSClient => {
  sqsClient ??= new SQSClient({ endpoint: e2e().sqsEndpoint, region: 'us-east-1', credentials, useQueueUrlAsEndpoint: false });
  return sqsClient;
};

export const orderItem = async (orderId: string): Promise<Record<string, unknown> | undefined> =>
  (await db().send(new GetCommand({ TableName: names().orders, Key: { orderId }, ConsistentRead: true }))).Item;

/** Transactions the mock chain recorded for an order ("executed at most once on chain"). */
export const transactionsOf = async (orderId: string): Promise<number> =>
  (
    await db().send(
      new QueryCommand({
        TableName: names().ledger,
        IndexName: 'byOrder',
        KeyConditionExpression: 'orderId = :o',
        ExpressionAttributeValues: { ':o': orderId },
      }),
    )
  ).Items?.length ?? 0;

export const connectionRow = async (connectionIdLike: (row: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]> => {
  const { Items = [] } = await db().send(new ScanCommand({ TableName: names().connections }));
  return Items.filter(connectionIdLike);
};

/** Every order item (not the clientOrderId guards), for "no order exists that was not validly requested". */
export const allOrders = async (): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db().send(new ScanCommand({ TableName: names().orders, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(page.Items ?? []).filter((item) => item.kind === 'order'));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
};

export const queueDepth = async (which: 'ordersQueue' | 'ordersDlq' | 'statusQueue'): Promise<number> => {
  const { QueueUrl } = await sqs().send(new GetQueueUrlCommand({ QueueName: names()[which] }));
  const { Attributes = {} } = await sqs().send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0);
};

export const offlinePid = (): number => (JSON.parse(readFileSync(e2e().stateFile, 'utf8')) as { offlinePid: number }).offlinePid;

/** Waits (bounded) for every order of the stack to be terminal; returns those that are not. */
export const ordersStillOpen = async (timeoutMs = 30_000): Promise<Record<string, unknown>[]> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = (await allOrders()).filter((order) => !['confirmed', 'failed', 'cancelled', 'expired'].includes(String(order.status)));
    if (open.length === 0 || Date.now() > deadline) return open;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};
