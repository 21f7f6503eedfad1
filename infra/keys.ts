/**
 * `npm run keys -- create|list|revoke`: API keys of accounts, in the accounts table of the running embedded stack
 * (by default), of a DynamoDB endpoint, or of a stage on AWS. Keys are stored as their SHA-256 hash only
 * (PROTOCOL.md "Access"); a new key is printed once. The logic is in lib/accounts/keys.ts; this file parses the
 * command line, picks the table and runs it.
 *
 * Exit codes: 0 done, 1 the table said no (unknown or ambiguous key id, DynamoDB unreachable), 2 bad arguments or no
 * target to talk to.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { z } from 'zod';
import {
  accountIdSchema,
  accountsTableName,
  apiKeySchema,
  keyIdPrefixSchema,
  KeysCommandError,
  labelSchema,
  runKeysAction,
  stageSchema,
  type KeysAction,
  type KeysOutput,
} from '../lib/accounts/keys';
import { AccountsTable } from '../lib/aws/accounts-table';
import { dummyCredentials, repoRoot } from './env';

export const USAGE = `usage: npm run keys -- <command> [options] [target]

commands:
  create --account <id> [--label <text>]   make a key; prints it once (only its SHA-256 hash is stored)
  list [--account <id>] [--json]           key id, account, label, created, revoked; never the key
  revoke --key-id <prefix> | --key <key>   mark a key revoked: $connect refuses it from then on (HTTP 401)

target (default: the running stack of \`npm start\`, from .data/stack.json or $STACK_STATE_FILE):
  --stage <name> --aws    the stage's table on AWS (AWS_REGION, the SDK's default credentials)
  --endpoint <url>        a DynamoDB endpoint (with --stage, or the running stack's stage)

Use \`npm run -s keys -- create ...\` to capture the key alone from stdout.`;

/** Options each command accepts, besides the target options and --help. */
const COMMAND_OPTIONS = {
  create: ['account', 'label'],
  list: ['account', 'json'],
  revoke: ['key-id', 'key'],
} as const;
type CommandName = keyof typeof COMMAND_OPTIONS;
const TARGET_OPTIONS = ['stage', 'aws', 'endpoint', 'help'];

const options = {
  account: { type: 'string' },
  label: { type: 'string' },
  'key-id': { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
  stage: { type: 'string' },
  aws: { type: 'boolean' },
  endpoint: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface TargetOptions {
  stage?: string;
  aws: boolean;
  endpoint?: string;
}

export type ParsedKeysArgs = { help: true } | { help: false; action: KeysAction; target: TargetOptions };

const usageError = (message: string): KeysCommandError => new KeysCommandError('USAGE', message);

/** A zod check of one option's value, reported as the option's problem. */
const checked = <T>(schema: z.ZodType<T, string>, flag: string, value: string): T => {
  const result = schema.safeParse(value);
  if (!result.success) throw usageError(`--${flag}: ${result.error.issues[0]?.message ?? 'invalid'} (got '${value}')`);
  return result.data;
};

/** node:util's messages, first line only, with a hint for the common slip of an option without its value. */
const parseArgsProblem = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error);
  const first = (message.split('\n')[0] ?? message).replace(/ To specify a positional argument.*$/, '');
  return / is ambiguous\.$/.test(first) ? `${first} Did you forget its value?` : first;
};

