/**
 * `npm run package:sizes [-- <package dir>] [--runs N] [--json <file>]`: what each function deploys and how long it
 * takes to start. Reads the artifacts `serverless package` wrote (packages the `ci` stage into a temporary directory
 * when no directory is given), prints per function the zip's size, the unpacked bundle and source map, and its cold
 * start under plain `node` (no tsx): process start -> `import()` of the bundled handler -> the handler's first answer
 * to a probe event, median of N fresh processes, with the function's own environment from the template (which sets
 * NODE_OPTIONS=--enable-source-maps) and again without that flag, to show what the source maps cost at start.
 *
 * The probe's AWS calls go to a loopback stub that answers every request with an empty JSON object, so the first
 * answer includes building the SDK clients, signing and one HTTP round trip, and nothing of a real store's latency.
 * Lambda's own cold start (fetching the zip, starting the runtime on a Firecracker VM) is not in these figures.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { dummyCredentialEnv } from '../infra/env';
import { isPackageDir, packageService, unpackFunctions, type UnpackedFunction } from '../infra/packaged';

const { values: args, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, json: { type: 'string' } },
  allowPositionals: true,
  strict: true,
});
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${args.runs}`);

const wsEvent = (eventType: 'CONNECT' | 'DISCONNECT' | 'MESSAGE', routeKey: string, body?: string, headers: Record<string, string> = {}) => ({
  requestContext: {
    routeKey,
    eventType,
    connectionId: 'probe-connection=',
    domainName: '127.0.0.1',
    stage: 'probe',
    requestId: 'probe-request',
    messageId: eventType === 'MESSAGE' ? 'probe-message' : undefined,
    connectedAt: Date.now(),
    requestTimeEpoch: Date.now(),
    apiId: 'probe',
  },
  headers,
  multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
  ...(body === undefined ? {} : { body }),
  isBase64Encoded: false,
});
const sqsEvent = (body: string, fifo = false) => ({
  Records: [
    {
      messageId: 'probe-message',
      receiptHandle: 'probe-receipt',
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), ...(fifo ? { MessageGroupId: 'probe' } : {}) },
      messageAttributes: {},
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:probe',
      awsRegion: 'us-east-1',
    },
  ],
});
const order = { side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '1', slippage: 1 };
/** One event per function: a request it answers after at least one store call (the stub's empty answer). */
const PROBES: Record<string, unknown> = {
  connect: wsEvent('CONNECT', '$connect', undefined, { 'x-api-key': 'sk_probe-unknown-key' }),
  disconnect: wsEvent('DISCONNECT', '$disconnect'),
  defaultRoute: wsEvent('MESSAGE', '$default', JSON.stringify({ action: 'nothing' })),
  execute: wsEvent('MESSAGE', 'execute', JSON.stringify({ action: 'execute', ...order, clientOrderId: 'probe' })),
  subscribe: wsEvent('MESSAGE', 'subscribe', JSON.stringify({ action: 'subscribe', orderId: '01JPROBE0000000000000000000' })),
  quote: wsEvent('MESSAGE', 'quote', JSON.stringify({ action: 'quote', ...order })),
  executeOrder: sqsEvent(JSON.stringify({ orderId: '01JPROBE0000000000000000000' })),
  notify: sqsEvent(JSON.stringify({ probe: true }), true),
  sweeper: { resume: true },
  deadLetters: sqsEvent(JSON.stringify({ orderId: '01JPROBE0000000000000000000' })),
};

/** A function this script has no probe event for (a new one) still gets its import timed; its answer is to `{}`. */
const NO_PROBE = {};

/** Runs in a fresh plain-node process: import the bundle, answer the probe, report the instants since process start. */
const DRIVER = `
const t0 = performance.now();
const mod = await import(process.env.PROBE_MODULE_URL);
const t1 = performance.now();
const context = { awsRequestId: 'probe', functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, getRemainingTimeInMillis: () => 5000 };
let answer;
try { answer = await mod.handler(JSON.parse(process.env.PROBE_EVENT), context); } catch (e) { answer = { thrown: String(e) }; }
const t2 = performance.now();
process.stderr.write('probe-result ' + JSON.stringify({ startMs: t0, importMs: t1 - t0, answerMs: t2 - t1, totalMs: t2, answer }) + '\\n');
process.exit(0);
`;

interface Probe {
  startMs: number;
  importMs: number;
  answerMs: number;
  totalMs: number;
  answer: unknown;
}

