/**
 * `node --import tsx bench/roundtrips.ts`: the cost of one round trip to each emulator of the embedded stack, idle
 * (sequential) and under concurrency, with the engine's own client settings (keep-alive agents). Every order costs
 * ~11 DynamoDB calls, 5 SQS sends and 5 PostToConnection calls (see bench/PERFORMANCE.md), so these figures bound
 * the pipeline overhead. Starts its own stack (STAGE=bench) and stops it.
 */
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SendMessageCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { startStack } from './support/stack';
import { dist, fmt, table } from './support/stats';

const stack = await startStack({ profile: 'zero', accounts: ['probe'], env: { LOG_LEVEL: 'warn' }, readyTimeoutMs: 90_000, echo: false });
process.once('SIGINT', () => void stack.stop().finally(() => process.exit(130)));
try {
  process.env.AWS_ENDPOINT_URL_DYNAMODB = stack.state.endpoints.dynamodb;
  process.env.AWS_ENDPOINT_URL_SQS = stack.state.endpoints.sqs;
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  process.env.AWS_REGION = 'us-east-1';
  const { dynamo, sqs } = await import('../lib/aws/clients');
  const table_ = 'solana-order-engine-bench-orders';
  const fifo = (await sqs().send(new GetQueueUrlCommand({ QueueName: 'solana-order-engine-bench-status.fifo' }))).QueueUrl as string;
  const std = (await sqs().send(new GetQueueUrlCommand({ QueueName: 'solana-order-engine-bench-orders-dlq' }))).QueueUrl as string;
  let n = 0;
  const item = () => ({ orderId: `probe-${n++}`, kind: 'probe', status: 'pending', seq: 1, payload: 'x'.repeat(1500) });
  const ops: Record<string, () => Promise<unknown>> = {
    'DynamoDB GetItem (consistent)': () => dynamo().send(new GetCommand({ TableName: table_, Key: { orderId: 'probe-1' }, ConsistentRead: true })),
    'DynamoDB PutItem (conditional)': () => dynamo().send(new PutCommand({ TableName: table_, Item: item(), ConditionExpression: 'attribute_not_exists(orderId)' })),
    'DynamoDB UpdateItem (conditional, ALL_NEW)': () =>
      dynamo().send(
        new UpdateCommand({
          TableName: table_,
          Key: { orderId: `probe-${Math.floor(Math.random() * Math.max(1, n))}` },
          UpdateExpression: 'SET #s = :s',
          ConditionExpression: 'attribute_exists(orderId)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': 'routing' },
          ReturnValues: 'ALL_NEW',
        }),
      ).catch(() => undefined),
    'DynamoDB TransactWriteItems (2 puts)': () =>
      dynamo().send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: table_, Item: item(), ConditionExpression: 'attribute_not_exists(orderId)' } },
            { Put: { TableName: table_, Item: item(), ConditionExpression: 'attribute_not_exists(orderId)' } },
          ],
        }),
      ),
    'SQS SendMessage (standard)': () => sqs().send(new SendMessageCommand({ QueueUrl: std, MessageBody: '{"orderId":"x"}' })),
    'SQS SendMessage (FIFO)': () =>
      sqs().send(new SendMessageCommand({ QueueUrl: fifo, MessageBody: '{"x":1}', MessageGroupId: `g${n % 50}`, MessageDeduplicationId: `d${n++}` })),
  };
  const rows: Array<Array<string | number>> = [];
  for (const [name, op] of Object.entries(ops)) {
    for (let i = 0; i < 20; i++) await op(); // warm
    for (const conc of [1, 50]) {
      const times: number[] = [];
      const started = performance.now();
      await Promise.all(
        Array.from({ length: conc }, async () => {
          for (let i = 0; i < Math.max(4, 200 / conc); i++) {
            const t = performance.now();
            await op();
            times.push(performance.now() - t);
          }
        }),
      );
      const d = dist(times);
      rows.push([name, conc, fmt(d.p50), fmt(d.p99), fmt(times.length / ((performance.now() - started) / 1000), 0)]);
    }
  }
  process.stdout.write(`${table(['operation', 'concurrency', 'p50 ms', 'p99 ms', 'ops/s'], rows)}\n`);
} finally {
  await stack.stop();
}
process.exit(0);
