/**
 * `npm run bench`: the engine end to end, as a trading client feels it (issue 6).
 *
 *   npm run bench                                   realistic, closed loop, 200 connections x 5 orders
 *   npm run bench -- --profile zero --connections 100 --orders-per-connection 5
 *   npm run bench -- --mode open --rate 40 --duration 20
 *   npm run bench -- --sweep                        C in {1, 10, 50, 200}, one stack
 *   npm run bench -- --mode burst --orders 100 --connections 100 [--accounts A] [--bursts K]
 *   npm run bench -- --mode flood [--flood-rate 500] [--duration 10] [--flood-connections 4]
 *   WS_URL=ws://127.0.0.1:3001 API_KEY=... npm run bench   an already running stack (no process figures)
 *
 * Modes (all after the same warm-up, `--no-warmup` skips it):
 * - closed: each of C connections keeps one order in flight, K orders each; open: R orders/s for S s, round-robin.
 * - burst (issue 10): C connections over A seeded accounts (default min(C, 10)), all open before anything is sent;
 *   then N `execute` at once (round-robin, unique clientOrderIds), drained until every order is terminal or refused;
 *   repeated K times (`--bursts`) on the same connections. Per burst: acked, refused per error code (error frames
 *   echo clientOrderId; retryAfterMs), no answer within --order-timeout, ack and end-to-end latency, terminal,
 *   frames lost / out of order, the stack's CPU seconds per order (utime+stime of its whole process tree over the
 *   burst and its drain, / N) and peak RSS.
 * - flood (issue 10): accounts "victim" and "flooder". An idle phase (the victim alone, 1 order / 100 ms on one
 *   connection for S s), then the same while the flooder offers R `execute`/s over F connections, ignoring every
 *   answer. Reports the victim's ack latency in both phases and the flooder's outcomes per code; works whether or not
 *   the engine ever answers RATE_LIMITED.
 *
 * Starts the embedded stack itself (infra/start.ts, STAGE=bench, free ports, its own process group) unless WS_URL
 * and API_KEY are set; stops it (SIGINT to the group, SIGKILL after 10 s) on exit, error or Ctrl-C. Prints a table
 * and writes bench/results/<timestamp>.json. Targets are printed with PASS/MISS, never asserted (a MISS does not
 * change the exit code).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../infra/env';
import { type BurstResult, type FloodPhaseResult, GATEWAY_INTERNAL, openBurstClient, type LoadResult, type Outcomes, PRIORITY_FEE, runFloodPhase, runLoad } from './support/load';
import { chainFloor } from './support/chain-floor';
import { mockProfile } from '../lib/chain/profile';
import { PRIORITY_FEE_DEFAULTS } from '../lib/config';
import type { PriorityFeePolicy } from '../lib/orders/request';
import { type Invocation, type Sampler, type StartedStack, startSampler, startStack } from './support/stack';
import { dist, fmt, table } from './support/stats';
import { callsBetween, costPerMillionOrders, formatCost, type CostPerMillion } from './cost';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', short: 'c' },
    'orders-per-connection': { type: 'string', short: 'k' },
    orders: { type: 'string', short: 'n' },
    profile: { type: 'string' },
    mode: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    bursts: { type: 'string' },
    'flood-rate': { type: 'string' },
    'flood-connections': { type: 'string' },
    'victim-interval-ms': { type: 'string' },
    sweep: { type: 'boolean', default: false },
    accounts: { type: 'string' },
    'batch-size': { type: 'string' },
    'execution-concurrency': { type: 'string' },
    'batching-window': { type: 'string' },
    drain: { type: 'string' },
    'order-timeout': { type: 'string' },
    'load-timeout': { type: 'string' },
    verbose: { type: 'boolean', default: false },
    'no-warmup': { type: 'boolean', default: false },
    warmup: { type: 'string' },
    'jvm-opts': { type: 'string' },
    'hold-executions': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(
    `npm run bench -- [--profile zero|fast|realistic] [--mode closed|open] [--connections C] [--orders-per-connection K | --orders N]
                  [--rate R --duration S] [--sweep] [--accounts A] [--batch-size B] [--batching-window S] [--execution-concurrency X]
                  [--drain S] [--order-timeout S] [--load-timeout S] [--warmup K] [--no-warmup] [--jvm-opts '...'] [--verbose]
                  [--hold-executions S]: every executeOrder invocation waits S s first (a burst's placements measured alone)
npm run bench -- --mode burst [--orders N] [--connections C] [--accounts A] [--bursts K] [--profile ...] [stack flags as above]
                  N orders at once (default 100) round-robin over C connections (default 100) spread over A accounts
                  (default min(C, 10)), all open first; K bursts (default 1), each drained before the next.
                  --order-timeout S: a request with no pending/error frame after S s counts as "no answer" (15, realistic 40)
                  --drain S: how long acked orders are waited for to be terminal (60, realistic 200; ends when all are)
npm run bench -- --mode flood [--flood-rate R] [--duration S] [--flood-connections F] [--victim-interval-ms V] [--profile ...]
                  idle phase: account "victim" sends 1 order / 100 ms on 1 connection for S s (default 10); then the same
                  while account "flooder" offers R execute/s (default 500) over F connections (default 4), ignoring answers.
                  --drain S: how long the idle phase's orders are waited for (15, realistic 30)
closed/open: --order-timeout is how long a closed-loop connection waits for one order; --drain 15 s (realistic 200).
Targets are printed PASS/MISS, never asserted: the exit code is 0 unless the bench itself fails.
env: WS_URL + API_KEY target a running stack (flood: BENCH_VICTIM_API_KEY for the victim's account); MOCK_PROFILE,
     BENCH_CONNECTIONS, BENCH_ORDERS_PER_CONNECTION, BENCH_ORDERS, BENCH_BURSTS, BENCH_FLOOD_RATE, EXECUTE_BATCH_SIZE,
     EXECUTION_CONCURRENCY are read as defaults.\n`,
  );
  process.exit(0);
}

const num = (flag: string | undefined, envName: string, fallback: number): number => {
  const raw = flag ?? process.env[envName];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${envName.toLowerCase()}: expected a positive number, got '${raw}'`);
  return n;
};

const profile = args.profile ?? process.env.MOCK_PROFILE ?? 'realistic';
if (!['zero', 'fast', 'realistic', 'congested'].includes(profile)) throw new Error(`--profile must be zero, fast, realistic or congested, got '${profile}'`);
const mode = (args.mode ?? process.env.BENCH_MODE ?? 'closed') as 'closed' | 'open' | 'burst' | 'flood';
if (!['closed', 'open', 'burst', 'flood'].includes(mode)) throw new Error(`--mode must be closed, open, burst or flood, got '${String(mode)}'`);
if (args.sweep && (mode === 'burst' || mode === 'flood')) throw new Error(`--sweep is for --mode closed|open, not ${mode}`);
const connections = Math.round(num(args.connections, 'BENCH_CONNECTIONS', mode === 'burst' ? 100 : 200));
let ordersPerConnection = Math.round(num(args['orders-per-connection'], 'BENCH_ORDERS_PER_CONNECTION', 5));
if (args.orders && mode !== 'burst') ordersPerConnection = Math.max(1, Math.ceil(num(args.orders, 'BENCH_ORDERS', 1000) / connections));
const rate = num(args.rate, 'BENCH_RATE', 30);
const durationS = num(args.duration, 'BENCH_DURATION', mode === 'flood' ? 10 : 20);
// burst: N orders at once, K times; flood: the flooder's offered rate and connections.
const burstOrders = Math.round(num(args.orders, 'BENCH_ORDERS', 100));
const bursts = Math.round(num(args.bursts, 'BENCH_BURSTS', 1));
const floodRate = num(args['flood-rate'], 'BENCH_FLOOD_RATE', 500);
const floodConnections = Math.round(num(args['flood-connections'], 'BENCH_FLOOD_CONNECTIONS', 4));
// flood: how often the victim sends an order (its own rate must fit the stack beside the flooder's admitted rate).
const VICTIM_INTERVAL_MS = Math.round(num(args['victim-interval-ms'], 'BENCH_VICTIM_INTERVAL_MS', 100));
const accounts = Math.round(num(args.accounts, 'BENCH_ACCOUNTS', mode === 'burst' ? Math.min(connections, 10) : 10));
// Realistic: long enough for an order whose transaction never lands to wait out its blockhash (150 blocks, 60-90 s)
// twice and be retried: 1 % of transactions never land, so 1 order in 10,000 loses two, and a 1000-order run meets
// one about every tenth time. The drain ends as soon as every order is terminal. A burst of N at once takes N / the
// pipeline's rate to drain (about 45/s in zero): 60 s. Flood: how long the idle phase's orders are waited for.
/** The realistic and congested chains take seconds per order (and minutes for a blockhash to expire). */
const slowChain = profile === 'realistic' || profile === 'congested';
const defaultDrainS = mode === 'burst' ? (slowChain ? 200 : 60) : mode === 'flood' ? (slowChain ? 30 : 15) : slowChain ? 200 : 15;
const drainMs = num(args.drain, 'BENCH_DRAIN', defaultDrainS) * 1000;
const orderTimeoutMs = num(args['order-timeout'], 'BENCH_ORDER_TIMEOUT', slowChain ? 40 : 15) * 1000;
// Realistic closed loop: a connection whose order waits out a blockhash (60-90 s) still has to send the rest.
const loadTimeoutMs = num(args['load-timeout'], 'BENCH_LOAD_TIMEOUT', slowChain ? 200 : 100) * 1000;
const sweepSizes = [1, 10, 50, 200];
if (connections > 1000 || ordersPerConnection * connections > 20_000 || rate * durationS > 20_000 || (mode === 'burst' && burstOrders * bursts > 20_000) || (mode === 'flood' && (floodRate * durationS > 20_000 || floodConnections > 100))) {
  throw new Error('bounded: at most 1000 connections (100 flooder connections) and 20000 orders per run');
}

