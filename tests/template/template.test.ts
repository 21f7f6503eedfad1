import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/env';
import {
  actionsFromCode,
  actionsOf,
  loadTemplate,
  ofType,
  referencedIds,
  refTarget,
  type Resource,
  roleStatements,
} from './support/template';

const { template, stage } = loadTemplate();
const resources = template.Resources;
const functions = ofType(template, 'AWS::Lambda::Function');
const tables = ofType(template, 'AWS::DynamoDB::Table');
const queues = ofType(template, 'AWS::SQS::Queue');
const roles = ofType(template, 'AWS::IAM::Role');
const mappings = ofType(template, 'AWS::Lambda::EventSourceMapping');

const props = (r: Resource | undefined): Record<string, unknown> => r?.Properties ?? {};
const fnByHandler = (handler: string): [string, Resource] => {
  const found = functions.find(([, f]) => props(f).Handler === handler);
  if (!found) throw new Error(`no function with handler ${handler}`);
  return found;
};
/** The environment the functions share (provider.environment): names of tables and queues as the code reads them. */
const env = (name: string): string => {
  const value = (props(functions[0]?.[1]).Environment as { Variables: Record<string, string> }).Variables[name];
  if (!value) throw new Error(`no ${name} in the functions' environment`);
  return value;
};
const tableNamed = (envName: string): [string, Resource] => {
  const found = tables.find(([, t]) => props(t).TableName === env(envName));
  if (!found) throw new Error(`no table named by ${envName}`);
  return found;
};
const queueNamed = (envName: string): string => {
  const found = queues.find(([, q]) => props(q).QueueName === env(envName));
  if (!found) throw new Error(`no queue named by ${envName}`);
  return found[0];
};
/** SQS's default when VisibilityTimeout is not set. */
const DEFAULT_VISIBILITY_SECONDS = 30;
/** Lambda's default when Timeout is not set. */
const DEFAULT_TIMEOUT_SECONDS = 3;

