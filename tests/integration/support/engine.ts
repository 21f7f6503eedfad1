import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { stack, resource } from './stack';
import type { OrderFrame } from '../../../lib/notify/frames';
import { createEngineContext, type EngineContext } from '../../../lib/engine';
import { parseConfig } from '../../../lib/config';
import { placeOrder } from '../../../lib/orders/place-order';
import { validateExecute } from '../../../lib/orders/request';

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

/** The body of an `execute` message for the tests of the execution pipeline (test hooks on: `mockFailures`). */
export const executeBody = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  action: 'execute',
  side: 'buy',
  tokenIn: 'USDC',
  tokenOut: 'SOL',
  amount: '25',
  slippage: 1,
  ...over,
});

/** Receives and deletes up to `max` messages of a queue (visible ones only); returns their bodies and ids. */
export const takeMessages = async (
  sqs: SQSClient,
  url: string,
  max = 10,
): Promise<Array<{ messageId: string; body: string }>> => {
  const taken: Array<{ messageId: string; body: string }> = [];
  while (taken.length < max) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: Math.min(10, max - taken.length), WaitTimeSeconds: 0, VisibilityTimeout: 60 }),
    );
    if (Messages.length === 0) break;
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    taken.push(...Messages.map((m) => ({ messageId: m.MessageId ?? '', body: m.Body ?? '' })));
  }
  return taken;
};

/** A copy of the frames sorted by seq. */
export const bySeq = (frames: OrderFrame[]): OrderFrame[] => [...frames].sort((a, b) => a.seq - b.seq);

/**
 * An engine against the emulators, with direct posts stubbed. `now` lets a test run the same engine at another time.
 * (Lib modules build their AWS clients at first use, so the env set here is what they see.)
 */
export const testContext = (now?: () => number): EngineContext => {
  useEngineEnv();
  const ctx = createEngineContext(parseConfig(process.env), { now });
  stubDirectPosts(ctx);
  return ctx;
};

/** Places an order through the `execute` use case (it records the order and enqueues `{orderId}`). */
export const placeTestOrder = async (ctx: EngineContext, over: Record<string, unknown> = {}, owner = 'acct-1'): Promise<string> => {
  const { orderId } = await placeOrder(ctx, {
    reply: { connectionId: 'conn-test', endpoint: 'http://127.0.0.1:9' },
    owner,
    order: validateExecute(executeBody(over), { testHooks: true }),
  });
  return orderId;
};
