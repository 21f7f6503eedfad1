/**
 * `npm run bench`: the engine end to end, as a trading client feels it (issue 6).
 *
 *   npm run bench                                   realistic, closed loop, 200 connections x 5 orders
 *   npm run bench -- --profile zero --connections 100 --orders-per-connection 5
 *   npm run bench -- --mode open --rate 40 --duration 20
 *   npm run bench -- --sweep                        C in {1, 10, 50, 200}, one stack
 *   WS_URL=ws://127.0.0.1:3001 API_KEY=... npm run bench   an already running stack (no process figures)
 *
 * Starts the embedded stack itself (infra/start.ts, STAGE=bench, free ports, its own process group) unless WS_URL
 * and API_KEY are set; stops it (SIGINT to the group, SIGKILL after 10 s) on exit, error or Ctrl-C. Prints a table
 * and writes bench/results/<timestamp>.json. Targets are printed with PASS/MISS, never asserted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../infra/env';
import { type LoadResult, runLoad } from './support/load';
import { type Invocation, type Sampler, type StartedStack, startSampler, startStack } from './support/stack';
import { dist, fmt, table } from './support/stats';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', short: 'c' },
    'orders-per-connection': { type: 'string', short: 'k' },
    orders: { type: 'string', short: 'n' },
    profile: { type: 'string' },
    mode: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
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
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(
    `npm run bench -- [--profile zero|fast|realistic] [--mode closed|open] [--connections C] [--orders-per-connection K | --orders N]
                  [--rate R --duration S] [--sweep] [--accounts A] [--batch-size B] [--batching-window S] [--execution-concurrency X]
                  [--drain S] [--order-timeout S] [--load-timeout S] [--warmup K] [--no-warmup] [--jvm-opts '...'] [--verbose]
env: WS_URL + API_KEY target a running stack; MOCK_PROFILE, BENCH_CONNECTIONS, BENCH_ORDERS_PER_CONNECTION,
     EXECUTE_BATCH_SIZE, EXECUTION_CONCURRENCY are read as defaults.\n`,
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
if (!['zero', 'fast', 'realistic'].includes(profile)) throw new Error(`--profile must be zero, fast or realistic, got '${profile}'`);
const mode = (args.mode ?? process.env.BENCH_MODE ?? 'closed') as 'closed' | 'open';
if (mode !== 'closed' && mode !== 'open') throw new Error(`--mode must be closed or open, got '${String(mode)}'`);
const connections = Math.round(num(args.connections, 'BENCH_CONNECTIONS', 200));
let ordersPerConnection = Math.round(num(args['orders-per-connection'], 'BENCH_ORDERS_PER_CONNECTION', 5));
if (args.orders) ordersPerConnection = Math.max(1, Math.ceil(num(args.orders, 'BENCH_ORDERS', 1000) / connections));
const rate = num(args.rate, 'BENCH_RATE', 30);
const durationS = num(args.duration, 'BENCH_DURATION', 20);
const accounts = Math.round(num(args.accounts, 'BENCH_ACCOUNTS', 10));
// Realistic: long enough for an order whose transaction never lands to wait out its blockhash (150 blocks, 60-90 s)
// twice and be retried: 1 % of transactions never land, so 1 order in 10,000 loses two, and a 1000-order run meets
// one about every tenth time. The drain ends as soon as every order is terminal.
const drainMs = num(args.drain, 'BENCH_DRAIN', profile === 'realistic' ? 200 : 15) * 1000;
const orderTimeoutMs = num(args['order-timeout'], 'BENCH_ORDER_TIMEOUT', profile === 'realistic' ? 40 : 15) * 1000;
// Realistic closed loop: a connection whose order waits out a blockhash (60-90 s) still has to send the rest.
const loadTimeoutMs = num(args['load-timeout'], 'BENCH_LOAD_TIMEOUT', profile === 'realistic' ? 200 : 100) * 1000;
const sweepSizes = [1, 10, 50, 200];
if (connections > 1000 || ordersPerConnection * connections > 20_000 || rate * durationS > 20_000) {
  throw new Error('bounded: at most 1000 connections and 20000 orders per run');
}

const stackEnv: Record<string, string> = {};
if (args['batch-size']) stackEnv.EXECUTE_BATCH_SIZE = String(Math.round(num(args['batch-size'], 'EXECUTE_BATCH_SIZE', 10)));
if (args['batching-window']) stackEnv.EXECUTE_BATCHING_WINDOW_SECONDS = String(num(args['batching-window'], 'EXECUTE_BATCHING_WINDOW_SECONDS', 0));
if (args['execution-concurrency']) stackEnv.EXECUTION_CONCURRENCY = String(Math.round(num(args['execution-concurrency'], 'EXECUTION_CONCURRENCY', 10)));
// DynamoDB Local is spawned by infra/start.ts with the inherited environment, so the JVM reads JAVA_TOOL_OPTIONS.
if (args['jvm-opts']) stackEnv.JAVA_TOOL_OPTIONS = args['jvm-opts'];
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
    mode,
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
  let target: { wsUrl: string; apiKeys: string[] };
  if (external) {
    log(`targeting ${external.wsUrl} (WS_URL/API_KEY); no process figures`);
    target = { wsUrl: external.wsUrl, apiKeys: [external.apiKey] };
  } else {
    log(`starting the embedded stack (STAGE=bench, MOCK_PROFILE=${profile}, ${accounts} accounts)`);
    stack = await startStack({
      profile,
      accounts: Array.from({ length: accounts }, (_, i) => `bench${i}`),
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

  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const result = {
    startedAt: startedAt.toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    config: {
      profile,
      mode,
      connections: args.sweep ? sweepSizes : connections,
      ordersPerConnection,
      rate: mode === 'open' ? rate : undefined,
      durationS: mode === 'open' ? durationS : undefined,
      sweep: args.sweep,
      warmup: !args['no-warmup'],
      accounts: external ? 1 : accounts,
      drainMs,
      orderTimeoutMs,
      loadTimeoutMs,
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
