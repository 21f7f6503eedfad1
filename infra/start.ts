/**
 * `npm start`: the embedded local runtime. Starts fauxqs (in this process) and DynamoDB Local (JVM), provisions
 * the tables and queues declared in serverless.yml, seeds API keys, runs serverless-offline (WebSocket + Lambda)
 * under supervision and emulates the SQS event source mappings. `--target localstack` uses LocalStack on
 * http://127.0.0.1:4566 for SQS and DynamoDB instead of the embedded emulators.
 *
 * stdout carries exactly one line: `ready ws://127.0.0.1:<wsPort>?apiKey=<dev key> http://127.0.0.1:<httpPort>` (the
 * WebSocket URL, then the HTTP API's base URL, where the web order ticket is served). Everything else is on stderr.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
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
import { type WsEdge, startWsEdge } from './ws-edge';
import { loadServerlessConfig } from './serverless-config';
import { unpackForOffline } from './packaged';
import { buildWebTicket } from './web';

const t0 = Date.now();
const log = createLogger();

const { values: args } = parseArgs({
  options: { target: { type: 'string', default: 'embedded' }, 'in-memory': { type: 'boolean', default: false }, packaged: { type: 'string' } },
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
/*
 * Data lives on disk by default, so a stack that dies (kill -9, OOM, a laptop that sleeps) comes back with every
 * account, key and order: `.data/dynamodb` for DynamoDB Local, `.data/dev-key` for the development key.
 * `--in-memory` (or STACK_IN_MEMORY=true, which the tests and the bench use) keeps nothing.
 */
const inMemory = args['in-memory'] === true || ['1', 'true'].includes(process.env.STACK_IN_MEMORY ?? '');
const dataRoot = resolve(process.env.STACK_DATA_DIR || join(repoRoot, '.data'));
const dataDir = inMemory ? undefined : resolve(process.env.DYNAMODB_DATA_DIR || join(dataRoot, 'dynamodb'));
// Tests run their own stack beside a developer's, so the state file can be moved.
const stateFile = process.env.STACK_STATE_FILE || join(repoRoot, '.data', 'stack.json');
/*
 * `--packaged <dir>` (or STACK_PACKAGED_DIR): the Lambda host runs the artifacts `serverless package --package <dir>`
 * wrote (packaged now when the directory holds none), unpacked into a directory of this run, instead of the sources.
 */
const packagedDir = args.packaged || process.env.STACK_PACKAGED_DIR ? resolve(args.packaged || (process.env.STACK_PACKAGED_DIR as string)) : undefined;
const unpackedRoot = packagedDir ? join(tmpdir(), `engine-packaged-${process.pid}`) : undefined;

// P18: dummy credentials for every SDK client in this process and the children.
process.env.AWS_ACCESS_KEY_ID = dummyCredentials.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = dummyCredentials.secretAccessKey;
process.env.AWS_REGION = region;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let sqsEmulator: SqsEmulator | undefined;
let dynamo: DynamoDbLocal | undefined;
let offline: Offline | undefined;
let poller: EventSourcePoller | undefined;
let edge: WsEdge | undefined;
let shuttingDown = false;
/** Table and queue names by logical id, as provisioned from `serverless print` (the state file's `resources`). */
let resourceNames: Record<string, string> = {};

const writeState = (endpoints: { sqs: string; dynamodb: string; lambda: string; ws: string; http: string }): void => {
  mkdirSync(dirname(stateFile), { recursive: true });
  const state = { pid: process.pid, offlinePid: offline?.pid ?? null, dynamoPid: dynamo?.pid ?? null, target, stage, region, ports, endpoints, resources: resourceNames, packaged: packagedDir ?? null };
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  log.debug(`pids: self ${process.pid}, offline ${offline?.pid ?? '-'}, dynamodb ${dynamo?.pid ?? '-'} (state in ${stateFile})`);
};

