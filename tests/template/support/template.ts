import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { repoRoot } from '../../../infra/env';
import { TEMPLATE_FILE } from './packaged';

export interface PackagedTemplate {
  dir: string;
  stage: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    packagedTemplate: PackagedTemplate;
  }
}

export interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string | string[];
}

export interface Template {
  Resources: Record<string, Resource>;
}

export const loadTemplate = (): { template: Template; stage: string } => {
  const { dir, stage } = inject('packagedTemplate');
  return { template: JSON.parse(readFileSync(join(dir, TEMPLATE_FILE), 'utf8')) as Template, stage };
};

export const ofType = (template: Template, type: string): Array<[string, Resource]> =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

/** The logical id behind `{ Fn::GetAtt: [Id, Attr] }` / `{ Ref: Id }`, else undefined. */
export const refTarget = (value: unknown): string | undefined => {
  if (!value || typeof value !== 'object') return undefined;
  const obj = value as Record<string, unknown>;
  const getAtt = obj['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return typeof obj.Ref === 'string' ? obj.Ref : undefined;
};

/** Every logical id referenced anywhere inside a value (GetAtt, Ref, inside Fn::Join and the like). */
export const referencedIds = (value: unknown, out = new Set<string>()): Set<string> => {
  const id = refTarget(value);
  if (id) out.add(id);
  if (Array.isArray(value)) for (const v of value) referencedIds(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) referencedIds(v, out);
  return out;
};

/*
 * IAM actions derived from the code: each SDK command class that lib/aws/*.ts sends, mapped to the IAM action(s) that
 * authorise it. TransactWriteItems has no IAM action of its own: each item is authorised as its kind (Put -> PutItem,
 * Update -> UpdateItem, Delete -> DeleteItem, ConditionCheck -> ConditionCheckItem), so the kinds are read from the
 * TransactItems the code builds (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
 */
const COMMAND_ACTIONS: Record<string, string[]> = {
  // @aws-sdk/lib-dynamodb (document client) and @aws-sdk/client-dynamodb
  GetCommand: ['dynamodb:GetItem'],
  GetItemCommand: ['dynamodb:GetItem'],
  PutCommand: ['dynamodb:PutItem'],
  PutItemCommand: ['dynamodb:PutItem'],
  UpdateCommand: ['dynamodb:UpdateItem'],
  UpdateItemCommand: ['dynamodb:UpdateItem'],
  DeleteCommand: ['dynamodb:DeleteItem'],
  DeleteItemCommand: ['dynamodb:DeleteItem'],
  QueryCommand: ['dynamodb:Query'],
  ScanCommand: ['dynamodb:Scan'],
  BatchGetCommand: ['dynamodb:BatchGetItem'],
  BatchGetItemCommand: ['dynamodb:BatchGetItem'],
  BatchWriteCommand: ['dynamodb:BatchWriteItem'],
  BatchWriteItemCommand: ['dynamodb:BatchWriteItem'],
  TransactGetCommand: ['dynamodb:GetItem'],
  TransactGetItemsCommand: ['dynamodb:GetItem'],
  // TransactWriteCommand / TransactWriteItemsCommand: per item kind, below.
  // @aws-sdk/client-sqs (a batch send is authorised as sqs:SendMessage)
  SendMessageCommand: ['sqs:SendMessage'],
  SendMessageBatchCommand: ['sqs:SendMessage'],
  GetQueueUrlCommand: ['sqs:GetQueueUrl'],
  ChangeMessageVisibilityCommand: ['sqs:ChangeMessageVisibility'],
  ChangeMessageVisibilityBatchCommand: ['sqs:ChangeMessageVisibility'],
  ReceiveMessageCommand: ['sqs:ReceiveMessage'],
  DeleteMessageCommand: ['sqs:DeleteMessage'],
  DeleteMessageBatchCommand: ['sqs:DeleteMessage'],
  GetQueueAttributesCommand: ['sqs:GetQueueAttributes'],
  // @aws-sdk/client-apigatewaymanagementapi
  PostToConnectionCommand: ['execute-api:ManageConnections'],
  GetConnectionCommand: ['execute-api:ManageConnections'],
  DeleteConnectionCommand: ['execute-api:ManageConnections'],
};

const TRANSACT_ITEM_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

export interface CodeActions {
  /** IAM action -> the lib/aws files whose commands need it. */
  actions: Map<string, Set<string>>;
  /** Command classes sent that the map above does not know (the test fails on any). */
  unknown: string[];
}

/** Scans lib/aws/*.ts for `new XCommand(` and the kinds of TransactItems entries. */
export const actionsFromCode = (dir = join(repoRoot, 'lib', 'aws')): CodeActions => {
  const actions = new Map<string, Set<string>>();
  const unknown: string[] = [];
  const add = (action: string, file: string): void => {
    const files = actions.get(action) ?? new Set<string>();
    files.add(file);
    actions.set(action, files);
  };
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(dir, file), 'utf8');
    for (const [, command] of source.matchAll(/new\s+(\w+Command)\s*\(/g)) {
      if (!command) continue;
      if (command === 'TransactWriteCommand' || command === 'TransactWriteItemsCommand') {
        const kinds = [...source.matchAll(/\{\s*(Put|Update|Delete|ConditionCheck)\s*:/g)].map((m) => m[1] as string);
        if (kinds.length === 0) unknown.push(`${file}: ${command} with no recognisable TransactItems`);
        for (const kind of kinds) add(TRANSACT_ITEM_ACTIONS[kind] as string, file);
        continue;
      }
      const mapped = COMMAND_ACTIONS[command];
      if (mapped) for (const action of mapped) add(action, file);
      else unknown.push(`${file}: ${command}`);
    }
  }
  return { actions, unknown };
};

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** The inline policy statements of an AWS::IAM::Role (ManagedPolicyArns are checked separately). */
export const roleStatements = (role: Resource): Statement[] => {
  const policies = (role.Properties?.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement | Statement[] } }>;
  return policies.flatMap((p) => [p.PolicyDocument.Statement].flat());
};

export const actionsOf = (statement: Statement): string[] => [statement.Action].flat();
