import { GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { managementApi } from './clients';

export type PostOutcome = 'sent' | 'gone';

const encoder = new TextEncoder();

/**
 * Posts one frame. A closed or unknown connection is `gone`: AWS names it GoneException, serverless-offline
 * answers a bare 410 that the SDK calls `Unknown` (embedded-stack.md P9), so the status code decides.
 */
export const postToConnection = async (endpoint: string, connectionId: string, frame: unknown): Promise<PostOutcome> => {
  try {
    await managementApi(endpoint).send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: encoder.encode(JSON.stringify(frame)) }),
    );
    return 'sent';
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (error instanceof GoneException || status === 410) return 'gone';
    throw error;
  }
};