/** DEV_API_KEY, else (data on disk) the key kept in `.data/dev-key` so the printed URL survives restarts, else a new one. */
const developmentKey = (): string => {
  if (process.env.DEV_API_KEY) return process.env.DEV_API_KEY;
  if (inMemory) return generateApiKey();
  const keyFile = join(dataRoot, 'dev-key');
  if (existsSync(keyFile)) {
    const kept = readFileSync(keyFile, 'utf8').trim();
    if (kept) return kept;
  }
  const key = generateApiKey();
  mkdirSync(dataRoot, { recursive: true });
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return key;
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
  // Clients first, with 1001, so they hear a planned stop rather than a crash.
  await edge?.stop().catch((e: unknown) => log.warn(`edge stop: ${String(e)}`));
  await poller?.stop({ abandon: true }).catch((e: unknown) => log.warn(`poller stop: ${String(e)}`));
  await offline?.stop().catch((e: unknown) => log.warn(`offline stop: ${String(e)}`));
  await sqsEmulator?.stop().catch((e: unknown) => log.warn(`fauxqs stop: ${String(e)}`));
  await dynamo?.stop().catch((e: unknown) => log.warn(`DynamoDB Local stop: ${String(e)}`));
  if (unpackedRoot) rmSync(unpackedRoot, { recursive: true, force: true });
  rmSync(stateFile, { force: true });
  log.info('stopped');
  process.exit(code);
};

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/**
 * Invokes the limit-order watcher (functions/watcher) until the next minute boundary, where serverless-offline's
 * `rate(1 minute)` schedule takes over: resting orders are watched from the first second rather than the first minute.
 * Not awaited: the invocation runs until then.
 */
const startWatchingNow = (functionName: string | undefined, lambda: LambdaClient): void => {
  if (!functionName) throw new Error('serverless.yml declares no watcher function: limit orders would never trigger');
  const watchUntilMs = Math.ceil((Date.now() + 1) / 60_000) * 60_000;
  const start = async (): Promise<void> => {
    // A host just (re)started may refuse the first invoke: a failed start leaves limit orders unwatched until the minute.
    for (let attempt = 1; ; attempt++) {
      try {
        await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify({ watchUntilMs })) }));
        return;
      } catch (err) {
        if (attempt >= 5 || Date.now() >= watchUntilMs) throw err;
        await sleep(300 * attempt);
      }
    }
  };
  start().catch((err: unknown) => log.warn(`could not start the watcher now (the schedule starts it within a minute): ${err instanceof Error ? err.message : String(err)}`));
};