describe('execution function', () => {
  const [executeOrderId, executeOrder] = fnByHandler('functions/execute-order/handler.handler');

  it('has reserved concurrency 10', () => {
    expect(props(executeOrder).ReservedConcurrentExecutions).toBe(10);
  });

  it('its SQS mapping caps concurrency at 10 and reports partial batch failures', () => {
    const own = mappings.filter(([, m]) => refTarget(props(m).FunctionName) === executeOrderId);
    expect(own).toHaveLength(1);
    const m = props(own[0]?.[1]);
    expect(refTarget(m.EventSourceArn)).toBe(queueNamed('ORDERS_QUEUE_NAME'));
    expect((m.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency).toBe(10);
    expect(m.FunctionResponseTypes ?? []).toContain('ReportBatchItemFailures');
  });
});

describe('queues', () => {
  const isDlq = (name: unknown): boolean => /-dlq(\.fifo)?$/.test(String(name));

  it('every work queue redrives to its own dead-letter queue, which keeps messages longer', () => {
    const dlqs = queues.filter(([, q]) => isDlq(props(q).QueueName));
    expect(dlqs.length).toBeGreaterThanOrEqual(2);
    for (const [dlqId, dlq] of dlqs) {
      const sourceName = String(props(dlq).QueueName).replace(/-dlq(\.fifo)?$/, '$1');
      const source = queues.find(([, q]) => props(q).QueueName === sourceName);
      expect(source, `${dlqId}: no queue ${sourceName}`).toBeDefined();
      const p = props(source?.[1]);
      const redrive = p.RedrivePolicy as { deadLetterTargetArn?: unknown; maxReceiveCount?: number } | undefined;
      expect(refTarget(redrive?.deadLetterTargetArn), `${source?.[0]} RedrivePolicy`).toBe(dlqId);
      expect(Number(redrive?.maxReceiveCount)).toBeGreaterThanOrEqual(1);
      expect(Boolean(props(dlq).FifoQueue)).toBe(Boolean(p.FifoQueue));
      expect(Number(props(dlq).MessageRetentionPeriod)).toBeGreaterThan(Number(p.MessageRetentionPeriod ?? 345_600));
    }
    for (const [id, q] of queues.filter(([, q]) => !isDlq(props(q).QueueName))) {
      expect(props(q).RedrivePolicy, `${id} has no dead-letter queue`).toBeDefined();
    }
  });

  it('each queue that triggers a function stays invisible >= 6x that function timeout', () => {
    expect(mappings.length).toBeGreaterThanOrEqual(3);
    for (const [id, m] of mappings) {
      const queue = resources[refTarget(props(m).EventSourceArn) ?? ''];
      const fn = resources[refTarget(props(m).FunctionName) ?? ''];
      expect(queue?.Type, id).toBe('AWS::SQS::Queue');
      const visibility = Number(props(queue).VisibilityTimeout ?? DEFAULT_VISIBILITY_SECONDS);
      const timeout = Number(props(fn).Timeout ?? DEFAULT_TIMEOUT_SECONDS);
      expect(visibility, `${id}: visibility ${visibility} s, function timeout ${timeout} s`).toBeGreaterThanOrEqual(6 * timeout);
    }
  });
});

describe('tables', () => {
  it('the connections table expires rows by the attribute the code checks', () => {
    // lib/aws/connections-table.ts treats a row as gone once `<attribute> * 1000 <= now` (epoch seconds, as TTL wants).
    const source = readFileSync(join(repoRoot, 'lib', 'aws', 'connections-table.ts'), 'utf8');
    const attribute = /item\.(\w+)\s*\*\s*1000\s*<=/.exec(source)?.[1];
    expect(attribute).toBeTruthy();
    const ttl = props(tableNamed('CONNECTIONS_TABLE')[1]).TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean };
    expect(ttl).toEqual({ AttributeName: attribute, Enabled: true });
  });

  it.each(['ORDERS_TABLE', 'ACCOUNTS_TABLE', 'LEDGER_TABLE'])('%s has point-in-time recovery and is retained', (envName) => {
    const [, table] = tableNamed(envName);
    expect(props(table).PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('every table is encrypted at rest (SSESpecification)', () => {
    expect(tables.length).toBeGreaterThanOrEqual(5);
    for (const [id, t] of tables) {
      expect((props(t).SSESpecification as { SSEEnabled?: boolean } | undefined)?.SSEEnabled, id).toBe(true);
    }
  });
});

describe('IAM', () => {
  const code = actionsFromCode();
  const fromCode = new Set(code.actions.keys());
  /** What the Lambda service itself calls for an SQS event source mapping, with the function's role. */
  const EVENT_SOURCE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];
  /** The framework's log permissions (the managed policy every role carries; CloudWatch Logs only). */
  const LOGS_POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
  /** Code actions no Lambda needs: only the operator CLI (infra/keys.ts, `npm run keys`) lists accounts. */
  const OPERATOR_ONLY = ['dynamodb:Scan'];
  const functionsOfRole = (roleId: string): Array<[string, Resource]> => functions.filter(([, f]) => refTarget(props(f).Role) === roleId);
  const eventSourcesOfRole = (roleId: string): Set<string> =>
    new Set(
      mappings
        .filter(([, m]) => functionsOfRole(roleId).some(([fnId]) => fnId === refTarget(props(m).FunctionName)))
        .map(([, m]) => refTarget(props(m).EventSourceArn) ?? ''),
    );

  it('the code sends only commands whose IAM actions are known', () => {
    expect(code.unknown).toEqual([]);
    expect(fromCode.size).toBeGreaterThanOrEqual(8);
  });

  it('every function runs with a role declared in this template, whose only managed policy is the log one', () => {
    for (const [id, f] of functions) {
      expect(resources[refTarget(props(f).Role) ?? '']?.Type, id).toBe('AWS::IAM::Role');
    }
    for (const [id, role] of roles) expect(props(role).ManagedPolicyArns ?? [], id).toEqual([LOGS_POLICY]);
  });

  it('no role grants an action the code does not send (event-source actions only on its own triggers)', () => {
    for (const [roleId, role] of roles) {
      const sources = eventSourcesOfRole(roleId);
      for (const s of roleStatements(role)) {
        expect(s.Effect).toBe('Allow');
        for (const action of actionsOf(s)) {
          if (action.startsWith('logs:')) continue;
          if (EVENT_SOURCE_ACTIONS.includes(action) && !fromCode.has(action)) {
            const targets = [...referencedIds(s.Resource)];
            expect(targets.length, `${roleId} ${action}`).toBeGreaterThan(0);
            for (const t of targets) expect(sources.has(t), `${roleId}: ${action} on ${t}, which triggers none of its functions`).toBe(true);
            continue;
          }
          expect(fromCode.has(action) && !OPERATOR_ONLY.includes(action), `${roleId} grants ${action}, which no Lambda's lib/aws command needs`).toBe(true);
        }
      }
    }
  });

  it('the roles together grant exactly what the code sends (the operator-only actions aside)', () => {
    const granted = new Set(roles.flatMap(([, r]) => roleStatements(r).flatMap(actionsOf)).filter((a) => !EVENT_SOURCE_ACTIONS.includes(a) || fromCode.has(a)));
    const needed = [...fromCode].filter((a) => !OPERATOR_ONLY.includes(a));
    expect([...granted].sort()).toEqual(needed.sort());
  });

  it("resources are this stage's own tables, queues and WebSocket API, never '*'", () => {
    const ownTables = new Set(tables.filter(([, t]) => String(props(t).TableName).includes(`-${stage}-`)).map(([id]) => id));
    const ownQueues = new Set(queues.filter(([, q]) => String(props(q).QueueName).includes(`-${stage}-`)).map(([id]) => id));
    for (const [roleId, role] of roles) {
      for (const s of roleStatements(role)) {
        const list = [s.Resource].flat();
        expect(list.length).toBeGreaterThan(0);
        for (const action of actionsOf(s)) {
          expect(action, roleId).not.toContain('*');
          const [service] = action.split(':');
          for (const r of list) {
            expect(JSON.stringify(r), `${roleId} ${action}`).not.toMatch(/^"\*"$|:\*"?$/);
            const ids = [...referencedIds(r)];
            if (service === 'dynamodb') expect(ids.length > 0 && ids.every((id) => ownTables.has(id)), `${roleId} ${action} ${JSON.stringify(r)}`).toBe(true);
            if (service === 'sqs') expect(ids.length > 0 && ids.every((id) => ownQueues.has(id)), `${roleId} ${action} ${JSON.stringify(r)}`).toBe(true);
            if (service === 'execute-api') {
              expect(ids, `${roleId} ${action}`).toContain('WebsocketsApi');
              expect(JSON.stringify(r)).toContain(`/${stage}/POST/@connections/`);
            }
          }
        }
      }
    }
  });

  it('a handler that changes message visibility may do so on its own queue (and look its URL up)', () => {
    /** The handler's source, following a re-export (functions/execute-snipes runs functions/execute-order's code). */
    const handlerSource = (file: string): string => {
      const text = readFileSync(file, 'utf8');
      const reexport = /export \{ handler \} from '([^']+)'/.exec(text);
      return reexport ? handlerSource(join(dirname(file), `${reexport[1]}.ts`)) : text;
    };
    let checked = 0;
    for (const [fnId, f] of functions) {
      const source = handlerSource(join(repoRoot, `${String(props(f).Handler).replace(/\.[^.]+$/, '')}.ts`));
      const statements = roleStatements(resources[refTarget(props(f).Role) ?? ''] as Resource);
      const queueIds = [...source.matchAll(/changeVisibility\(\s*ctx\.config\.(\w+)/g)].map(([, envName]) => queueNamed(envName as string));
      // A handler that works on the queue each record came from (queueOf(record)): every queue that triggers it.
      const triggerQueues = mappings.filter(([, m]) => refTarget(props(m).FunctionName) === fnId).map(([, m]) => refTarget(props(m).EventSourceArn) as string);
      if (/changeVisibility\(\s*(queueNameOf\(record\.eventSourceARN\)|queueOf\(record\))/.test(source)) queueIds.push(...triggerQueues);
      // ...and one that asks how many messages wait there (giving a landing order back) may read its attributes.
      const readsDepth = /waitingMessages\(\s*queueOf\(record\)/.test(source);
      for (const queueId of queueIds) {
        for (const action of ['sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', ...(readsDepth ? ['sqs:GetQueueAttributes'] : [])]) {
          const granted = statements.some((s) => actionsOf(s).includes(action) && referencedIds(s.Resource).has(queueId));
          expect(granted, `${fnId}: ${action} on ${queueId}`).toBe(true);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2);
  });
});
