import { type ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { sharedAwsClients } from './clients';

export type PostOutcome = 'sent' | 'gone';

const encoder = new TextEncoder();

/** API Gateway's Management API: frames to connections. */
export class ConnectionsApi {
  constructor(private readonly clientFor: (endpoint: string) => ApiGatewayManagementApiClient = (endpoint) => sharedAwsClients().managementApi(endpoint)) {}

  /**
   * Posts one frame. A closed or unknown connection is `gone`: AWS names it GoneException, serverless-offline
   * answers a bare 410 that the SDK calls `Unknown` (embedded-stack.md P9), so the status code decides.
   */
  async post(endpoint: string, connectionId: string, frame: unknown): Promise<PostOutcome> {
    try {
      await this.clientFor(endpoint).send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode(JSON.stringify(frame)) }));
      return 'sent';
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (error instanceof GoneException || status === 410) return 'gone';
      throw error;
    }
  }
}
