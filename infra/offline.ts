import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stripVTControlCharacters } from 'node:util';
import { killOnExit, terminate } from './emulators';
import { dummyCredentialEnv, repoRoot, waitForTcp } from './env';
import { type Logger, silentLogger } from './log';

/** Variables passed through from our environment to the handlers (besides the ones set below). */
const PASS_THROUGH = [/^MOCK_/, /^PRIORITY_FEE_/, /^EXECUTION_/, /^RETRY_/, /^EXECUTE_BATCH_SIZE$/, /^ORDERS_VISIBILITY_TIMEOUT_SECONDS$/, /^LOG_LEVEL$/, /^LIMIT_/, /^ROUTE_STORE_CONCURRENCY$/, /^AWS_CALL_STATS_INTERVAL_MS$/];

export interface OfflineOptions {
  stage: string;
  region: string;
  sqsEndpoint: string;
  dynamoEndpoint: string;
  wsPort: number;
  httpPort: number;
  lambdaPort: number;
  /**
   * Where the handlers' code is (serverless-offline's `location`): the unpacked artifacts of `serverless package` in the
   * packaged mode (infra/start.ts --packaged); by default the repository, whose TypeScript handlers run through tsx.
   */
  location?: string;
  /** Extra environment (overrides). */
  env?: Record<string, string | undefined>;
  log?: Logger;
  readyTimeoutMs?: number;
}

export interface Offline {
  pid: number;
  stop(): Promise<void>;
  /** Called once when the process exits, whatever the reason (code, signal). */
  onExit(cb: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

/** Environment for serverless-offline: base PATH etc., pass-through vars, dummy credentials and the endpoints. */
export const offlineEnv = (o: OfflineOptions, source: NodeJS.ProcessEnv = process.env): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'NODE_OPTIONS', 'TERM', 'JAVA_HOME']) {
    const v = source[k];
    if (v !== undefined) env[k] = v;
  }
  for (const [k, v] of Object.entries(source)) if (v !== undefined && PASS_THROUGH.some((re) => re.test(k))) env[k] = v;
  Object.assign(env, dummyCredentialEnv(), {
    AWS_REGION: o.region,
    AWS_DEFAULT_REGION: o.region,
    AWS_ENDPOINT_URL_SQS: o.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: o.dynamoEndpoint,
    WS_MGMT_ENDPOINT: `http://127.0.0.1:${o.wsPort}`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    OFFLINE_WS_PORT: String(o.wsPort),
    HTTP_PORT: String(o.httpPort),
    LAMBDA_PORT: String(o.lambdaPort),
    STAGE: o.stage,
    ...(o.location ? { OFFLINE_LOCATION: o.location } : {}),
    /*
     * Every Lambda shares this one process: up to 10 x 50 records at once, each with its own DynamoDB and SQS calls,
     * and every open socket costs DynamoDB Local a thread. Measured with the realistic bench at batch 50: 256 sockets,
     * JVM at about 300 MB; 16, requests queued for a socket long enough to hit the SDK's connection timeout (which
     * counts that wait) and their orders came back only after the 180 s visibility timeout; 64, about 250 MB and none.
     */
    AWS_MAX_SOCKETS: source.AWS_MAX_SOCKETS ?? '64',
    /*
     * The framework's own log level. At its default (notice) serverless-offline writes a line per invocation and per
     * WebSocket message, which this process then reads and drops unless LOG_LEVEL is debug: CPU on both sides of the
     * pipe for every order. OFFLINE_LOG_LEVEL=notice brings them back (the bench reads the per-invocation Duration lines).
     */
    SLS_LOG_LEVEL: source.OFFLINE_LOG_LEVEL ?? (source.LOG_LEVEL === 'debug' ? 'notice' : 'warning'),
  });
  for (const [k, v] of Object.entries(o.env ?? {})) if (v !== undefined) env[k] = v;
  return env;
};

/**
 * Node flags for the offline process; OFFLINE_NODE_ARGS replaces them (e.g. `--cpu-prof`, which NODE_OPTIONS refuses).
 * The old-space cap makes V8 collect before it grows: offline's peak RSS under the bench went from about 330 MB to
 * about 245 MB for a few percent more CPU. Lambda gives each function its own 512 MB; here all of them share this.
 */
