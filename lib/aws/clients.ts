import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { awsMaxSockets } from '../config';

/*
 * Clients are built once per process. Endpoints come from the SDK's own variables (AWS_ENDPOINT_URL_SQS,
 * AWS_ENDPOINT_URL_DYNAMODB), so the same code talks to AWS, LocalStack or the embedded emulators.
 * Keep-alive agents matter: every order costs several round trips, and a TCP handshake per call doubles them.
 */
const requestHandler = () =>
  new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: awsMaxSockets() }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: awsMaxSockets() }),
    connectionTimeout: 2_000,
    requestTimeout: 10_000,
  });

let documentClient: DynamoDBDocumentClient | undefined;
export const dynamo = (): DynamoDBDocumentClient => {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({ requestHandler: requestHandler() }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
};

let sqsClient: SQSClient | undefined;
/** Emulator queue URLs carry unresolvable hosts: route by the configured endpoint, not the URL (embedded-stack.md P6). */
export const sqs = (): SQSClient => {
  sqsClient ??= new SQSClient({ useQueueUrlAsEndpoint: false, requestHandler: requestHandler() });
  return sqsClient;
};

const managementClients = new Map<string, ApiGatewayManagementApiClient>();
export const managementApi = (endpoint: string): ApiGatewayManagementApiClient => {
  let client = managementClients.get(endpoint);
  if (!client) {
    client = new ApiGatewayManagementApiClient({ endpoint, requestHandler: requestHandler() });
    managementClients.set(endpoint, client);
  }
  return client;
};
