import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { stack, resource } from './stack';
import type { OrderFrame } from '../../../lib/notify/frames';
import type { EngineContext } from '../../../lib/orders/context';

/**
 * The engine's configuration for integration tests: the names `serverless print` resolved for stage 'itest', the
 * emulators' endpoints through the SDK's own variables, the fast mock profile and the test hooks.
 */
export const engineEnv = (overrides: Record<string, string> = {}): Record<string, string> => ({
  ...(stack().config.provider.environment ?? {}),
  AWS_REGION: stack().region,
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_SQS: stack().sqsEndpoint,
  AWS_ENDPOINT_URL_DYNAMODB: stack().dynamoEndpoint,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  // Nothing listens here: frames are read off the status queue, and direct posts are stubbed per test.
  WS_MGMT_ENDPOINT: 'http://127.0.0.1:9',
  MOCK_PROFILE: 'fast',
  MOCK_TEST_HOOKS: 'true',
  MOCK_FAILURE_RATES: '',
  RETRY_BASE_SECONDS: '1',
  RETRY_CAP_SECONDS: '8',
  LOG_LEVEL: 'error',
  ...overrides,
});

/** Applies engineEnv to this worker's process.env (each test file runs in its own worker). */
export const useEngineEnv = (overrides: Record<string, string> = {}): void => {
  Object.assign(process.env, engineEnv(overrides));
};

/** Direct posts (acks, replays) go nowhere in these tests; record them instead. */
export const stubDirectPosts = (ctx: EngineContext): unknown[] => {
  const posted: unknown[] = [];
  ctx.notifier.postDirect = async (_endpoint, _connectionId, frame) => {
    posted.push(frame);
    return 'sent';
  };
  return posted;
};

/** Drains the status queue (FIFO: a group's next message shows only after the previous is deleted). */
export const drainStatusFrames = async (sqs: SQSClient, quietMs = 400): Promise<OrderFrame[]> => {
  const url = resource('StatusQueue').url as string;
  const frames: OrderFrame[] = [];
  let quietSince = Date.now();
  while (Date.now() - quietSince < quietMs) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      continue;
    }
    quietSince = Date.now();
    for (const message of Messages) frames.push((JSON.parse(message.Body ?? '{}') as { frame: OrderFrame }).frame);
    await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }),
    );
  }
  return frames;
};

export const framesOf = (frames: OrderFrame[], orderId: string): OrderFrame[] => frames.filter((frame) => frame.orderId === orderId);

/** Invokes a handler module in-process, as the poller's `invoke` (the Lambda context is the minimum the code reads). */
export const inProcessInvoke =
  (handlers: Record<string, (event: SQSEvent, context: never) => Promise<unknown>>) =>
  async (functionName: string, event: SQSEvent) => {
    const key = Object.keys(handlers).find((name) => functionName.endsWith(name));
    if (!key) return { ok: false as const, error: `no handler for ${functionName}` };
    try {
      const context = { getRemainingTimeInMillis: () => 30_000, functionName, awsRequestId: 'itest' } as never;
      return { ok: true as const, response: await handlers[key]!(event, context) };
    } catch (error) {
      return { ok: false as const, error: String(error) };
    }
  };
