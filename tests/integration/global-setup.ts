import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, startSqsEmulator } from '../../infra/emulators';
import { freePort } from '../../infra/env';
import { provision } from '../../infra/provision';
import { loadServerlessConfig } from '../../infra/serverless-config';
import type { IntegrationStack } from './support/stack';

/**
 * Integration stack: fauxqs (in this process) and DynamoDB Local (JVM) on free ports, provisioned from
 * `serverless print` for stage 'itest'. Test files reach it through `inject('integrationStack')`
 * (tests/integration/support/stack.ts). Nothing is written to process.env.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const region = 'us-east-1';
  const stage = 'itest';
  const [sqs, dynamo, config] = await Promise.all([
    startSqsEmulator({ port: 0, region }),
    freePort().then((port) => startDynamoDbLocal({ port })),
    loadServerlessConfig({ stage }),
  ]);
  const teardown = async (): Promise<void> => {
    await Promise.allSettled([sqs.stop(), dynamo.stop()]);
  };
  try {
    const provisioned = await provision(config, { dynamoEndpoint: dynamo.endpoint, sqsEndpoint: sqs.endpoint, region });
    const stack: IntegrationStack = {
      region,
      stage,
      sqsEndpoint: sqs.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      provisioned,
      config: JSON.parse(JSON.stringify(config)) as IntegrationStack['config'],
    };
    project.provide('integrationStack', stack);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
