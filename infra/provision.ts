import {
  type AttributeDefinition,
  type BillingMode,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type LocalSecondaryIndex,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type QueueAttributeName,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { dummyCredentials, sleep } from './env';
import { type Logger, silentLogger } from './log';
import type { CfnResource, ServerlessConfig } from './serverless-config';

export interface ProvisionedResource {
  type: 'table' | 'queue';
  name: string;
  arn: string;
  /** Queue URL (queues only). */
  url?: string;
}

export type Provisioned = Record<string, ProvisionedResource>;

export interface ProvisionOptions {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  region: string;
  log?: Logger;
}

const TABLE = 'AWS::DynamoDB::Table';
const QUEUE = 'AWS::SQS::Queue';

/** CloudFormation queue properties that are SQS attributes (QueueName and Tags are not). */
const QUEUE_ATTRIBUTES = [
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'MaximumMessageSize',
  'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
] as const;

/** Logical ids referenced through Fn::GetAtt / Ref anywhere inside a value. */
const references = (value: unknown, out = new Set<string>()): Set<string> => {
  if (Array.isArray(value)) {
    for (const v of value) references(v, out);
  } else if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const getAtt = obj['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') out.add(getAtt[0]);
    else if (typeof getAtt === 'string') out.add(getAtt.split('.')[0] ?? getAtt);
    if (typeof obj.Ref === 'string') out.add(obj.Ref);
    for (const v of Object.values(obj)) references(v, out);
  }
  return out;
};

/** Resolves Fn::GetAtt [X, Arn] to the ARN and Ref X to the queue URL / table name (as CloudFormation does). */
const resolveIntrinsics = (value: unknown, done: Provisioned): unknown => {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, done));
  if (!value || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const raw = obj['Fn::GetAtt'];
    const [id, attr] = Array.isArray(raw) ? (raw as string[]) : String(raw).split('.');
    const target = id ? done[id] : undefined;
    if (!target) throw new Error(`cannot resolve Fn::GetAtt ${String(id)}.${String(attr)}: not provisioned`);
    if (attr === 'Arn') return target.arn;
    if (attr === 'QueueName' || attr === 'TableName') return target.name;
    if (attr === 'QueueUrl' && target.url) return target.url;
    throw new Error(`unsupported Fn::GetAtt ${id}.${attr}`);
  }
  if (keys.length === 1 && keys[0] === 'Ref') {
    const target = done[String(obj.Ref)];
    if (!target) throw new Error(`cannot resolve Ref ${String(obj.Ref)}: not provisioned`);
    return target.type === 'queue' ? target.url : target.name;
  }
  return Object.fromEntries(keys.map((k) => [k, resolveIntrinsics(obj[k], done)]));
};

/** Resources of the wanted types in dependency order (dependencies on other wanted resources first). */
const dependencyOrder = (resources: Record<string, CfnResource>, types: string[]): string[] => {
  const wanted = Object.keys(resources).filter((id) => types.includes(resources[id]?.Type ?? ''));
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string): void => {
    const s = state.get(id);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`circular reference involving ${id}`);
    state.set(id, 'visiting');
    const res = resources[id];
    const deps = references(res?.Properties);
    for (const d of [res?.DependsOn ?? []].flat()) deps.add(d);
    for (const dep of deps) if (wanted.includes(dep)) visit(dep);
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of wanted) visit(id);
  return order;
};

const attributeString = (value: unknown): string =>
  typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);

const errorName = (err: unknown): string => (err as { name?: string })?.name ?? '';

const provisionTable = async (
  ddb: DynamoDBClient,
  id: string,
  props: Record<string, unknown>,
  log: Logger,
): Promise<ProvisionedResource> => {
  const name = String(props.TableName ?? id);
  const billingMode = (props.BillingMode as BillingMode | undefined) ?? 'PROVISIONED';
  const throughput = (props.ProvisionedThroughput as CreateTableCommandInput['ProvisionedThroughput']) ?? {
    ReadCapacityUnits: 5,
    WriteCapacityUnits: 5,
  };
  const gsis = props.GlobalSecondaryIndexes as GlobalSecondaryIndex[] | undefined;
  const input: CreateTableCommandInput = {
    TableName: name,
    AttributeDefinitions: props.AttributeDefinitions as AttributeDefinition[],
    KeySchema: props.KeySchema as KeySchemaElement[],
    BillingMode: billingMode,
    ...(billingMode === 'PROVISIONED' ? { ProvisionedThroughput: throughput } : {}),
    ...(gsis
      ? {
          GlobalSecondaryIndexes: gsis.map((g) =>
            billingMode === 'PROVISIONED' ? { ProvisionedThroughput: throughput, ...g } : g,
          ),
        }
      : {}),
    ...(props.LocalSecondaryIndexes ? { LocalSecondaryIndexes: props.LocalSecondaryIndexes as LocalSecondaryIndex[] } : {}),
    ...(props.StreamSpecification
      ? { StreamSpecification: { StreamEnabled: true, ...(props.StreamSpecification as object) } }
      : {}),
  };
  let arn: string | undefined;
  try {
    const out = await ddb.send(new CreateTableCommand(input));
    arn = out.TableDescription?.TableArn;
    log.debug(`created table ${name}`);
  } catch (err) {
    if (!(err instanceof ResourceInUseException) && errorName(err) !== 'ResourceInUseException') throw err;
    log.debug(`table ${name} already exists`);
  }
  // Wait for ACTIVE (DynamoDB Local is immediate; LocalStack may take a moment).
  for (let i = 0; i < 100; i++) {
    const d = await ddb.send(new DescribeTableCommand({ TableName: name }));
    arn = d.Table?.TableArn ?? arn;
    if (d.Table?.TableStatus === 'ACTIVE') break;
    await sleep(100);
  }
  const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (ttl?.AttributeName && ttl.Enabled) {
    const current = await ddb.send(new DescribeTimeToLiveCommand({ TableName: name }));
    const desc = current.TimeToLiveDescription;
    const already = desc?.AttributeName === ttl.AttributeName && ['ENABLED', 'ENABLING'].includes(desc?.TimeToLiveStatus ?? '');
    if (!already) {
      await ddb.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      );
    }
  }
  if (!arn) throw new Error(`no ARN for table ${name}`);
  return { type: 'table', name, arn };
};