/** The command line after `npm run keys --`. Throws KeysCommandError('USAGE') naming the first problem. */
export const parseKeysArgs = (argv: string[]): ParsedKeysArgs => {
  const parse = () => parseArgs({ args: argv, options, strict: true, allowPositionals: true, tokens: true });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    throw usageError(parseArgsProblem(error));
  }
  const { values, positionals, tokens } = parsed;
  if (values.help) return { help: true };

  // The last of a repeated option would silently win; two --account values are more likely a mistake.
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) throw usageError(`--${token.name} is given more than once`);
    seen.add(token.name);
  }

  const [command, ...extra] = positionals;
  if (command === undefined) throw usageError('missing command: create, list or revoke');
  if (!Object.hasOwn(COMMAND_OPTIONS, command)) throw usageError(`unknown command '${command}': create, list or revoke`);
  if (extra.length > 0) throw usageError(`unexpected argument '${extra[0]}'`);
  const name = command as CommandName;
  const allowed: readonly string[] = COMMAND_OPTIONS[name];
  for (const flag of seen) {
    if (!allowed.includes(flag) && !TARGET_OPTIONS.includes(flag)) throw usageError(`--${flag} is not an option of ${name}`);
  }

  const target: TargetOptions = { aws: values.aws ?? false };
  if (values.stage !== undefined) target.stage = checked(stageSchema, 'stage', values.stage);
  if (values.endpoint !== undefined) {
    const url = URL.canParse(values.endpoint) ? new URL(values.endpoint) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw usageError(`--endpoint: an http(s) URL such as http://127.0.0.1:8000 (got '${values.endpoint}')`);
    }
    target.endpoint = values.endpoint;
  }
  if (target.aws && target.stage === undefined) throw usageError('--aws needs --stage <name>: which stage\'s accounts table');

  switch (name) {
    case 'create': {
      if (values.account === undefined) throw usageError('create needs --account <id>');
      return {
        help: false,
        target,
        action: {
          command: 'create',
          accountId: checked(accountIdSchema, 'account', values.account),
          label: values.label === undefined ? '' : checked(labelSchema, 'label', values.label),
        },
      };
    }
    case 'list': {
      // Filtering is not held to create's alphabet: SEED_API_KEYS may have stored any account id.
      if (values.account === '') throw usageError('--account: must not be empty');
      return {
        help: false,
        target,
        action: { command: 'list', json: values.json ?? false, ...(values.account === undefined ? {} : { accountId: values.account }) },
      };
    }
    case 'revoke': {
      const keyId = values['key-id'];
      const key = values.key;
      if (keyId !== undefined && key !== undefined) throw usageError('revoke takes --key-id or --key, not both');
      if (keyId !== undefined) return { help: false, target, action: { command: 'revoke', selector: { keyId: checked(keyIdPrefixSchema, 'key-id', keyId) } } };
      // The key itself is not echoed back in the message.
      if (key !== undefined) {
        const result = apiKeySchema.safeParse(key);
        if (!result.success) throw usageError(`--key: ${result.error.issues[0]?.message ?? 'invalid'}`);
        return { help: false, target, action: { command: 'revoke', selector: { key: result.data } } };
      }
      throw usageError('revoke needs --key-id <prefix> (from `list`) or --key <key>');
    }
  }
};

/** The fields of infra/start.ts's state file this command reads. */
const stackStateSchema = z.object({
  pid: z.number().int(),
  stage: z.string(),
  region: z.string(),
  endpoints: z.object({ dynamodb: z.string() }),
});
export type StackState = z.infer<typeof stackStateSchema>;

/** Whether the stack of a state file can be used; `reason` says why not, for the "no running stack" message. */
export type StackStatus = { running: true; state: StackState; file: string } | { running: false; reason: string; file: string };

export interface Target {
  kind: 'stack' | 'endpoint' | 'aws';
  stage: string;
  tableName: string;
  /** Undefined on AWS: the SDK's own endpoint for the region. */
  endpoint?: string;
  /** Undefined on AWS: AWS_REGION, or whatever the SDK's default chain finds. */
  region?: string;
  /** Emulators take any credentials (and get fixed dummy ones); AWS gets the SDK's default chain. */
  credentials: 'dummy' | 'default';
}

const NPM_START_HINT = 'start one with `npm start`';

/**
 * Picks the table to talk to (see USAGE). Pure: the state file's status and the environment are passed in.
 * `hasAwsCredentials` is whether credentials are set in the environment; only then does a bare `--stage` with no
 * running stack mean AWS.
 */
export const resolveTarget = (
  options: TargetOptions,
  stack: StackStatus,
  env: { hasAwsCredentials: boolean; awsRegion?: string },
): Target => {
  const region = env.awsRegion || undefined;
  if (options.endpoint !== undefined) {
    const stage = options.stage ?? (stack.running ? stack.state.stage : undefined);
    if (stage === undefined) {
      throw new KeysCommandError('USAGE', `--endpoint needs --stage <name>: there is no running stack to take it from (${stack.running ? '' : stack.reason})`);
    }
    return {
      kind: 'endpoint',
      stage,
      tableName: accountsTableName(stage),
      endpoint: options.endpoint,
      region: region ?? (stack.running ? stack.state.region : 'us-east-1'),
      credentials: options.aws ? 'default' : 'dummy',
    };
  }
  if (options.aws) {
    const stage = options.stage as string; // parseKeysArgs requires --stage with --aws
    return { kind: 'aws', stage, tableName: accountsTableName(stage), ...(region ? { region } : {}), credentials: 'default' };
  }
  if (stack.running) {
    const stage = options.stage ?? stack.state.stage;
    return {
      kind: 'stack',
      stage,
      tableName: accountsTableName(stage),
      endpoint: stack.state.endpoints.dynamodb,
      region: stack.state.region,
      credentials: 'dummy',
    };
  }
  if (options.stage !== undefined) {
    if (env.hasAwsCredentials) {
      return { kind: 'aws', stage: options.stage, tableName: accountsTableName(options.stage), ...(region ? { region } : {}), credentials: 'default' };
    }
    throw new KeysCommandError(
      'NO_TARGET',
      `no running stack (${stack.reason}) and no AWS credentials in the environment; ${NPM_START_HINT}, pass --aws to use the SDK's default credentials, or pass --endpoint <url>`,
    );
  }
  throw new KeysCommandError('NO_TARGET', `no running stack (${stack.reason}); ${NPM_START_HINT} or pass --stage <name> --aws`);
};