const stackEnv: Record<string, string> = {};
if (args['batch-size']) stackEnv.EXECUTE_BATCH_SIZE = String(Math.round(num(args['batch-size'], 'EXECUTE_BATCH_SIZE', 10)));
if (args['batching-window']) stackEnv.EXECUTE_BATCHING_WINDOW_SECONDS = String(num(args['batching-window'], 'EXECUTE_BATCHING_WINDOW_SECONDS', 0));
if (args['execution-concurrency']) stackEnv.EXECUTION_CONCURRENCY = String(Math.round(num(args['execution-concurrency'], 'EXECUTION_CONCURRENCY', 10)));
// DynamoDB Local is spawned by infra/start.ts with the inherited environment, so the JVM reads JAVA_TOOL_OPTIONS.
if (args['jvm-opts']) stackEnv.JAVA_TOOL_OPTIONS = args['jvm-opts'];
if (args['hold-executions']) stackEnv.POLLER_HOLD_EXECUTIONS_MS = String(Math.round(num(args['hold-executions'], 'POLLER_HOLD_EXECUTIONS_S', 5) * 1000));
const effectiveBatchSize = Number(stackEnv.EXECUTE_BATCH_SIZE ?? process.env.EXECUTE_BATCH_SIZE ?? 10);
const effectiveConcurrency = Number(stackEnv.EXECUTION_CONCURRENCY ?? process.env.EXECUTION_CONCURRENCY ?? 10);

const external = process.env.WS_URL && process.env.API_KEY ? { wsUrl: process.env.WS_URL, apiKey: process.env.API_KEY } : undefined;
if (external) {
  const host = new URL(external.wsUrl).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`WS_URL must point at 127.0.0.1 (the bench talks to nothing else), got ${host}`);
}

const log = (msg: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 23)} bench ${msg}\n`);
};

// ------------------------------------------------------------------------------------------------ lambda figures

interface FnFigures {
  invocations: number;
  meanDurationMs: number | null;
  p99DurationMs: number | null;
  totalBilledMs: number;
  /** Rebuilt from Duration lines as they reached the bench: log delays can make it over-count by one. */
  maxConcurrent: number;
  /** Counted by the event-source poller where it invokes (queue-fed functions only; whole life of the stack). */
  maxConcurrentByPoller?: number;
}

/** Max overlap of [end - duration, end] intervals (end = when the line reached us). */
const maxOverlap = (invs: Invocation[]): number => {
  const events = invs.flatMap((i) => [
    { t: i.seenAt - i.durationMs, d: 1 },
    { t: i.seenAt, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let cur = 0;
  let max = 0;
  for (const e of events) {
    cur += e.d;
    max = Math.max(max, cur);
  }
  return max;
};

const lambdaFigures = (invs: Invocation[]): Record<string, FnFigures> => {
  const byFn = new Map<string, Invocation[]>();
  for (const i of invs) byFn.set(i.fn, [...(byFn.get(i.fn) ?? []), i]);
  return Object.fromEntries(
    [...byFn].map(([fn, list]) => {
      const d = dist(list.map((i) => i.durationMs));
      return [fn, { invocations: list.length, meanDurationMs: d.mean, p99DurationMs: d.p99, totalBilledMs: list.reduce((a, i) => a + i.billedMs, 0), maxConcurrent: maxOverlap(list) }];
    }),
  );
};

// ------------------------------------------------------------------------------------------------ one run

interface RunFigures {
  label: string;
  load: LoadResult;
  meanSimulatedExecS: number | null;
  naiveCeilingPerSec: number | null;
  achievedMultiple: number | null;
  lambdas: Record<string, FnFigures> | { unavailable: string };
  executionPerOrder: { meanHandlerMsPerOrder: number | null; meanInvocationMs: number | null; meanRecordsPerInvocation: number | null; note: string } | { unavailable: string };
  processes: ReturnType<Sampler['snapshot']> | { unavailable: string };
  wallMs: number;
}

const runOnce = async (
  label: string,
  target: { wsUrl: string; apiKeys: string[] },
  c: number,
  k: number,
  stack: StartedStack | undefined,
  sampler: Sampler | undefined,
): Promise<RunFigures> => {
  sampler?.mark();
  const invFrom = stack?.invocations.length ?? 0;
  const started = performance.now();
  log(`${label}: ${mode === 'closed' ? `${c} connections x ${k} orders (closed loop)` : `${rate} orders/s for ${durationS} s over ${c} connections (open loop)`}, profile ${profile}`);
  const load = await runLoad({
    wsUrl: target.wsUrl,
    apiKeys: target.apiKeys,
    connections: c,
    mode: mode === 'open' ? 'open' : 'closed',
    ordersPerConnection: k,
    rate,
    durationS,
    orderTimeoutMs,
    loadTimeoutMs,
    drainMs,
    tag: `b${Date.now().toString(36)}${label.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 40),
  });
  const wallMs = Math.round(performance.now() - started);
  const processes = sampler ? sampler.snapshot() : { unavailable: 'targeting an external stack (WS_URL/API_KEY): its processes are not ours to sample' };
  const meanSim = load.simulatedMs.mean;
  const meanSimulatedExecS = meanSim === null ? null : meanSim / 1000;
  const naiveCeilingPerSec = meanSimulatedExecS && meanSimulatedExecS > 0 ? 10 / meanSimulatedExecS : null;
  let lambdas: RunFigures['lambdas'] = { unavailable: 'targeting an external stack: its serverless-offline log is not ours' };
  let executionPerOrder: RunFigures['executionPerOrder'] = { unavailable: 'no serverless-offline Duration lines' };
  if (stack) {
    const invs = stack.invocations.slice(invFrom);
    lambdas = lambdaFigures(invs);
    await new Promise((resolve) => setTimeout(resolve, 600)); // one more poller stats line (every 500 ms)
    // The poller names functions as deployed (<service>-<stage>-<fn>); offline's log lines by their short name.
    for (const [deployedName, stats] of Object.entries(stack.pollerStats() ?? {})) {
      const fn = Object.keys(lambdas).find((name) => deployedName.endsWith(`-${name}`));
      if (fn && lambdas[fn]) lambdas[fn].maxConcurrentByPoller = stats.maxConcurrentInvocations;
    }
    const exec = invs.filter((i) => i.fn === 'executeOrder');
    if (exec.length) {
      const total = exec.reduce((a, i) => a + i.durationMs, 0);
      const executed = load.terminal + load.notTerminal;
      executionPerOrder = {
        meanHandlerMsPerOrder: executed ? Math.round((total / executed) * 10) / 10 : null,
        meanInvocationMs: Math.round((total / exec.length) * 10) / 10,
        meanRecordsPerInvocation: null,
        note: `serverless-offline's per-invocation Duration (handler wall time, what AWS bills) summed over ${exec.length} executeOrder invocations, divided by the ${executed} orders executed; an invocation lasts as long as its slowest record`,
      };
      (executionPerOrder as { meanRecordsPerInvocation: number | null }).meanRecordsPerInvocation = Math.round((executed / exec.length) * 100) / 100;
    }
  }
  return {
    label,
    load,
    meanSimulatedExecS,
    naiveCeilingPerSec: naiveCeilingPerSec === null ? null : Math.round(naiveCeilingPerSec * 100) / 100,
    achievedMultiple: naiveCeilingPerSec ? Math.round((load.completedPerSec / naiveCeilingPerSec) * 100) / 100 : null,
    lambdas,
    executionPerOrder,
    processes,
    wallMs,
  };
};