const provisionQueue = async (
  sqs: SQSClient,
  id: string,
  props: Record<string, unknown>,
  log: Logger,
): Promise<ProvisionedResource> => {
  const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
  const name = String(props.QueueName ?? (fifo ? `${id}.fifo` : id));
  const attributes: Partial<Record<QueueAttributeName, string>> = {};
  for (const key of QUEUE_ATTRIBUTES) {
    const value = props[key];
    if (value === undefined || value === null) continue;
    if (key === 'FifoQueue' && !fifo) continue; // FifoQueue=false must be omitted for standard queues
    attributes[key as QueueAttributeName] = attributeString(value);
  }
  const ignored = Object.keys(props).filter((k) => k !== 'QueueName' && k !== 'Tags' && !(QUEUE_ATTRIBUTES as readonly string[]).includes(k));
  if (ignored.length) log.debug(`queue ${name}: properties not emulated locally: ${ignored.join(', ')}`);
  const tags = Array.isArray(props.Tags)
    ? Object.fromEntries((props.Tags as Array<{ Key: string; Value: string }>).map((t) => [t.Key, String(t.Value)]))
    : undefined;

  let url: string | undefined;
  try {
    const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes, ...(tags ? { tags } : {}) }));
    url = out.QueueUrl;
    log.debug(`created queue ${name}`);
  } catch (err) {
    // Exists with different attributes: bring the mutable ones up to date (FifoQueue cannot change).
    if (!['QueueAlreadyExists', 'QueueNameExists'].includes(errorName(err))) throw err;
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    const { FifoQueue: _fifo, ...mutable } = attributes;
    if (url && Object.keys(mutable).length) await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: mutable }));
    log.debug(`queue ${name} already existed; attributes updated`);
  }
  if (!url) throw new Error(`no URL for queue ${name}`);
  const got = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = got.Attributes?.QueueArn;
  if (!arn) throw new Error(`no ARN for queue ${name}`);
  return { type: 'queue', name, url, arn };
};

/**
 * Creates every DynamoDB table and SQS queue declared in `resources` (the same block CloudFormation deploys), in
 * dependency order, skipping every other resource type (IAM roles, ...). Idempotent; works against the embedded
 * emulators and LocalStack alike.
 */
export const provision = async (config: ServerlessConfig, options: ProvisionOptions): Promise<Provisioned> => {
  const log = options.log ?? silentLogger;
  const resources = config.resources?.Resources ?? {};
  const ddb = new DynamoDBClient({ endpoint: options.dynamoEndpoint, region: options.region, credentials: dummyCredentials });
  const sqs = new SQSClient({
    endpoint: options.sqsEndpoint,
    region: options.region,
    credentials: dummyCredentials,
    useQueueUrlAsEndpoint: false,
  });
  const done: Provisioned = {};
  try {
    const skipped = Object.entries(resources)
      .filter(([, r]) => r.Type !== TABLE && r.Type !== QUEUE)
      .map(([id, r]) => `${id} (${r.Type})`);
    if (skipped.length) log.debug(`not provisioned locally: ${skipped.join(', ')}`);

    // Tables do not depend on each other here; create them concurrently.
    const tableIds = dependencyOrder(resources, [TABLE]);
    const tables = await Promise.all(
      tableIds.map((id) => provisionTable(ddb, id, (resources[id]?.Properties ?? {}) as Record<string, unknown>, log)),
    );
    tableIds.forEach((id, i) => {
      done[id] = tables[i] as ProvisionedResource;
    });

    for (const id of dependencyOrder(resources, [QUEUE])) {
      const props = resolveIntrinsics(resources[id]?.Properties ?? {}, done) as Record<string, unknown>;
      done[id] = await provisionQueue(sqs, id, props, log);
    }
  } finally {
    ddb.destroy();
    sqs.destroy();
  }
  return done;
};
