import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { awsCallStatsIntervalMs, awsMaxSockets } from '../config';

/*
 * Clients are built once per process. Endpoints come from the SDK's own variables (AWS_ENDPOINT_URL_SQS,
 * AWS_ENDPOINT_URL_DYNAMODB), so the same code talks to AWS, LocalStack or the embedded emulators.
 * Keep-alive agents matter: every order costs several round trips, and a TCP handshake per call doubles them.
 */
const requestHandler = (maxSockets: number) =>
  new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    connectionTimeout: 2_000,
    requestTimeout: 10_000,
  });

/*
 * Round trips per service and command (and table), counted in this process (the bench's "calls per order"). Printed as one log
 * line every AWS_CALL_STATS_INTERVAL_MS when that is set; off otherwise, and then it costs one map update per call.
 */
const callCounts = new Map<string, number>();
export const awsCallCounts = (): Record<string, number> => Object.fromEntries([...callCounts].sort());
const countCalls = <T extends { middlewareStack: { add: (...args: never[]) => void } }>(client: T, service: string): T => {
  (client.middlewareStack as unknown as { add: (mw: unknown, options: unknown) => void }).add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => {
      // DynamoDB calls are counted per table too (`dynamodb:UpdateItem:<table>`): which table's traffic dominates.
      const table = (args as { input?: { TableName?: unknown } }).input?.TableName;
      const key = `${service}:${(context.commandName ?? 'unknown').replace(/Command$/, '')}${typeof table === 'string' ? `:${table}` : ''}`;
      callCounts.set(key, (callCounts.get(key) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return client;
};
const statsEveryMs = awsCallStatsIntervalMs();
if (statsEveryMs > 0) {
  setInterval(() => {
    if (callCounts.size > 0) console.log(JSON.stringify({ level: 'info', message: 'aws call counts', counts: awsCallCounts() }));
  }, statsEveryMs).unref();
}

/** One set of clients: its own keep-alive pools, so one function's queue of requests never delays another's. */
export interface AwsClients {
  dynamo: () => DynamoDBDocumentClient;
  sqs: () => SQSClient;
  managementApi: (endpoint: string) => ApiGatewayManagementApiClient;
}

/** Builds a set of clients lazily, each with at most `maxSockets` connections per endpoint. */
export const createAwsClients = ({ maxSockets }: { maxSockets: number }): AwsClients => {
  let documentClient: DynamoDBDocumentClient | undefined;
  let sqsClient: SQSClient | undefined;
  const managementClients = new Map<string, ApiGatewayManagementApiClient>();
  return {
    dynamo: () => {
      documentClient ??= DynamoDBDocumentClient.from(countCalls(new DynamoDBClient({ requestHandler: requestHandler(maxSockets) }), 'dynamodb'), {
        marshallOptions: { removeUndefinedValues: true },
      });
      return documentClient;
    },
    // Emulator queue URLs carry unresolvable hosts: route by the configured endpoint, not the URL (embedded-stack.md P6).
    sqs: () => {
      sqsClient ??= countCalls(new SQSClient({ useQueueUrlAsEndpoint: false, requestHandler: requestHandler(maxSockets) }), 'sqs');
      return sqsClient;
    },
    managementApi: (endpoint) => {
      let client = managementClients.get(endpoint);
      if (!client) {
        client = countCalls(new ApiGatewayManagementApiClient({ endpoint, requestHandler: requestHandler(maxSockets) }), 'apigw');
        managementClients.set(endpoint, client);
      }
      return client;
    },
  };
};

let shared: AwsClients | undefined;
/** The process's default set (AWS_MAX_SOCKETS per endpoint), for callers that are not a function's engine. */
export const sharedAwsClients = (): AwsClients => {
  shared ??= createAwsClients({ maxSockets: awsMaxSockets() });
  return shared;
};
export const dynamo = (): DynamoDBDocumentClient => sharedAwsClients().dynamo();
export const sqs = (): SQSClient => sharedAwsClients().sqs();