// ------------------------------------------------------------------------------------------------ targets

interface TargetCheck {
  target: string;
  applies: boolean;
  pass: boolean | null;
  value: string;
}

/** Latency targets only mean something with the load they were measured under. */
const offeredLoad = (c: number, k: number): string =>
  mode === 'closed' ? `closed loop, ${c} x ${k} orders, no think time` : `open loop at ${rate} orders/s for ${durationS} s`;

const targetsOf = (run: RunFigures, c: number, k: number): TargetCheck[] => {
  const l = run.load;
  const execFigures = 'unavailable' in run.lambdas ? undefined : run.lambdas.executeOrder;
  const execMax = 'unavailable' in run.lambdas ? null : (execFigures?.maxConcurrentByPoller ?? execFigures?.maxConcurrent ?? 0);
  const realistic200 = profile === 'realistic' && mode === 'closed' && c === 200 && k === 5;
  const multipleOk = run.achievedMultiple !== null && run.achievedMultiple >= 10;
  const capOk = execMax === null ? null : execMax <= 10;
  const rss = 'unavailable' in run.processes ? null : run.processes.peakTotalRssMb;
  return [
    {
      target: 'realistic 200x5: completed/s >= 10x naive ceiling, <= 10 execution invocations at once',
      applies: realistic200,
      pass: realistic200 ? multipleOk && capOk !== false : null,
      value: `${fmt(run.achievedMultiple, 2)}x (${fmt(l.completedPerSec, 1)}/s vs ceiling ${fmt(run.naiveCeilingPerSec, 2)}/s), max concurrent executeOrder ${execMax ?? 'n/a'}`,
    },
    {
      target: 'ack p99 < 25 ms at 100 concurrent connections',
      applies: c === 100,
      pass: c === 100 && l.ackMs.p99 !== null ? l.ackMs.p99 < 25 : null,
      value: `${fmt(l.ackMs.p99)} ms at ${c} connections, ${offeredLoad(c, k)}`,
    },
    {
      target: 'pipeline overhead p99 < 100 ms (zero profile)',
      applies: profile === 'zero',
      pass: profile === 'zero' && l.overheadMs.p99 !== null ? l.overheadMs.p99 < 100 : null,
      value: `${fmt(l.overheadMs.p99)} ms (${profile}), ${offeredLoad(c, k)}`,
    },
    {
      target: '0 frames lost or out of order',
      applies: true,
      pass: l.frames.lost === 0 && l.frames.outOfOrder === 0,
      value: `lost ${l.frames.lost}, out of order ${l.frames.outOfOrder} (duplicated ${l.frames.duplicated})`,
    },
    { target: '0 orders left non-terminal', applies: true, pass: l.notTerminal === 0, value: `${l.notTerminal} non-terminal after ${drainMs / 1000} s drain` },
    {
      target: 'embedded stack < 600 MB RSS at peak',
      applies: rss !== null,
      pass: rss === null ? null : rss < 600,
      value: rss === null ? 'n/a (external stack)' : `${fmt(rss)} MB (sum of the stack's processes, sampled every 200 ms)`,
    },
  ];
};

// ------------------------------------------------------------------------------------------------ printing