const DEFAULT_OFFLINE_NODE_ARGS = '--max-old-space-size=160';
const nodeArgs = (): string[] => (process.env.OFFLINE_NODE_ARGS ?? DEFAULT_OFFLINE_NODE_ARGS).split(/\s+/).filter(Boolean);

/**
 * Each function's handler loaded once, as AWS does per execution environment, not on every invocation
 * (infra/offline-handler-cache.cjs says why and what it saves); OFFLINE_HANDLER_CACHE=off loads it on every
 * invocation, as serverless-offline does by itself. It was off by default while tests/e2e/limit-trigger-crash.test.ts
 * failed with it on (re-triggers 18-30 s after the market was back); that test measured from market touches shorter
 * than the watcher's tick, which the watcher may rightly miss, and now measures from a lasting reach
 * (tests/support/market-crossing.ts).
 */
const handlerCacheArgs = (): string[] => (process.env.OFFLINE_HANDLER_CACHE === 'off' ? [] : ['--require', join(repoRoot, 'infra', 'offline-handler-cache.cjs')]);

const looksBad = /\b(error|warn|warning|exception|unhandled|failed)\b/i;

/**
 * Spawns `serverless offline start --useInProcess` directly with node (not npm/npx: P11, so the PID is the real
 * process) and resolves once it printed "listening on ...:<wsPort>" (on stderr, P11) and the WebSocket and Lambda
 * ports accept TCP.
 */
export const startOffline = async (o: OfflineOptions): Promise<Offline> => {
  const log = o.log ?? silentLogger;
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs(), ...handlerCacheArgs(), join(repoRoot, 'node_modules', '.bin', 'serverless'), 'offline', 'start', '--useInProcess', '--stage', o.stage],
    // In the stack's process group (not detached), so a kill of the whole group leaves no orphan behind.
    { cwd: repoRoot, env: offlineEnv(o), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (child.pid === undefined) {
    const err = await new Promise<Error>((r) => child.once('error', r));
    throw new Error(`could not spawn serverless offline: ${err.message}`);
  }
  const pid = child.pid;
  const unregister = killOnExit(pid);
  const exitCallbacks: Array<(code: number | null, signal: NodeJS.Signals | null) => void> = [];
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => {
    exitInfo = { code, signal };
    unregister();
    for (const cb of exitCallbacks) cb(code, signal);
  });

  let listening = false;
  let tail: string[] = [];
  const listenRe = new RegExp(`listening on .*:${o.wsPort}\\b`, 'i');
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (raw) => {
      const line = stripVTControlCharacters(raw);
      if (!line.trim()) return;
      tail = [...tail.slice(-30), line];
      if (listenRe.test(line)) listening = true;
      if (line.includes('"aws call counts"')) log.info(line);
      // CloudWatch EMF documents (lib/metrics.ts): metrics on AWS, one line per order here (an outcome `failed` is no warning).
      else if (line.startsWith('{"') && line.includes('"_aws":{')) log.debug(line);
      else if (looksBad.test(line)) log.warn(line);
      else log.debug(line);
    });
  }

  const stop = async (): Promise<void> => {
    await terminate(child, 'SIGINT', 3000);
    unregister();
  };

  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  // At SLS_LOG_LEVEL warning the "listening" line is not printed: the WebSocket port accepting connections also counts.
  while (!listening && !(await waitForTcp(o.wsPort, 25))) {
    if (exitInfo) throw new Error(`serverless offline exited during start (${exitInfo.code ?? exitInfo.signal}):\n${tail.join('\n')}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`serverless offline did not start listening on ${o.wsPort}:\n${tail.join('\n')}`);
    }
  }
  const remaining = Math.max(deadline - Date.now(), 1000);
  if (!(await waitForTcp(o.wsPort, remaining)) || !(await waitForTcp(o.lambdaPort, remaining))) {
    await stop();
    throw new Error(`serverless offline ports ${o.wsPort}/${o.lambdaPort} do not accept connections`);
  }
  return {
    pid,
    stop,
    onExit: (cb) => {
      if (exitInfo) cb(exitInfo.code, exitInfo.signal);
      else exitCallbacks.push(cb);
    },
  };
};
