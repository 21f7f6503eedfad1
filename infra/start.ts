/**
 * `npm start`: the embedded local runtime. Starts fauxqs (in this process) and DynamoDB Local (JVM), provisions
 * the tables and queues declared in serverless.yml, seeds API keys, runs serverless-offline (WebSocket + Lambda)
 * under supervision and emulates the SQS event source mappings. `--target localstack` uses LocalStack on
 * http://127.0.0.1:4566 for SQS and DynamoDB instead of the embedded emulators.
 *
 * stdout carries exactly one line: `ready ws://127.0.0.1:<wsPort>?apiKey=<dev key>`. Everything else is on stderr.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { generateApiKey, hashApiKey } from '../lib/accounts/api-key';
import { type DynamoDbLocal, type SqsEmulator, startDynamoDbLocal, startSqsEmulator } from './emulators';
import { dummyCredentials, portsFromEnv, repoRoot, sleep, waitForTcp } from './env';
import { type EventSourcePoller, type Invoke, mappingsFromConfig, startEventSourcePoller } from './event-source-poller';
import { createLogger } from './log';
import { type Offline, type OfflineOptions, startOffline } from './offline';
import { provision } from './provision';
import { loadServerlessConfig } from './serverless-config';

const t0 = Date.now();
const log = createLogger();

const { values: args } = parseArgs({
  options: { target: { type: 'string', default: 'embedded' } },
  strict: true,
});
const target = args.target;
if (target !== 'embedded' && target !== 'localstack') {
  log.error(`--target must be embedded or localstack, got '${String(target)}'`);
  process.exit(2);
}

const stage = process.env.STAGE || 'dev';
const region = target === 'localstack' ? 'us-east-1' : process.env.AWS_REGION || 'us-east-1';
const ports = portsFromEnv();
const dataDir = process.env.DYNAMODB_DATA_DIR || undefined;
// Tests run their own stack beside a developer's, so the state file can be moved.
const stateFile = process.env.STACK_STATE_FILE || join(repoRoot, '.data', 'stack.json');

// P18: dummy credentials for every SDK client in this process and the children.
process.env.AWS_ACCESS_KEY_ID = dummyCredentials.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = dummyCredentials.secretAccessKey;
process.env.AWS_REGION = region;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let sqsEmulator: SqsEmulator | undefined;
let dynamo: DynamoDbLocal | undefined;
let offline: Offline | undefined;
let poller: EventSourcePoller | undefined;
let shuttingDown = false;

const writeState = (endpoints: { sqs: string; dynamodb: string; lambda: string; ws: string }): void => {
  mkdirSync(dirname(stateFile), { recursive: true });
  const state = { pid: process.pid, offlinePid: offline?.pid ?? null, dynamoPid: dynamo?.pid ?? null, target, stage, region, ports, endpoints };
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  log.debug(`pids: self ${process.pid}, offline ${offline?.pid ?? '-'}, dynamodb ${dynamo?.pid ?? '-'} (state in ${stateFile})`);
};

const shutdown = async (code: number): Promise<never> => {
  if (shuttingDown) return new Promise<never>(() => undefined);
  shuttingDown = true;
  log.info('shutting down');
  const force = setTimeout(() => {
    log.error('shutdown took too long, exiting (children are SIGKILLed on exit)');
    process.exit(code || 1);
  }, 15_000);
  force.unref();
  await poller?.stop({ abandon: true }).catch((e: unknown) => log.warn(`poller stop: ${String(e)}`));
  await offline?.stop().catch((e: unknown) => log.warn(`offline stop: ${String(e)}`));
  await sqsEmulator?.stop().catch((e: unknown) => log.warn(`fauxqs stop: ${String(e)}`));
  await dynamo?.stop().catch((e: unknown) => log.warn(`DynamoDB Local stop: ${String(e)}`));
  rmSync(stateFile, { force: true });
  log.info('stopped');
  process.exit(code);
};

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

const main = async (): Promise<void> => {
  // `serverless print` (~1 s) runs while the emulators start.
  const portEnv = { WS_PORT: String(ports.ws), HTTP_PORT: String(ports.http), LAMBDA_PORT: String(ports.lambda) };
  const configPromise = loadServerlessConfig({ stage, env: portEnv });
  configPromise.catch(() => undefined); // awaited below; avoid an unhandled rejection while emulators start
  let sqsEndpoint: string;
  let dynamoEndpoint: string;
  if (target === 'localstack') {
    sqsEndpoint = dynamoEndpoint = process.env.LOCALSTACK_ENDPOINT || 'http://127.0.0.1:4566';
    log.info(`target localstack: SQS and DynamoDB at ${sqsEndpoint}`);
    const port = Number(new URL(sqsEndpoint).port || 80);
    if (!(await waitForTcp(port, 3000, new URL(sqsEndpoint).hostname))) {
      throw new Error(`LocalStack is not answering at ${sqsEndpoint}: run \`docker compose -f localstack-compose.yml up -d\` first`);
    }
  } else {
    // P12: DynamoDB Local binds all interfaces (no host option); fauxqs binds 127.0.0.1 only.
    [sqsEmulator, dynamo] = await Promise.all([
      startSqsEmulator({ port: ports.sqs, region }),
      startDynamoDbLocal({ port: ports.dynamodb, log: log.child('dynamodb'), ...(dataDir ? { dataDir } : {}) }),
    ]);
    sqsEndpoint = sqsEmulator.endpoint;
    dynamoEndpoint = dynamo.endpoint;
    log.info(`emulators up in ${Date.now() - t0} ms: SQS ${sqsEndpoint}, DynamoDB ${dynamoEndpoint} (pid ${dynamo.pid})`);
  }

  const config = await configPromise;
  const provisioned = await provision(config, { dynamoEndpoint, sqsEndpoint, region, log: log.child('provision') });
  log.info(`provisioned ${Object.keys(provisioned).length} tables/queues in ${Date.now() - t0} ms`);

  // Seed API keys (stored hashed, PROTOCOL.md "Access").
  const accountsTable = config.provider.environment?.ACCOUNTS_TABLE;
  if (!accountsTable) throw new Error('provider.environment.ACCOUNTS_TABLE missing from serverless.yml');
  const devKey = process.env.DEV_API_KEY || generateApiKey();
  const seeds: Array<[string, string]> = [['dev', devKey]];
  for (const pair of (process.env.SEED_API_KEYS ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = pair.indexOf(':');
    if (i <= 0 || i === pair.length - 1) throw new Error(`SEED_API_KEYS entry '${pair}' is not accountId:key`);
    seeds.push([pair.slice(0, i), pair.slice(i + 1)]);
  }
  const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials: dummyCredentials }));
  const createdAt = new Date().toISOString();
  await Promise.all(
    seeds.map(([accountId, key]) =>
      ddb.send(
        new PutCommand({
          TableName: accountsTable,
          Item: { apiKeyHash: hashApiKey(key), accountId, label: `local ${accountId}`, createdAt },
        }),
      ),
    ),
  );
  log.info(`seeded ${seeds.length} API key(s): ${seeds.map(([a]) => a).join(', ')}`);

  const offlineOptions: OfflineOptions = {
    stage,
    region,
    sqsEndpoint,
    dynamoEndpoint,
    wsPort: ports.ws,
    httpPort: ports.http,
    lambdaPort: ports.lambda,
    log: log.child('offline'),
  };
  const endpoints = {
    sqs: sqsEndpoint,
    dynamodb: dynamoEndpoint,
    lambda: `http://127.0.0.1:${ports.lambda}`,
    ws: `ws://127.0.0.1:${ports.ws}`,
  };

  // Supervision: an unexpected exit of serverless-offline (crash, kill -9) is logged and it is restarted; the
  // emulators and the poller keep running (invocations fail meanwhile and their messages stay on the queue).
  let restarts = 0;
  const supervise = (o: Offline): void => {
    o.onExit((code, signal) => {
      if (shuttingDown) return;
      log.error(`serverless offline (pid ${o.pid}) exited unexpectedly (${signal ?? `code ${code}`}); restarting`);
      offline = undefined;
      const attempt = async (): Promise<void> => {
        while (!shuttingDown) {
          await sleep(Math.min(250 * 2 ** Math.min(restarts, 5), 5000));
          restarts++;
          if (shuttingDown) return;
          try {
            const next = await startOffline(offlineOptions);
            if (shuttingDown) {
              await next.stop();
              return;
            }
            offline = next;
            restarts = 0;
            writeState(endpoints);
            log.info(`serverless offline restarted (pid ${next.pid})`);
            supervise(next);
            return;
          } catch (err) {
            log.error(`restart failed: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      };
      void attempt();
    });
  };
  offline = await startOffline(offlineOptions);
  supervise(offline);

  const lambda = new LambdaClient({
    endpoint: endpoints.lambda,
    region,
    credentials: dummyCredentials,
    maxAttempts: 1,
  });
  const invoke: Invoke = async (functionName, event) => {
    try {
      const out = await lambda.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(event)) }),
      );
      const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
      if (out.FunctionError) return { ok: false, error: `${out.FunctionError}: ${text.slice(0, 500)}` };
      let response: unknown = null;
      if (text) {
        try {
          response = JSON.parse(text);
        } catch {
          response = text; // not JSON: a malformed partial batch response
        }
      }
      return { ok: true, response };
    } catch (err) {
      // The request failed before an answer came back (refused while the host restarts, a keep-alive socket reset).
      return { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), transport: true };
    }
  };
  const mappings = mappingsFromConfig(config, provisioned);
  poller = startEventSourcePoller({ sqsEndpoint, region, mappings, invoke, log: log.child('esm') });
  // For the bench: the poller's own counts. Invocations at once are counted where they are made, not rebuilt from logs.
  const statsEveryMs = Number(process.env.POLLER_STATS_INTERVAL_MS || 0);
  if (statsEveryMs > 0) setInterval(() => log.info(`poller stats ${JSON.stringify(poller?.stats() ?? {})}`), statsEveryMs).unref();
  log.info(
    `event source mappings: ${mappings.map((m) => `${m.queueArn.split(':').at(-1)} -> ${m.functionName}`).join(', ')}`,
  );

  // Ready only when every part answers.
  const sqsClient = new SQSClient({ endpoint: sqsEndpoint, region, credentials: dummyCredentials, useQueueUrlAsEndpoint: false });
  await Promise.all([
    sqsClient.send(new ListQueuesCommand({})),
    ddb.send(new ListTablesCommand({})),
    waitForTcp(ports.ws, 10_000).then((ok) => ok || Promise.reject(new Error(`ws port ${ports.ws} not answering`))),
    waitForTcp(ports.lambda, 10_000).then((ok) => ok || Promise.reject(new Error(`lambda port ${ports.lambda} not answering`))),
  ]);
  sqsClient.destroy();
  writeState(endpoints);
  log.info(`ready in ${Date.now() - t0} ms`);
  process.stdout.write(`ready ws://127.0.0.1:${ports.ws}?apiKey=${devKey}\n`);
};

main().catch((err: unknown) => {
  log.error(`start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  void shutdown(1);
});