const printRun = (run: RunFigures, c: number, k: number): TargetCheck[] => {
  const l = run.load;
  const d = (x: { p50: number | null; p95: number | null; p99: number | null; max: number | null; mean: number | null }): string[] => [fmt(x.p50), fmt(x.p95), fmt(x.p99), fmt(x.max), fmt(x.mean)];
  const out: string[] = [];
  out.push(`\n=== ${run.label}: profile ${profile}, ${mode} loop, ${mode === 'closed' ? `${c} connections x ${k} orders` : `${rate}/s x ${durationS} s over ${c} connections`}, batch ${effectiveBatchSize}, in-invocation concurrency ${effectiveConcurrency}`);
  out.push(
    `orders: sent ${l.sent}, accepted ${l.accepted}, rejected ${JSON.stringify(l.rejected)}, terminal ${l.terminal} (confirmed ${l.confirmed}, failed ${JSON.stringify(l.failed)}), ` +
      `not terminal ${l.notTerminal} ${JSON.stringify(l.notTerminalByStatus)}, retried ${l.retriedOrders}; connect failures ${l.connectFailures}`,
  );
  out.push(
    `throughput: accepted ${fmt(l.acceptedPerSec)}/s, completed ${fmt(l.completedPerSec)}/s (first send -> last terminal ${fmt(l.lastTerminalMs / 1000, 2)} s); ` +
      `to 95% terminal ${fmt(l.completedPerSecTo95)}/s in ${fmt((l.t95TerminalMs ?? NaN) / 1000, 2)} s`,
  );
  out.push(
    table(
      ['latency (ms)', 'p50', 'p95', 'p99', 'max', 'mean', 'n'],
      [
        ['connect', ...d(l.connectMs), l.connectMs.n],
        ['ack (execute -> pending)', ...d(l.ackMs), l.ackMs.n],
        ['end-to-end (execute -> terminal)', ...d(l.e2eMs), l.e2eMs.n],
        ['simulated chain+venue (meta.simulatedMs)', ...d(l.simulatedMs), l.simulatedMs.n],
        ['pipeline overhead (e2e - simulated)', ...d(l.overheadMs), l.overheadMs.n],
        ...Object.entries(l.stagesMs).map(([k, v]) => [`  stage: ${k}`, ...d(v), v.n]),
        ...(l.sendLagMs ? [['open-loop send lag', ...d(l.sendLagMs), l.sendLagMs.n]] : []),
      ],
    ),
  );
  out.push(
    `frames: received ${l.frames.received}, lost ${l.frames.lost} (in ${l.frames.ordersWithLoss} orders), duplicated ${l.frames.duplicated}, out of order ${l.frames.outOfOrder}, ` +
      `error frames ${l.frames.errorFrames}, unattributed ${l.frames.unknown}; bench client event-loop delay p99 ${l.clientLoopDelayMs.p99} ms, max ${l.clientLoopDelayMs.max} ms`,
  );
  for (const x of [...l.frames.errorSamples, ...l.frames.unknownSamples].slice(0, 4)) out.push(`  sample frame: ${x}`);
  out.push(
    `naive ceiling: 10 / ${fmt(run.meanSimulatedExecS, 3)} s mean simulated execution = ${fmt(run.naiveCeilingPerSec, 2)} orders/s; achieved ${fmt(l.completedPerSec)} /s = ${fmt(run.achievedMultiple, 2)}x`,
  );
  if (!('unavailable' in run.lambdas)) {
    out.push(
      table(
        ['lambda', 'invocations', 'mean ms', 'p99 ms', 'billed s', 'max at once (poller)', 'max at once (from logs)'],
        Object.entries(run.lambdas).map(([fn, f]) => [
          fn,
          f.invocations,
          fmt(f.meanDurationMs),
          fmt(f.p99DurationMs),
          fmt(f.totalBilledMs / 1000, 1),
          f.maxConcurrentByPoller ?? '-',
          f.maxConcurrent,
        ]),
      ),
    );
  }
  if ('unavailable' in run.executionPerOrder) out.push(`execution Lambda handler time per order: n/a (${run.executionPerOrder.unavailable})`);
  else
    out.push(
      `execution Lambda: ${fmt(run.executionPerOrder.meanHandlerMsPerOrder)} ms handler time per order (mean invocation ${fmt(run.executionPerOrder.meanInvocationMs)} ms, ` +
        `${fmt(run.executionPerOrder.meanRecordsPerInvocation, 2)} orders per invocation)`,
    );
  if ('unavailable' in run.processes) out.push(`processes: n/a (${run.processes.unavailable})`);
  else {
    out.push(
      table(
        ['process', 'pid', 'comm', 'peak RSS MB', 'CPU s (run)', 'CPU s (total)'],
        run.processes.processes.map((p) => [p.role, p.pid, p.comm, fmt(p.peakRssMb), fmt(p.cpuSeconds, 2), fmt(p.cpuSecondsTotal, 2)]),
      ),
    );
    out.push(`stack peak RSS (sum, same sample): ${fmt(run.processes.peakTotalRssMb)} MB; run wall time ${fmt(run.wallMs / 1000, 1)} s`);
  }
  const checks = targetsOf(run, c, k);
  out.push('targets (issue 6; printed, not asserted):');
  for (const t of checks) out.push(`  [${t.applies ? (t.pass ? 'PASS' : 'MISS') : ' -- '}] ${t.target}: ${t.value}${t.applies ? '' : ' (not this configuration)'}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return checks;
};

// ------------------------------------------------------------------------------------------------ burst and flood modes

interface Target {
  wsUrl: string;
  apiKeys: string[];
  /** flood: the two accounts (external stack: API_KEY for the flooder, BENCH_VICTIM_API_KEY for the victim). */
  flooderKey?: string | undefined;
  victimKey?: string | undefined;
}

/** The stack's CPU seconds over the sampler's window: every process of the tree (start.ts, offline, the JVM, children). */
const stackCpu = (processes: RunFigures['processes']): { totalS: number; byRole: Record<string, number> } | null => {
  if ('unavailable' in processes) return null;
  const byRole: Record<string, number> = {};
  let totalS = 0;
  for (const p of processes.processes) {
    totalS += p.cpuSeconds ?? 0;
    const role = p.role.startsWith('start.ts') ? 'start.ts' : p.role.startsWith('serverless-offline') ? 'offline' : p.role.startsWith('DynamoDB') ? 'JVM' : 'children';
    byRole[role] = Math.round(((byRole[role] ?? 0) + (p.cpuSeconds ?? 0)) * 100) / 100;
  }
  return { totalS: Math.round(totalS * 100) / 100, byRole };
};

const codes = (m: Record<string, number>): string =>
  Object.keys(m).length
    ? Object.entries(m)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : 'none';
const pct = (a: number, b: number): string => (b ? `${((100 * a) / b).toFixed(1)} %` : 'n/a');
const lat = (d: { p50: number | null; p99: number | null; max: number | null }): string => `${fmt(d.p50)} / ${fmt(d.p99)} / ${fmt(d.max)}`;

const printChecks = (title: string, checks: TargetCheck[]): string[] => [
  title,
  ...checks.map((t) => `  [${t.applies ? (t.pass ? 'PASS' : 'MISS') : ' -- '}] ${t.target}: ${t.value}${t.applies ? '' : ' (not this configuration)'}`),
];

const lambdaRows = (lambdas: RunFigures['lambdas']): string[] =>
  'unavailable' in lambdas
    ? []
    : [
        table(
          ['lambda', 'invocations', 'mean ms', 'p99 ms', 'billed s', 'max at once (poller)', 'max at once (from logs)'],
          Object.entries(lambdas).map(([fn, f]) => [fn, f.invocations, fmt(f.meanDurationMs), fmt(f.p99DurationMs), fmt(f.totalBilledMs / 1000, 1), f.maxConcurrentByPoller ?? '-', f.maxConcurrent]),
        ),
      ];

/** Lambda figures for the invocations since invFrom, with the poller's own max-at-once where it has one. */
const lambdasSince = async (invFrom: number): Promise<RunFigures['lambdas']> => {
  if (!stack) return { unavailable: 'targeting an external stack: its serverless-offline log is not ours' };
  await new Promise((resolve) => setTimeout(resolve, 600)); // one more poller stats line (every 500 ms)
  const lambdas = lambdaFigures(stack.invocations.slice(invFrom));
  for (const [deployedName, stats] of Object.entries(stack.pollerStats() ?? {})) {
    const fn = Object.keys(lambdas).find((name) => deployedName.endsWith(`-${name}`));
    if (fn && lambdas[fn]) lambdas[fn].maxConcurrentByPoller = stats.maxConcurrentInvocations;
  }
  return lambdas;
};

interface BurstFigures {
  burst: number;
  result: BurstResult;
  cpu: { totalS: number; perOrderS: number; byRole: Record<string, number> } | null;
  peakRssMb: number | null;
  processes: RunFigures['processes'];
  lambdas: RunFigures['lambdas'];
  /** What AWS would bill for a million orders like these (bench/cost.ts); null against an external stack. */
  costPerMillion: (CostPerMillion & { perOrder: Parameters<typeof costPerMillionOrders>[0] }) | null;
  targets: TargetCheck[];
}

/** SQS-fed functions: each invocation costs its event source mapping a ReceiveMessage and a DeleteMessageBatch. */
const SQS_FED = ['executeOrder', 'notify', 'deadLetters'];

/**
 * The burst's per-order counts, priced: Lambda invocations and billed ms per function, the AWS calls the handlers made
 * (the stack's counts line before and after), WebSocket messages (requests sent + frames received) and the minutes the
 * burst's connections were open, all divided by the orders acked.
 */
const burstCost = (result: BurstResult, lambdas: RunFigures['lambdas'], calls: Record<string, number>): BurstFigures['costPerMillion'] => {
  const orders = result.outcomes.acked;
  if ('unavailable' in lambdas || orders === 0) return null;
  const perOrder = {
    lambda: Object.fromEntries(Object.entries(lambdas).map(([fn, f]) => [fn, { invocations: f.invocations / orders, billedMs: f.totalBilledMs / orders }])),
    awsCalls: Object.fromEntries(Object.entries(calls).map(([key, n]) => [key, n / orders])),
    sqsTriggeredInvocations: SQS_FED.reduce((sum, fn) => sum + (lambdas[fn]?.invocations ?? 0), 0) / orders,
    websocketMessages: (result.outcomes.sent + result.frames.received) / orders,
    connectionMinutes: (result.connectionsOpen * result.settledMs) / 60_000 / orders,
  };
  return { ...costPerMillionOrders(perOrder), perOrder };
};

const burstTargets = (b: Omit<BurstFigures, 'targets'>, c: number): TargetCheck[] => {
  const o = b.result.outcomes;
  const n = o.sent;
  const p99 = o.ackMs.p99;
  const ackP99 = (limitMs: number): boolean | null => (p99 === null || o.acked < n ? false : p99 < limitMs);
  return [
    {
      target: '0 INTERNAL',
      applies: true,
      pass: !o.refused.INTERNAL && !o.refused[GATEWAY_INTERNAL],
      value: `${o.refused.INTERNAL ?? 0} INTERNAL error frames, ${o.refused[GATEWAY_INTERNAL] ?? 0} bare gateway "Internal server error" frames (${GATEWAY_INTERNAL}: the route Lambda threw or timed out)`,
    },
    { target: '0 UNAVAILABLE', applies: true, pass: !o.refused.UNAVAILABLE, value: `${o.refused.UNAVAILABLE ?? 0}` },
    { target: '100 % acknowledged', applies: true, pass: o.acked === n, value: `${o.acked} of ${n} (refused: ${codes(o.refused)}; no answer ${o.noAnswer})` },
    {
      target: '100 % terminal',
      applies: true,
      pass: o.acked > 0 && o.terminalOfAcked === o.acked,
      value: `${o.terminalOfAcked} of ${o.acked} acked orders terminal within the ${drainMs / 1000} s drain${Object.keys(o.notTerminalByStatus).length ? ` (not terminal: ${codes(o.notTerminalByStatus)})` : ''}`,
    },
    { target: '0 frames lost', applies: true, pass: o.frames.lost === 0, value: `lost ${o.frames.lost} (out of order ${o.frames.outOfOrder}, duplicated ${o.frames.duplicated})` },
    {
      target: 'ack p99 < 300 ms (N=100, C=100)',
      applies: n === 100 && c === 100,
      pass: n === 100 && c === 100 ? ackP99(300) : null,
      value: `${fmt(p99)} ms at N=${n}, C=${c}${o.acked < n ? ` (${n - o.acked} not acked: counted as a MISS)` : ''}`,
    },
    {
      target: 'ack p99 < 1 s (N=500, C=20)',
      applies: n === 500 && c === 20,
      pass: n === 500 && c === 20 ? ackP99(1000) : null,
      value: `${fmt(p99)} ms at N=${n}, C=${c}${o.acked < n ? ` (${n - o.acked} not acked: counted as a MISS)` : ''}`,
    },
    {
      // Issue 12: the peers complete 2.9-3.4 orders/s over a 100-order batch; 5x that, and no three-minute tail.
      target: 'realistic, 100 at once: end-to-end p99 <= 10 s',
      applies: n === 100 && profile === 'realistic',
      pass: n === 100 && profile === 'realistic' ? o.e2eMs.p99 !== null && o.terminal === n && o.e2eMs.p99 <= 10_000 : null,
      value: `${fmt(o.e2eMs.p99)} ms (${o.terminal} of ${n} terminal)`,
    },
    {
      target: 'realistic, 100 at once: >= 17 completed orders/s over the batch (5x the peers)',
      applies: n === 100 && profile === 'realistic',
      pass: n === 100 && profile === 'realistic' ? (completedPerSOf(o) ?? 0) >= 17 && o.terminal === n : null,
      value: completedPerS(o),
    },
    {
      target: 'congested, priorityFee auto: end-to-end p99 <= 20 s',
      applies: profile === 'congested' && (process.env.BENCH_PRIORITY_FEE ?? 'auto') === 'auto',
      pass: profile === 'congested' ? o.e2eMs.p99 !== null && o.terminal === n && o.e2eMs.p99 <= 20_000 : null,
      value: `${fmt(o.e2eMs.p99)} ms (${o.terminal} of ${n} terminal)`,
    },
    {
      target: 'stack CPU per order < 0.06 s',
      applies: b.cpu !== null,
      pass: b.cpu === null ? null : b.cpu.perOrderS < 0.06,
      value: b.cpu === null ? 'n/a (external stack)' : `${b.cpu.perOrderS.toFixed(4)} s (${fmt(b.cpu.totalS, 2)} CPU s over the burst and its drain / ${n} orders)`,
    },
  ];
};

/** Terminal orders over the span from the first send to the last terminal frame. */
const completedPerSOf = (o: BurstResult['outcomes']): number | null =>
  o.lastTerminalMs && o.lastTerminalMs > 0 ? Math.round((o.terminal / (o.lastTerminalMs / 1000)) * 100) / 100 : null;
const completedPerS = (o: BurstResult['outcomes']): string => {
  const perS = completedPerSOf(o);
  return perS === null ? '-' : `${perS} (${o.terminal} terminal, the last ${fmt(o.lastTerminalMs! / 1000, 2)} s after the first send)`;
};

const printBurst = (b: BurstFigures, c: number, k: number): void => {
  const r = b.result;
  const o = r.outcomes;
  const out: string[] = [];
  out.push(
    `\n=== burst ${b.burst} of ${k}: ${o.sent} orders at once over ${r.connectionsOpen} connections (${external ? 1 : accounts} accounts), profile ${profile}, batch ${effectiveBatchSize}, in-invocation concurrency ${effectiveConcurrency}`,
  );
  const retry = Object.entries(o.retryAfterMs).map(([code, d]) => `${code} p50 ${fmt(d.p50, 0)} / max ${fmt(d.max, 0)} ms`);
  const cpu = b.cpu ? `${fmt(b.cpu.totalS, 2)} s = ${b.cpu.perOrderS.toFixed(4)} s per order (${Object.entries(b.cpu.byRole).map(([role, v]) => `${role} ${v.toFixed(2)}`).join(', ')})` : 'n/a (external stack)';
  out.push(
    table(
      ['figure', 'value'],
      [
        ['sent', `${o.sent} (client send loop ${fmt(r.sendSpanMs, 1)} ms, round-robin over ${r.connectionsOpen} connections)`],
        ['acked (pending seq 1)', `${o.acked} (${pct(o.acked, o.sent)})${o.ackedAfterRefusal ? `, ${o.ackedAfterRefusal} of them after an error frame` : ''}`],
        ['refused (error frames by code)', codes(o.refused)],
        ['retryAfterMs', retry.length ? retry.join('; ') : '-'],
        [`no answer within ${orderTimeoutMs / 1000} s`, `${o.noAnswer}${o.lateAnswers ? ` (${o.lateAnswers} answered later)` : ''}`],
        ['ack ms p50 / p99 / max', lat(o.ackMs)],
        ['first answer ms p50 / p99 / max', `${lat(o.answerMs)} (last answer ${fmt((o.lastAnswerMs ?? NaN) / 1000, 2)} s after the first send)`],
        ['terminal (of acked)', `${o.terminalOfAcked} of ${o.acked} (${pct(o.terminalOfAcked, o.acked)}); confirmed ${o.confirmed}, failed ${codes(o.failed)}${Object.keys(o.notTerminalByStatus).length ? `; not terminal ${codes(o.notTerminalByStatus)}` : ''}`],
        ['end-to-end ms p50 / p99 / max', lat(o.e2eMs)],
        ['completed orders/s over the batch', completedPerS(o)],
        ...waveRows(o.waves),
        ['queued ms (ack -> first routing) p50 / p99 / max', lat(o.queuedMs)],
        ['routed ms (first routing -> first submitted) p50 / p99 / max', lat(o.routedMs)],
        ['landing ms (first submitted -> terminal) p50 / p99 / max', lat(o.landingMs)],
        ...Object.entries(o.engineStagesMs).map(([k, v]) => [`engine clock: ${k} ms p50 / p99 / max`, lat(v)] as [string, string]),
        ['attempts expired without landing', `${o.expiredAttempts}`],
        ['fees paid per order (mean, base + priority)', o.meanFeesLamports === null ? '-' : `${o.meanFeesLamports} lamports`],
        ['frames lost / out of order / duplicated', `${o.frames.lost} / ${o.frames.outOfOrder} / ${o.frames.duplicated} (received ${r.frames.received}, unattributed ${r.frames.unknown + r.frames.unmatchedErrors})`],
        ['settled (first send -> all terminal/refused)', `${fmt(r.settledMs / 1000, 2)} s${r.drainExpired ? ` (the ${drainMs / 1000} s drain expired first)` : ''}`],
        ['stack CPU (utime+stime, burst + drain)', cpu],
        ['stack peak RSS', b.peakRssMb === null ? 'n/a (external stack)' : `${fmt(b.peakRssMb)} MB`],
        ['bench client event-loop delay p99 / max', `${r.clientLoopDelayMs.p99} / ${r.clientLoopDelayMs.max} ms`],
      ],
    ),
  );
  for (const x of r.frames.samples.slice(0, 3)) out.push(`  sample unattributed frame: ${x}`);
  out.push(...lambdaRows(b.lambdas));
  out.push(...printChecks('targets (issues 10 and 12; printed, not asserted):', b.targets));
  process.stdout.write(`${out.join('\n')}\n`);
};

/** A burst's waves as counts per interval from the first send, in columns so a wave can be followed down the rows. */
const waveRows = (w: Outcomes['waves']): Array<[string, string]> => {
  const width = Math.max(1, ...[...w.acked, ...w.takenUp, ...w.terminal].map((n) => String(n).length));
  const row = (counts: number[]): string => (counts.length ? counts.map((n) => String(n).padStart(width)).join(' ') : '-');
  const per = `${w.intervalMs / 1000} s`;
  return [
    [`acked per ${per} from the first send (engine clock)`, row(w.acked)],
    [`taken up by an execution (first routing) per ${per}`, row(w.takenUp)],
    [`terminal per ${per}`, row(w.terminal)],
  ];
};

const burstMode = async (target: Target): Promise<BurstFigures[]> => {
  log(`burst: opening ${connections} connections over ${target.apiKeys.length} accounts`);
  const client = await openBurstClient({
    wsUrl: target.wsUrl,
    apiKeys: target.apiKeys,
    connections,
    orders: burstOrders,
    answerTimeoutMs: orderTimeoutMs,
    drainMs,
    tag: `u${Date.now().toString(36)}`,
  });
  log(`burst: ${client.connectionsOpen} of ${connections} connections open (connect p50 ${fmt(client.connectMs.p50)} ms, p99 ${fmt(client.connectMs.p99)} ms, ${client.connectFailures} failed)`);
  const out: BurstFigures[] = [];
  try {
    for (let k = 1; k <= bursts; k++) {
      if (k > 1) await new Promise((r) => setTimeout(r, 1000));
      sampler?.mark();
      const invFrom = stack?.invocations.length ?? 0;
      const callsFrom = stack?.awsCalls() ?? {};
      log(`burst ${k} of ${bursts}: ${burstOrders} orders at once over ${client.connectionsOpen} connections`);
      const result = await client.burst(k);
      const processes: RunFigures['processes'] = sampler ? sampler.snapshot() : { unavailable: 'external stack' };
      const cpu = stackCpu(processes);
      const figures: Omit<BurstFigures, 'targets'> = {
        burst: k,
        result,
        cpu: cpu ? { ...cpu, perOrderS: Math.round((cpu.totalS / burstOrders) * 10_000) / 10_000 } : null,
        peakRssMb: 'unavailable' in processes ? null : processes.peakTotalRssMb,
        processes,
        lambdas: await lambdasSince(invFrom),
        costPerMillion: null,
      };
      // After lambdasSince's wait: the counts line (every 500 ms) has caught up with the burst.
      figures.costPerMillion = burstCost(result, figures.lambdas, callsBetween(callsFrom, stack?.awsCalls() ?? {}));
      const b = { ...figures, targets: burstTargets(figures, connections) };
      printBurst(b, connections, bursts);
      if (b.costPerMillion) {
        process.stdout.write(`AWS list price of 1 million orders like these (bench/cost.ts; prices and assumptions in bench/PERFORMANCE.md):\n${formatCost(b.costPerMillion).join('\n')}\n`);
      }
      out.push(b);
    }
  } finally {
    client.close();
  }
  process.stdout.write(`\n=== bursts: ${bursts} x ${burstOrders} orders over ${client.connectionsOpen} connections (connect p50 ${fmt(client.connectMs.p50)} ms, ${client.connectFailures} connect failures), profile ${profile}\n`);
  const row = (label: string | number, list: BurstFigures[]): Array<string | number> => {
    const sum = (f: (b: BurstFigures) => number): number => list.reduce((a, b) => a + f(b), 0);
    const worst = (f: (b: BurstFigures) => number | null): string => fmt(Math.max(...list.map((b) => f(b) ?? NaN).filter(Number.isFinite)));
    const refused: Record<string, number> = {};
    for (const b of list) for (const [code, v] of Object.entries(b.result.outcomes.refused)) refused[code] = (refused[code] ?? 0) + v;
    const cpus = list.map((b) => b.cpu?.perOrderS).filter((x): x is number => x !== undefined);
    // The one figure summarised by its mean, not its worst: the throughput target is an average over bursts, and a
    // single burst moves with the machine's noise (bench/PERFORMANCE.md, "Seventh session of issue 12").
    const rates = list.map((b) => completedPerSOf(b.result.outcomes)).filter((x): x is number => x !== null);
    const rate = rates.length === 0 ? '-' : rates.length === 1 ? fmt(rates[0] as number, 2) : `mean ${fmt(rates.reduce((a, x) => a + x, 0) / rates.length, 2)}, min ${fmt(Math.min(...rates), 2)}`;
    return [
      label,
      `${sum((b) => b.result.outcomes.acked)} of ${sum((b) => b.result.outcomes.sent)}`,
      codes(refused),
      sum((b) => b.result.outcomes.noAnswer),
      worst((b) => b.result.outcomes.ackMs.p50),
      worst((b) => b.result.outcomes.ackMs.p99),
      worst((b) => b.result.outcomes.ackMs.max),
      `${sum((b) => b.result.outcomes.terminalOfAcked)} of ${sum((b) => b.result.outcomes.acked)}`,
      worst((b) => b.result.outcomes.e2eMs.p50),
      worst((b) => b.result.outcomes.e2eMs.p99),
      rate,
      `${sum((b) => b.result.outcomes.frames.lost)} / ${sum((b) => b.result.outcomes.frames.outOfOrder)}`,
      cpus.length ? Math.max(...cpus).toFixed(4) : 'n/a',
      worst((b) => b.peakRssMb),
      `${sum((b) => b.targets.filter((t) => t.applies && t.pass).length)} of ${sum((b) => b.targets.filter((t) => t.applies).length)}`,
    ];
  };
  const rows = out.map((b) => row(b.burst, [b]));
  if (out.length > 1) rows.push(row('all (worst)', out));
  if (out.length > 2) rows.push(row('2..K (worst)', out.slice(1)));
  process.stdout.write(
    `${table(['burst', 'acked', 'refused', 'no answer', 'ack p50', 'ack p99', 'ack max', 'terminal', 'e2e p50', 'e2e p99', 'completed/s', 'lost / ooo', 'CPU s/order', 'peak RSS MB', 'targets met'], rows)}\n`,
  );
  process.stdout.write('(per-burst rows; "worst" rows: counts summed, completed orders/s the mean and the slowest burst, latencies/CPU/RSS the worst burst. The first burst meets a colder stack than the later ones.)\n');
  await printChainFloor();
  return out;
};

/** The chain's own floor for a batch of this size (bench/support/chain-floor.ts), computed after the bursts so it takes no CPU from them. */
const printChainFloor = async (): Promise<void> => {
  const batches = 100;
  const policy = (PRIORITY_FEE ?? 'auto') as PriorityFeePolicy;
  const percentile = Number(process.env.PRIORITY_FEE_PERCENTILE ?? PRIORITY_FEE_DEFAULTS.percentile);
  const maxLamports = Number(process.env.PRIORITY_FEE_MAX_LAMPORTS ?? PRIORITY_FEE_DEFAULTS.maxLamports);
  const chainProfile = mockProfile(profile);
  const floor = await chainFloor({ profile: chainProfile, orders: burstOrders, batches, priorityFee: policy, percentile, maxLamports });
  const perS = (ms: number | null): string => (ms ? fmt(burstOrders / (ms / 1000), 1) : 'n/a');
  process.stdout.write(
    `\n=== what the chain alone allows (bench/support/chain-floor.ts): ${batches} simulated batches of ${burstOrders} orders, each order alone on an idle engine (no ack, no queue, no CPU), profile ${profile}, priorityFee ${JSON.stringify(policy)}${policy === 'auto' ? ` p${percentile}` : ''}, rebroadcast every ${chainProfile.rebroadcastMs} ms\n` +
      `${table(
        ['figure', 'value'],
        [
          ['slowest order of a batch (first quote -> outcome) p50 / p95 / max', `${fmt(floor.slowestMs.p50, 0)} / ${fmt(floor.slowestMs.p95, 0)} / ${fmt(floor.slowestMs.max, 0)} ms`],
          ['most completed orders/s over a batch (median batch / its p95)', `${perS(floor.slowestMs.p50)} / ${perS(floor.slowestMs.p95)}`],
          ['each order p50 / p99', `${fmt(floor.orderMs.p50, 0)} / ${fmt(floor.orderMs.p99, 0)} ms (first signatures expired: ${floor.expired})`],
        ],
      )}\n`,
  );
};

interface FloodPhaseFigures {
  phase: 'idle' | 'flood';
  result: FloodPhaseResult;
  cpuS: number | null;
  peakRssMb: number | null;
  lambdas: RunFigures['lambdas'];
}

const floodMode = async (target: Target): Promise<{ phases: FloodPhaseFigures[]; target: TargetCheck }> => {
  const flooderKey = target.flooderKey ?? (target.apiKeys[0] as string);
  const victimKey = target.victimKey ?? process.env.BENCH_VICTIM_API_KEY ?? flooderKey;
  if (victimKey === flooderKey) log('flood: WARNING the victim and the flooder share one account (external stack: set BENCH_VICTIM_API_KEY for a second one)');
  const phases: FloodPhaseFigures[] = [];
  for (const phase of ['idle', 'flood'] as const) {
    if (phase === 'flood') await new Promise((r) => setTimeout(r, 1000));
    log(
      phase === 'idle'
        ? `flood, idle phase: the victim alone, 1 order every ${VICTIM_INTERVAL_MS} ms for ${durationS} s`
        : `flood phase: the flooder offers ${floodRate} execute/s over ${floodConnections} connections for ${durationS} s; the victim as before`,
    );
    sampler?.mark();
    const invFrom = stack?.invocations.length ?? 0;
    const result = await runFloodPhase({
      wsUrl: target.wsUrl,
      victimKey,
      ...(phase === 'flood' ? { flood: { apiKey: flooderKey, connections: floodConnections, ratePerSec: floodRate } } : {}),
      durationS,
      victimIntervalMs: VICTIM_INTERVAL_MS,
      answerTimeoutMs: orderTimeoutMs,
      // The idle phase's orders are followed to terminal, so the flood starts on a quiet pipeline; during the flood
      // only the answers are waited for.
      victimDrainMs: phase === 'idle' ? drainMs : 0,
      tag: `f${Date.now().toString(36)}${phase}`,
    });
    const processes: RunFigures['processes'] = sampler ? sampler.snapshot() : { unavailable: 'external stack' };
    phases.push({ phase, result, cpuS: stackCpu(processes)?.totalS ?? null, peakRssMb: 'unavailable' in processes ? null : processes.peakTotalRssMb, lambdas: await lambdasSince(invFrom) });
  }
  const [idle, flood] = phases as [FloodPhaseFigures, FloodPhaseFigures];
  const out: string[] = [];
  out.push(
    `\n=== flood: victim 1 order / ${VICTIM_INTERVAL_MS} ms on 1 connection for ${durationS} s, idle then during a flood of ${floodRate}/s offered over ${floodConnections} connections by another account; profile ${profile}`,
  );
  out.push(
    table(
      ['victim', 'sent', 'acked', 'refused', `no answer (${orderTimeoutMs / 1000} s)`, 'ack p50', 'ack p95', 'ack p99', 'ack max', 'terminal', 'lost / ooo', 'stack CPU s', 'peak RSS MB', 'client loop p99 ms'],
      phases.map(({ phase, result: { victim: v, clientLoopDelayMs }, cpuS, peakRssMb }) => [
        phase,
        v.sent,
        v.acked,
        codes(v.refused),
        v.noAnswer,
        fmt(v.ackMs.p50),
        fmt(v.ackMs.p95),
        fmt(v.ackMs.p99),
        fmt(v.ackMs.max),
        `${v.terminal}${phase === 'flood' ? ' (answers only waited for)' : ''}`,
        `${v.frames.lost} / ${v.frames.outOfOrder}`,
        fmt(cpuS, 2),
        fmt(peakRssMb),
        clientLoopDelayMs.p99,
      ]),
    ),
  );
  const f = flood.result.flooder as NonNullable<FloodPhaseResult['flooder']>;
  out.push(
    `flooder: sent ${f.sent} over ${fmt(f.sendWindowMs / 1000, 2)} s on ${f.connectionsOpen} connections = ${fmt(f.offeredPerSec)}/s offered (asked ${floodRate}/s; client send lag p99 ${fmt(f.sendLagMs.p99)} ms)`,
  );
  const outcomeRows: Array<Array<string | number>> = [
    ['acked (pending seq 1)', f.acked, pct(f.acked, f.sent), `ack ms p50 / p99 / max ${lat(f.ackMs)}`],
    ...Object.entries(f.refused).map(([code, n]) => {
      const d = f.retryAfterMs[code];
      const detail = code === GATEWAY_INTERNAL ? 'bare gateway frames, tied to no request (theirs count as no answer unless acked later)' : '';
      return [code, n, pct(n, f.sent), d ? `retryAfterMs p50 ${fmt(d.p50, 0)} / max ${fmt(d.max, 0)}` : detail];
    }),
    [`no answer within ${orderTimeoutMs / 1000} s`, f.noAnswer, pct(f.noAnswer, f.sent), f.lateAnswers ? `${f.lateAnswers} answered later` : ''],
  ];
  out.push(table(['flooder outcome', 'count', 'share', 'detail'], outcomeRows));
  if (!f.refused.RATE_LIMITED) out.push('no RATE_LIMITED frame: nothing refused the flooder for its rate (every message it sent was taken as an order, or went unanswered)');
  out.push(...lambdaRows(flood.lambdas));
  const idleP99 = idle.result.victim.ackMs.p99;
  const floodP99 = flood.result.victim.ackMs.p99;
  const bound = idleP99 === null ? null : 2 * idleP99 + 50;
  const v = flood.result.victim;
  const allAcked = v.acked === v.sent && v.sent > 0;
  const check: TargetCheck = {
    target: 'victim ack p99 during the flood within noise of idle (<= 2x idle p99 + 50 ms)',
    applies: true,
    pass: bound !== null && floodP99 !== null && allAcked && floodP99 <= bound,
    value: `flood p99 ${fmt(floodP99)} ms vs idle p99 ${fmt(idleP99)} ms (bound ${fmt(bound)} ms); victim acked ${v.acked} of ${v.sent} during the flood${allAcked ? '' : ` (refused: ${codes(v.refused)}, no answer ${v.noAnswer}: a MISS)`}`,
  };
  out.push(...printChecks('target (issue 10; printed, not asserted):', [check]));
  process.stdout.write(`${out.join('\n')}\n`);
  return { phases, target: check };
};

// ------------------------------------------------------------------------------------------------ main

let stack: StartedStack | undefined;
let sampler: Sampler | undefined;
let stopping: Promise<void> | undefined;
const cleanup = (): Promise<void> => {
  stopping ??= (async () => {
    sampler?.stop();
    if (stack) {
      log('stopping the stack (SIGINT to its process group, SIGKILL after 10 s)');
      const { forced, killed } = await stack.stop();
      log(forced ? `stack stopped (forced; SIGKILLed leftover pids ${killed.join(', ') || 'group'})` : 'stack stopped');
    }
  })();
  return stopping;
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

const main = async (): Promise<void> => {
  const startedAt = new Date();
  let target: Target;
  if (external) {
    log(`targeting ${external.wsUrl} (WS_URL/API_KEY); no process figures`);
    target = { wsUrl: external.wsUrl, apiKeys: [external.apiKey] };
  } else {
    const accountNames = mode === 'flood' ? ['flooder', 'victim'] : Array.from({ length: accounts }, (_, i) => `bench${i}`);
    log(`starting the embedded stack (STAGE=bench, MOCK_PROFILE=${profile}, ${accountNames.length} accounts)`);
    stack = await startStack({
      profile,
      accounts: accountNames,
      env: stackEnv,
      readyTimeoutMs: 90_000,
      echo: args.verbose ?? false,
    });
    log(`stack ready in ${stack.readyMs} ms at ${stack.wsUrl} (pids: start ${stack.state.pid}, offline ${stack.state.offlinePid}, dynamodb ${stack.state.dynamoPid})`);
    const s = stack;
    sampler = startSampler(() => [
      { pid: s.state.pid, role: 'start.ts (fauxqs + ESM poller)' },
      { pid: s.state.offlinePid, role: 'serverless-offline (WS + Lambdas in process)' },
      { pid: s.state.dynamoPid, role: 'DynamoDB Local (JVM)' },
    ]);
    target = { wsUrl: stack.wsUrl, apiKeys: Object.values(stack.keys) };
    if (mode === 'flood') Object.assign(target, { flooderKey: stack.keys.flooder, victimKey: stack.keys.victim });
  }

  if (!args['no-warmup']) {
    // Cold starts (offline loads each handler module on its first invocation) are not what a steady client sees.
    // The JVM (DynamoDB Local) and V8 JIT warm up too: without it the first measured run is 2-3x slower.
    const warmK = Math.round(num(args.warmup, 'BENCH_WARMUP', 5));
    // Open loop: a warm-up order that meets the chain's slow tail (a transaction that never lands waits out its
    // blockhash, 60-90 s in the realistic profile) must not hold back the rest of the warm-up.
    log(`warm-up: ${10 * warmK} orders over 10 connections, open loop at 20/s (not measured)`);
    await runLoad({ wsUrl: target.wsUrl, apiKeys: target.apiKeys, connections: 10, mode: 'open', ordersPerConnection: warmK, rate: 20, durationS: Math.max(1, Math.ceil((10 * warmK) / 20)), orderTimeoutMs, loadTimeoutMs: 30_000, drainMs: 5_000, tag: `w${Date.now().toString(36)}` });
  }
  if (mode === 'burst') {
    writeResults(startedAt, await burstMode(target), { orders: burstOrders, bursts, connections, accounts: external ? 1 : accounts, answerTimeoutMs: orderTimeoutMs });
    return;
  }
  if (mode === 'flood') {
    const flood = await floodMode(target);
    writeResults(startedAt, [flood], {
      floodRate,
      floodConnections,
      durationS,
      victimIntervalMs: VICTIM_INTERVAL_MS,
      accounts: external ? (process.env.BENCH_VICTIM_API_KEY ? 2 : 1) : 2,
      answerTimeoutMs: orderTimeoutMs,
    });
    return;
  }
  const plan = args.sweep ? sweepSizes.map((c) => ({ c, k: ordersPerConnection })) : [{ c: connections, k: ordersPerConnection }];
  const runs: Array<{ connections: number; ordersPerConnection: number; figures: RunFigures; targets: TargetCheck[] }> = [];
  for (const [i, { c, k }] of plan.entries()) {
    const figures = await runOnce(args.sweep ? `sweep C=${c}` : 'run', target, c, k, stack, sampler);
    const targets = printRun(figures, c, k);
    runs.push({ connections: c, ordersPerConnection: k, figures, targets });
    if (i < plan.length - 1) await new Promise((r) => setTimeout(r, 1000));
  }
  if (args.sweep) {
    process.stdout.write('\n=== sweep: latency vs load\n');
    process.stdout.write(
      `${table(
        ['C', 'orders', 'completed/s', 'x ceiling', 'ack p50', 'ack p99', 'e2e p50', 'e2e p99', 'overhead p50', 'overhead p99', 'lost', 'ooo', 'not terminal', 'peak RSS MB'],
        runs.map(({ connections: c, figures: f }) => [
          c,
          f.load.sent,
          fmt(f.load.completedPerSec),
          fmt(f.achievedMultiple, 2),
          fmt(f.load.ackMs.p50),
          fmt(f.load.ackMs.p99),
          fmt(f.load.e2eMs.p50),
          fmt(f.load.e2eMs.p99),
          fmt(f.load.overheadMs.p50),
          fmt(f.load.overheadMs.p99),
          f.load.frames.lost,
          f.load.frames.outOfOrder,
          f.load.notTerminal,
          'unavailable' in f.processes ? 'n/a' : fmt(f.processes.peakTotalRssMb),
        ]),
      )}\n`,
    );
  }

  writeResults(startedAt, runs, {
    connections: args.sweep ? sweepSizes : connections,
    ordersPerConnection,
    rate: mode === 'open' ? rate : undefined,
    durationS: mode === 'open' ? durationS : undefined,
    sweep: args.sweep,
    accounts: external ? 1 : accounts,
    loadTimeoutMs,
  });
};

/** bench/results/<timestamp>.json: the configuration (common + this mode's) and the runs. */
const writeResults = (startedAt: Date, runs: unknown[], modeConfig: Record<string, unknown>): void => {
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const result = {
    startedAt: startedAt.toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    config: {
      profile,
      mode,
      ...modeConfig,
      warmup: !args['no-warmup'],
      drainMs,
      orderTimeoutMs,
      executeBatchSize: effectiveBatchSize,
      executionConcurrency: effectiveConcurrency,
      executionInvocationCap: 10,
      jvmOpts: args['jvm-opts'] ?? null,
      target: external ? { external: external.wsUrl } : { embedded: true, stage: 'bench', readyMs: stack?.readyMs },
    },
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform },
    runs,
  };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\nresults: ${file}\n`);
};

main()
  .then(() => cleanup())
  .then(() => process.exit(0))
  .catch(async (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (stack) log(`stack stderr tail:\n${stack.tail().join('\n')}`);
    await cleanup();
    process.exit(1);
  });