const displayPath = (file: string): string => {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
};

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The state file infra/start.ts writes when ready and removes when it stops; a kill -9 leaves it behind. */
export const readStackStatus = (file: string): StackStatus => {
  const shown = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { running: false, file, reason: code === 'ENOENT' ? `${shown} not found` : `${shown} unreadable: ${code ?? String(error)}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { running: false, file, reason: `${shown} is not JSON` };
  }
  const parsed = stackStateSchema.safeParse(json);
  if (!parsed.success) return { running: false, file, reason: `${shown} is not a stack state file` };
  if (!pidAlive(parsed.data.pid)) return { running: false, file, reason: `${shown} is left from pid ${parsed.data.pid}, which is not running` };
  return { running: true, state: parsed.data, file };
};

/** Credentials set in the environment, as the SDK's default chain would find them without files. */
export const hasAwsCredentialsInEnv = (env: NodeJS.ProcessEnv): boolean =>
  Boolean(
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) ||
      env.AWS_PROFILE ||
      env.AWS_WEB_IDENTITY_TOKEN_FILE ||
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
      env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
  );

export const describeTarget = (target: Target): string =>
  target.kind === 'aws'
    ? `table ${target.tableName} on AWS (region ${target.region ?? 'from the SDK config'})`
    : `table ${target.tableName} at ${target.endpoint}${target.kind === 'stack' ? ' (the running stack)' : ''}`;

const documentClientFor = (target: Target): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(
    new DynamoDBClient({
      ...(target.endpoint ? { endpoint: target.endpoint } : {}),
      ...(target.region ? { region: target.region } : {}),
      ...(target.credentials === 'dummy' ? { credentials: dummyCredentials } : {}),
      // A stack that died without removing its state file should fail in seconds, not hang.
      requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 15_000 }),
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );

/** An AWS SDK or network failure as one line that says what to check. */
const explainFailure = (error: unknown, target: Target): string => {
  if (error instanceof ResourceNotFoundException) return `${describeTarget(target)} does not exist (is the stage '${target.stage}' right?)`;
  const err = error as { name?: string; code?: string; message?: string };
  if (err.code === 'ECONNREFUSED' || err.name === 'TimeoutError') return `cannot reach DynamoDB for ${describeTarget(target)}: ${err.message ?? err.code}`;
  if (err.name === 'CredentialsProviderError') return `no AWS credentials for ${describeTarget(target)}: ${err.message}`;
  return `${describeTarget(target)}: ${err.name ?? 'Error'}: ${err.message ?? String(error)}`;
};

/** Runs the command; returns the exit code. Everything it prints goes through `out`. */
export const main = async (argv: string[], env: NodeJS.ProcessEnv, out: KeysOutput): Promise<number> => {
  let target: Target | undefined;
  try {
    const parsed = parseKeysArgs(argv);
    if (parsed.help) {
      out.stdout(USAGE);
      return 0;
    }
    // As infra/start.ts: tests run their own stack beside a developer's, so the state file can be moved.
    const stateFile = env.STACK_STATE_FILE || join(repoRoot, '.data', 'stack.json');
    target = resolveTarget(parsed.target, readStackStatus(stateFile), {
      hasAwsCredentials: hasAwsCredentialsInEnv(env),
      ...(env.AWS_REGION ? { awsRegion: env.AWS_REGION } : {}),
    });
    out.stderr(`keys: ${describeTarget(target)}`);
    const client = documentClientFor(target);
    try {
      await runKeysAction(parsed.action, new AccountsTable(target.tableName, () => client), out);
    } finally {
      client.destroy();
    }
    return 0;
  } catch (error) {
    if (error instanceof KeysCommandError) {
      out.stderr(`keys: ${error.message}`);
      if (error.code === 'USAGE') out.stderr(USAGE);
      return error.exitCode;
    }
    out.stderr(`keys: ${target ? explainFailure(error, target) : String(error)}`);
    return 1;
  }
};

/** Run only as the entry point, so tests can import the parsing and target selection. */
const isEntryPoint = (): boolean => {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(resolve(entry)) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

if (isEntryPoint()) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const out: KeysOutput = {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  };
  void main(process.argv.slice(2), process.env, out).then((code) => {
    process.exitCode = code;
  });
}