/** Invokes the sweeper's resume (functions/sweeper): every non-terminal order is enqueued again. */
const resumeOpenOrders = async (functionName: string | undefined, lambda: LambdaClient): Promise<void> => {
  if (!functionName) throw new Error('serverless.yml declares no sweeper function: cannot resume open orders');
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify({ resume: true })) }));
      const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
      if (out.FunctionError) throw new Error(`${out.FunctionError}: ${text.slice(0, 300)}`);
      const requeued = (JSON.parse(text || '{}') as { requeued?: number }).requeued ?? 0;
      log.info(`resumed ${requeued} open order(s) kept from the last run`);
      return;
    } catch (err) {
      if (attempt >= 5) throw new Error(`could not resume open orders: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(300 * attempt);
    }
  }
};

/** EDGE_SEND_BUFFER_BYTES: what may wait for one client before it is cut (infra/ws-edge.ts). */
const sendBufferBytesFromEnv = (): number | undefined => {
  const raw = process.env.EDGE_SEND_BUFFER_BYTES;
  if (raw === undefined || raw === '') return undefined;
  const bytes = Number(raw);
  if (!Number.isInteger(bytes) || bytes < 1024) throw new Error(`EDGE_SEND_BUFFER_BYTES must be an integer >= 1024, got '${raw}'`);
  return bytes;
};

let stateEndpoints: Parameters<typeof writeState>[0] | undefined;

/*
 * DynamoDB Local dying alone (its JVM killed or out of memory) must not leave a stack that hangs: with its data on
 * disk it is restarted on the same port and data (requests meanwhile fail, and the routes answer UNAVAILABLE after
 * their retry budget); in memory its data is gone, so the stack stops loudly rather than serve an empty store.
 */
const superviseDynamo = (d: DynamoDbLocal): void => {
  d.onUnexpectedExit((code, signal) => {
    if (shuttingDown) return;
    const how = signal ?? `code ${code}`;
    if (!dataDir) {
      log.error(`DynamoDB Local (pid ${d.pid}) exited (${how}) and its data was in memory: every order and key is gone; stopping`);
      void shutdown(1);
      return;
    }
    log.error(`DynamoDB Local (pid ${d.pid}) exited unexpectedly (${how}); restarting it on its data in ${dataDir}`);
    dynamo = undefined;
    void (async () => {
      for (let attempt = 1; attempt <= 5 && !shuttingDown; attempt++) {
        try {
          const next = await startDynamoDbLocal({ port: d.port, dataDir, log: log.child('dynamodb') });
          if (shuttingDown) return void (await next.stop());
          dynamo = next;
          superviseDynamo(next);
          if (stateEndpoints) writeState(stateEndpoints);
          log.info(`DynamoDB Local restarted (pid ${next.pid})`);
          return;
        } catch (err) {
          log.error(`DynamoDB Local restart ${attempt} failed: ${err instanceof Error ? err.message : String(err)}`);
          await sleep(500 * attempt);
        }
      }
      if (!shuttingDown) {
        log.error('DynamoDB Local could not be restarted; stopping');
        void shutdown(1);
      }
    })();
  });
};

/*
 * A previous run killed without its children (kill -9 of start.ts alone) can leave serverless-offline or the JVM
 * holding the ports and the data directory. Its state file names them: those that are still alive and are ours (their
 * command line names this checkout or the DynamoDB Local jar) are stopped before this run starts.
 */
const stopLeftovers = async (): Promise<void> => {
  if (!existsSync(stateFile)) return;
  let previous: { pid?: number; offlinePid?: number | null; dynamoPid?: number | null };
  try {
    previous = JSON.parse(readFileSync(stateFile, 'utf8')) as typeof previous;
  } catch {
    return;
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (previous.pid && previous.pid !== process.pid && alive(previous.pid)) {
    throw new Error(`another stack (pid ${previous.pid}) is running with state file ${stateFile}; stop it first`);
  }
  const stopped: string[] = [];
  for (const [what, pid] of [['serverless-offline', previous.offlinePid], ['DynamoDB Local', previous.dynamoPid]] as const) {
    if (!pid || !alive(pid)) continue;
    let commandLine = '';
    try {
      commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    // A PID the system gave to something else since is left alone: only our own command lines are stopped.
    if (commandLine.includes(repoRoot) || commandLine.includes('DynamoDBLocal.jar')) {
      process.kill(pid, 'SIGKILL');
      for (let waited = 0; alive(pid) && waited < 5_000; waited += 50) await sleep(50);
      stopped.push(`${what} (pid ${pid})`);
    }
  }
  if (stopped.length > 0) log.warn(`stopped ${stopped.join(' and ')} left over from a previous run killed without its children (${stateFile})`);
};

const main = async (): Promise<void> => {
  await stopLeftovers();
  // The web order ticket's page and bundle (web/), beside the state file: each stack serves its own build.
  const webDir = join(dirname(stateFile), 'web');
  const webBuilt = buildWebTicket(webDir).then(() => log.info(`web ticket built in ${webDir}`));
  webBuilt.catch(() => undefined); // awaited below
  // `serverless print` (~1 s) runs while the emulators start.
  const portEnv = { OFFLINE_WS_PORT: String(ports.offlineWs), HTTP_PORT: String(ports.http), LAMBDA_PORT: String(ports.lambda) };
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
    // Both bind 127.0.0.1 only (DynamoDB Local through its loopback launcher, infra/java/LoopbackDynamoDbLocal.java).
    [sqsEmulator, dynamo] = await Promise.all([
      startSqsEmulator({ port: ports.sqs, region }),
      startDynamoDbLocal({ port: ports.dynamodb, log: log.child('dynamodb'), ...(dataDir ? { dataDir } : {}) }),
    ]);
    sqsEndpoint = sqsEmulator.endpoint;
    dynamoEndpoint = dynamo.endpoint;
    superviseDynamo(dynamo);
    log.info(`emulators up in ${Date.now() - t0} ms: SQS ${sqsEndpoint}, DynamoDB ${dynamoEndpoint} (pid ${dynamo.pid})`);
  }

  const config = await configPromise;
  const provisioned = await provision(config, { dynamoEndpoint, sqsEndpoint, region, log: log.child('provision') });
  resourceNames = Object.fromEntries(Object.entries(provisioned).map(([logicalId, resource]) => [logicalId, resource.name]));
  log.info(`provisioned ${Object.keys(provisioned).length} tables/queues in ${Date.now() - t0} ms`);

  // Seed API keys (stored hashed, PROTOCOL.md "Access").
  const accountsTable = config.provider.environment?.ACCOUNTS_TABLE;
  if (!accountsTable) throw new Error('provider.environment.ACCOUNTS_TABLE missing from serverless.yml');
  const devKey = developmentKey();
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

  await webBuilt;

  const offlineOptions: OfflineOptions = {
    env: { WS_PUBLIC_URL: `ws://127.0.0.1:${ports.ws}`, WEB_ASSETS_DIR: webDir },
    stage,
    region,
    sqsEndpoint,
    dynamoEndpoint,
    wsPort: ports.offlineWs,
    httpPort: ports.http,
    lambdaPort: ports.lambda,
    log: log.child('offline'),
  };
  if (packagedDir && unpackedRoot) {
    const unpacked = await unpackForOffline(packagedDir, stage, unpackedRoot);
    offlineOptions.location = unpackedRoot;
    log.info(`packaged mode: ${unpacked.length} functions run the bundles of ${packagedDir} (unpacked in ${unpackedRoot})`);
  }
  const endpoints = {
    sqs: sqsEndpoint,
    dynamodb: dynamoEndpoint,
    lambda: `http://127.0.0.1:${ports.lambda}`,
    ws: `ws://127.0.0.1:${ports.ws}`,
    http: `http://127.0.0.1:${ports.http}`,
  };

  const lambda = new LambdaClient({
    endpoint: endpoints.lambda,
    region,
    credentials: dummyCredentials,
    maxAttempts: 1,
  });

  // Supervision: an unexpected exit of serverless-offline (crash, kill -9) is logged and it is restarted; the
  // emulators and the poller keep running (invocations fail meanwhile and their messages stay on the queue). The
  // watcher's invocation died with the host: it is started again with it, or resting limit orders (among them those
  // whose interrupted attempt went back to `open`) would wait for the schedule's next minute to trigger or expire.
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
            startWatchingNow(config.functions.watcher?.name, lambda);
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
  edge = await startWsEdge({
    port: ports.ws,
    upstreamPort: ports.offlineWs,
    sendBufferBytes: sendBufferBytesFromEnv(),
    log: log.child('edge'),
  });

  /*
   * Bench only (`npm run bench -- --hold-executions S`): each executeOrder invocation waits this long before it is
   * made, so a burst's placements are measured without the executions of its first orders beside them.
   */
  const holdExecutionsMs = Number(process.env.POLLER_HOLD_EXECUTIONS_MS || 0);
  const executeOrderName = config.functions.executeOrder?.name;
  const invoke: Invoke = async (functionName, event) => {
    if (holdExecutionsMs > 0 && functionName === executeOrderName) await new Promise((resolve) => setTimeout(resolve, holdExecutionsMs));
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

  // Data kept from an earlier run: its queues were in memory, so every non-terminal order is taken up again now.
  if (dataDir) await resumeOpenOrders(config.functions.sweeper?.name, lambda);
  // The watcher's schedule first fires at the next minute boundary: until then, one invocation watches from now.
  startWatchingNow(config.functions.watcher?.name, lambda);

  // Ready only when every part answers.
  const sqsClient = new SQSClient({ endpoint: sqsEndpoint, region, credentials: dummyCredentials, useQueueUrlAsEndpoint: false });
  await Promise.all([
    sqsClient.send(new ListQueuesCommand({})),
    ddb.send(new ListTablesCommand({})),
    waitForTcp(ports.ws, 10_000).then((ok) => ok || Promise.reject(new Error(`ws port ${ports.ws} not answering`))),
    waitForTcp(ports.lambda, 10_000).then((ok) => ok || Promise.reject(new Error(`lambda port ${ports.lambda} not answering`))),
    waitForTcp(ports.http, 10_000).then((ok) => ok || Promise.reject(new Error(`http port ${ports.http} not answering`))),
  ]);
  sqsClient.destroy();
  stateEndpoints = endpoints;
  writeState(endpoints);
  log.info(`ready in ${Date.now() - t0} ms`);
  process.stdout.write(`ready ws://127.0.0.1:${ports.ws}?apiKey=${devKey} ${endpoints.http}\n`);
};

main().catch((err: unknown) => {
  log.error(`start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  void shutdown(1);
});
