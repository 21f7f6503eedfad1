import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import type { Provisioned, ProvisionedResource } from '../../../infra/provision';
import type { ServerlessConfig } from '../../../infra/serverless-config';

export interface IntegrationStack {
  region: string;
  stage: string;
  sqsEndpoint: string;
  dynamoEndpoint: string;
  provisioned: Provisioned;
  config: ServerlessConfig;
}

declare module 'vitest' {
  export interface ProvidedContext {
    integrationStack: IntegrationStack;
  }
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export const stack = (): IntegrationStack => inject('integrationStack');

export const sqsClient = (): SQSClient =>
  new SQSClient({ endpoint: stack().sqsEndpoint, region: stack().region, credentials, useQueueUrlAsEndpoint: false });

export const dynamoClient = (): DynamoDBClient =>
  new DynamoDBClient({ endpoint: stack().dynamoEndpoint, region: stack().region, credentials });

/** A provisioned table or queue by its logical id in serverless.yml (e.g. 'OrdersQueue'). */
export const resource = (logicalId: string): ProvisionedResource => {
  const r = stack().provisioned[logicalId];
  if (!r) throw new Error(`${logicalId} was not provisioned`);
  return r;
};

/** Empties the provisioned queues (all of them by default) between tests. */
export const purgeQueues = async (sqs: SQSClient, logicalIds?: string[]): Promise<void> => {
  const queues = Object.entries(stack().provisioned).filter(
    ([id, r]) => r.type === 'queue' && (!logicalIds || logicalIds.includes(id)),
  );
  await Promise.all(queues.map(([, r]) => sqs.send(new PurgeQueueCommand({ QueueUrl: r.url }))));
};

export interface TestQueue {
  name: string;
  url: string;
  arn: string;
  dlq?: { name: string; url: string; arn: string };
}

/** A uniquely named queue for one test (short visibility timeout, optional DLQ). Delete it with deleteTestQueue. */
export const createTestQueue = async (
  sqs: SQSClient,
  { visibilityTimeout, maxReceiveCount }: { visibilityTimeout: number; maxReceiveCount?: number },
): Promise<TestQueue> => {
  const base = `itest-${randomUUID().slice(0, 8)}`;
  const make = async (name: string, attributes: Record<string, string>): Promise<{ name: string; url: string; arn: string }> => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!QueueUrl) throw new Error(`no url for ${name}`);
    const got = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { name, url: QueueUrl, arn: got.Attributes?.QueueArn ?? '' };
  };
  const dlq = maxReceiveCount ? await make(`${base}-dlq`, {}) : undefined;
  const queue = await make(base, {
    VisibilityTimeout: String(visibilityTimeout),
    ...(dlq ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount }) } : {}),
  });
  return { ...queue, ...(dlq ? { dlq } : {}) };
};

export const deleteTestQueue = async (sqs: SQSClient, q: TestQueue): Promise<void> => {
  await Promise.allSettled([q.url, q.dlq?.url].filter(Boolean).map((u) => sqs.send(new DeleteQueueCommand({ QueueUrl: u }))));
};

/** Visible + in-flight (+ delayed) messages on a queue. */
export const queueDepth = async (sqs: SQSClient, url: string): Promise<{ visible: number; inFlight: number; total: number }> => {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
  const a = out.Attributes ?? {};
  const visible = Number(a.ApproximateNumberOfMessages ?? 0);
  const inFlight = Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
  const delayed = Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  return { visible, inFlight, total: visible + inFlight + delayed };
};

/** Polls `check` until it returns true or timeoutMs elapses (then throws with `what`). */
export const waitFor = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