const probeOnce = (fn: UnpackedFunction, root: string, endpoint: string, sourceMaps: boolean): Promise<Probe> =>
  new Promise((resolveProbe, reject) => {
    const { NODE_OPTIONS: nodeOptions = '', ...environment } = fn.environment;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...environment,
      // What CloudFormation would compute (an API's URL): a placeholder of the same kind.
      ...Object.fromEntries(fn.deployTimeEnvironment.map((k) => [k, 'https://deploy-time.invalid/probe'])),
      ...dummyCredentialEnv(),
      NODE_OPTIONS: sourceMaps ? nodeOptions : nodeOptions.replace('--enable-source-maps', '').trim(),
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_ENDPOINT_URL_SQS: endpoint,
      WS_MGMT_ENDPOINT: endpoint,
      LOG_LEVEL: 'error',
      PROBE_MODULE_URL: pathToFileURL(join(root, fn.module)).href,
      PROBE_EVENT: JSON.stringify(PROBES[fn.key] ?? NO_PROBE),
    };
    const child = spawn(process.execPath, ['--input-type=module', '-e', DRIVER], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stderr.split('\n').find((l) => l.startsWith('probe-result '));
      if (!line) reject(new Error(`${fn.key}: no probe result (exit ${code ?? signal}):\n${stderr.slice(-2000)}`));
      else resolveProbe(JSON.parse(line.slice('probe-result '.length)) as Probe);
    });
  });

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** What the probe's answer was, in a few characters (a status code, the batch failures, a return value). */
const answerOf = (answer: unknown): string => {
  if (answer && typeof answer === 'object') {
    const a = answer as Record<string, unknown>;
    if ('thrown' in a) return `threw ${String(a.thrown).slice(0, 60)}`;
    if ('statusCode' in a) {
      const body = typeof a.body === 'string' ? ` ${a.body.slice(0, 40)}` : '';
      return `${String(a.statusCode)}${body}`;
    }
    if (Array.isArray(a.batchItemFailures)) return `${a.batchItemFailures.length} batch item failure(s)`;
  }
  return JSON.stringify(answer)?.slice(0, 60) ?? String(answer);
};

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KB`;

const main = async (): Promise<void> => {
  const work = mkdtempSync(join(tmpdir(), 'package-sizes-'));
  const stub = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{}');
    });
  });
  try {
    let dir = positionals[0] ? resolve(positionals[0]) : '';
    if (!dir) {
      dir = join(work, 'package');
      process.stderr.write(`packaging the ci stage into ${dir} ...\n`);
      await packageService('ci', dir);
    }
    if (!isPackageDir(dir)) throw new Error(`${dir} holds no serverless package (cloudformation template and serverless-state.json)`);
    const root = join(work, 'task');
    const functions = unpackFunctions(dir, root);
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;

    const rows = [];
    for (const fn of functions) {
      const withMaps: Probe[] = [];
      const withoutMaps: Probe[] = [];
      // Alternated, so a busy moment of the shared machine falls on both columns alike.
      for (let i = 0; i < runs; i++) {
        withMaps.push(await probeOnce(fn, root, endpoint, true));
        withoutMaps.push(await probeOnce(fn, root, endpoint, false));
      }
      const bundle = fn.files.find((f) => f.name === fn.module);
      const map = fn.files.find((f) => f.name === `${fn.module}.map`);
      rows.push({
        function: fn.key,
        zipBytes: fn.artifactBytes,
        files: fn.files.map((f) => f.name),
        bundleBytes: bundle?.bytes ?? 0,
        sourceMapBytes: map?.bytes ?? 0,
        coldStart: {
          runs,
          withSourceMaps: { importMs: median(withMaps.map((p) => p.importMs)), firstAnswerMs: median(withMaps.map((p) => p.totalMs)) },
          withoutSourceMaps: { importMs: median(withoutMaps.map((p) => p.importMs)), firstAnswerMs: median(withoutMaps.map((p) => p.totalMs)) },
          nodeStartMs: median(withMaps.map((p) => p.startMs)),
          answer: `${fn.key in PROBES ? '' : '(no probe event: answer to {}) '}${answerOf(withMaps[0]?.answer)}`,
        },
      });
    }

    const f1 = (n: number): string => n.toFixed(1).padStart(7);
    console.log(`package ${dir} (node ${process.version}; cold start: median of ${runs} fresh processes, ms since process start)`);
    console.log(
      `${'function'.padEnd(13)} ${'zip'.padStart(7)} ${'bundle'.padStart(8)} ${'map'.padStart(8)}   ${'import'.padStart(7)} ${'answer'.padStart(7)}   ${'import'.padStart(7)} ${'answer'.padStart(7)}   probe answer`,
    );
    console.log(`${''.padEnd(13)} ${''.padStart(7)} ${''.padStart(8)} ${''.padStart(8)}   ${'-- with source maps --'.padStart(15)}   ${'-- without --'.padStart(15)}`);
    for (const r of rows) {
      const c = r.coldStart;
      console.log(
        `${r.function.padEnd(13)} ${kb(r.zipBytes).padStart(7)} ${kb(r.bundleBytes).padStart(8)} ${kb(r.sourceMapBytes).padStart(8)}   ${f1(c.withSourceMaps.importMs)} ${f1(c.withSourceMaps.firstAnswerMs)}   ${f1(c.withoutSourceMaps.importMs)} ${f1(c.withoutSourceMaps.firstAnswerMs)}   ${c.answer}`,
      );
    }
    const total = rows.reduce((sum, r) => sum + r.zipBytes, 0);
    console.log(`total of the ${rows.length} zips: ${kb(total)}`);
    if (args.json) writeFileSync(resolve(args.json), `${JSON.stringify({ at: new Date().toISOString(), node: process.version, package: dir, functions: rows }, null, 2)}\n`);
  } finally {
    stub.close();
    rmSync(work, { recursive: true, force: true });
  }
};

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
