import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { provision } from '../../infra/provision';
import { dynamoClient, resource, sqsClient, stack } from './support/stack';

const sqs = sqsClient();
const ddb = dynamoClient();
afterAll(() => {
  sqs.destroy();
  ddb.destroy();
});

const declared = (type: string): Array<[string, Record<string, unknown>]> =>
  Object.entries(stack().config.resources?.Resources ?? {})
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, (r.Properties ?? {}) as Record<string, unknown>]);

describe('provision from serverless.yml resources', () => {
  it('declares tables and queues (sanity: the config is the printed serverless.yml)', () => {
    expect(declared('AWS::DynamoDB::Table').length).toBeGreaterThanOrEqual(4);
    expect(declared('AWS::SQS::Queue').length).toBeGreaterThanOrEqual(4);
    expect(Object.values(stack().provisioned).every((r) => r.name.includes(`-${stack().stage}-`))).toBe(true);
  });

  it('creates every declared table with its keys, GSIs and TTL', async () => {
    for (const [id, props] of declared('AWS::DynamoDB::Table')) {
      const r = resource(id);
      expect(r.name).toBe(props.TableName);
      const { Table } = await ddb.send(new DescribeTableCommand({ TableName: r.name }));
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.TableArn).toBe(r.arn);
      expect(Table?.KeySchema).toEqual(props.KeySchema);
      const gsis = (props.GlobalSecondaryIndexes ?? []) as Array<{ IndexName: string }>;
      expect((Table?.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName).sort()).toEqual(gsis.map((g) => g.IndexName).sort());
      const ttl = props.TimeToLiveSpecification as { AttributeName: string } | undefined;
      if (ttl) {
        const d = await ddb.send(new DescribeTimeToLiveCommand({ TableName: r.name }));
        expect(d.TimeToLiveDescription?.AttributeName).toBe(ttl.AttributeName);
        expect(d.TimeToLiveDescription?.TimeToLiveStatus).toMatch(/ENABL/);
      }
    }
  });

  it('creates every declared queue with redrive policy, FIFO and numeric attributes', async () => {
    const queues = declared('AWS::SQS::Queue');
    for (const [id, props] of queues) {
      const r = resource(id);
      expect(r.name).toBe(props.QueueName);
      const { Attributes: a = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: r.url, AttributeNames: ['All'] }));
      expect(a.QueueArn).toBe(r.arn);
      if (props.FifoQueue) expect(a.FifoQueue).toBe('true');
      else expect(a.FifoQueue ?? 'false').toBe('false');
      if (props.VisibilityTimeout !== undefined) expect(a.VisibilityTimeout).toBe(String(props.VisibilityTimeout));
      if (props.MessageRetentionPeriod !== undefined) expect(a.MessageRetentionPeriod).toBe(String(props.MessageRetentionPeriod));
      const redrive = props.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] }; maxReceiveCount: number } | undefined;
      if (redrive) {
        const policy = JSON.parse(a.RedrivePolicy ?? '{}') as { deadLetterTargetArn: string; maxReceiveCount: number | string };
        expect(policy.deadLetterTargetArn).toBe(resource(redrive.deadLetterTargetArn['Fn::GetAtt'][0]).arn);
        expect(Number(policy.maxReceiveCount)).toBe(Number(redrive.maxReceiveCount));
      }
    }
    // The ones this design depends on.
    expect(queues.map(([id]) => id)).toEqual(expect.arrayContaining(['OrdersQueue', 'OrdersDeadLetterQueue', 'StatusQueue']));
  });

  it('skips non-table/queue resources and is idempotent', async () => {
    const again = await provision(stack().config, {
      dynamoEndpoint: stack().dynamoEndpoint,
      sqsEndpoint: stack().sqsEndpoint,
      region: stack().region,
    });
    expect(again).toEqual(stack().provisioned);
    expect(Object.keys(again).some((id) => id.endsWith('Role'))).toBe(false);
  });
});
