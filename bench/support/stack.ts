/**
 * The embedded stack for the bench: infra/stack-process.ts (infra/start.ts in its own process group on free ports,
 * stopped with SIGINT then SIGKILL), plus serverless-offline's per-invocation `Duration` lines and /proc sampling of
 * every process of the stack.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { spawnStackProcess, type StackState } from '../../infra/stack-process';

export type { StackState };

/** One Lambda invocation as serverless-offline reports it: `(λ: fn) RequestId: ..  Duration: X ms  Billed Duration: Y ms`. */
export interface Invocation {
  fn: string;
  durationMs: number;
  billedMs: number;
  /** When the line reached the bench (performance.now()); the invocation started ~durationMs earlier. */
  seenAt: number;
}

export interface StartedStack {
  wsUrl: string;
  keys: Record<string, string>;
  devKey: string;
  stage: string;
  state: StackState;
  readyMs: number;
  child: ChildProcess;
  invocations: Invocation[];
  /** AWS round trips by `service:Command` since the Lambda host started (cumulative), from its last counts line. */
  awsCalls(): Record<string, number>;
  /** The event-source poller's own counts per function (whole life of the stack), from its periodic stats line. */
  pollerStats(): Record<string, { invocations: number; maxConcurrentInvocations: number }> | undefined;
  /** Last lines of the stack's stderr (for error reports). */
  tail(): string[];
  stop(): Promise<{ forced: boolean; killed: number[] }>;
}

const POLLER_STATS_RE = /poller stats (\{.*\})\s*$/;
/** lib/aws/clients.ts's periodic line (AWS_CALL_STATS_INTERVAL_MS), relayed by infra/offline.ts. */
const AWS_CALLS_RE = /"message":"aws call counts","counts":(\{[^}]*\})/;
const INVOCATION_RE = /\(λ: ([^)]+)\) RequestId: \S+\s+Duration: ([\d.]+) ms\s+Billed Duration: (\d+) ms/;

export const startStack = async (opts: {
  profile: string;
  accounts: string[];
  env: Record<string, string>;
  readyTimeoutMs: number;
  echo: boolean;
}): Promise<StartedStack> => {
  const keys = Object.fromEntries(opts.accounts.map((a) => [a, `bench-${a}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`]));
  const invocations: Invocation[] = [];
  let pollerStats: ReturnType<StartedStack['pollerStats']>;
  let awsCalls: Record<string, number> = {};
  let tail: string[] = [];
  const running = await spawnStackProcess({
    stage: 'bench',
    readyTimeoutMs: opts.readyTimeoutMs,
    env: {
      SEED_API_KEYS: Object.entries(keys).map(([a, k]) => `${a}:${k}`).join(','),
      MOCK_PROFILE: opts.profile,
      // debug: start.ts forwards serverless-offline's per-invocation "Duration" lines only at debug. The handlers get
      // the same level; they have a single debug line (an already-terminal order's redelivery), so the cost is the
      // offline log lines themselves (one per invocation).
      LOG_LEVEL: 'debug',
      POLLER_STATS_INTERVAL_MS: '500',
      // Round trips per command for the cost per million orders (bench/cost.ts); a map update per call otherwise.
      AWS_CALL_STATS_INTERVAL_MS: '500',
      ...opts.env,
    },
    onStderrLine: (line) => {
      const stats = POLLER_STATS_RE.exec(line);
      if (stats) {
        pollerStats = JSON.parse(stats[1] as string) as ReturnType<StartedStack['pollerStats']>;
        return;
      }
      const calls = AWS_CALLS_RE.exec(line);
      if (calls) {
        awsCalls = JSON.parse(calls[1] as string) as Record<string, number>;
        return;
      }
      const m = INVOCATION_RE.exec(line);
      if (m) {
        invocations.push({ fn: m[1] as string, durationMs: Number(m[2]), billedMs: Number(m[3]), seenAt: performance.now() });
        return;
      }
      if (tail.length > 200) tail = tail.slice(-100);
      tail.push(line);
      if (opts.echo) process.stderr.write(`[stack] ${line}\n`);
    },
  });
  return {
    wsUrl: running.wsUrl,
    keys,
    devKey: running.devKey,
    stage: 'bench',
    state: running.readState(),
    readyMs: running.readyMs,
    child: running.child,
    invocations,
    awsCalls: () => awsCalls,
    pollerStats: () => pollerStats,
    tail: () => tail.slice(-40),
    stop: () => running.stop(),
  };
};

// ---------------------------------------------------------------- /proc

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, clock ticks. */
  cpuTicks: number;
}

const readStat = (pid: number): ProcStat | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { pid, comm, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
};

const readRssKb = (pid: number): number | undefined => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
};

const allStats = (): ProcStat[] => {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
};

/** root and every process below it (by /proc/<pid>/stat ppid). */
export const descendantsOf = (root: number, stats: ProcStat[] = allStats()): number[] => {
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift() as number;
    if (out.includes(pid)) continue;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
};

/** Clock ticks per second (USER_HZ): 100 on every Linux we run on; `getconf CLK_TCK` confirms. */
const CLK_TCK = 100;

export interface ProcessFigures {
  pid: number;
  role: string;
  comm: string;
  peakRssMb: number;
  /** CPU seconds over the measured window (utime+stime at end minus at start). */
  cpuSeconds: number | null;
  /** CPU seconds since the process started (utime+stime at the end). */
  cpuSecondsTotal: number | null;
}

export interface Sampler {
  /** Marks the start of a measured window (CPU baseline, peak reset). */
  mark(): void;
  /** Figures for the window since the last mark. */
  snapshot(): { processes: ProcessFigures[]; peakTotalRssMb: number; samples: number };
  stop(): void;
}

/** Samples VmRSS of the stack's processes every intervalMs; roots are start.ts, offline, the JVM (plus children). */
export const startSampler = (roots: () => Array<{ pid: number | null; role: string }>, intervalMs = 200): Sampler => {
  const roleOf = new Map<number, string>();
  const peak = new Map<number, number>();
  const comm = new Map<number, string>();
  const lastTicks = new Map<number, number>();
  let baseline = new Map<number, number>();
  let peakTotal = 0;
  let samples = 0;
  const sample = (): void => {
    const stats = allStats();
    const byPid = new Map(stats.map((s) => [s.pid, s]));
    const pids = new Set<number>();
    for (const { pid, role } of roots()) {
      if (!pid) continue;
      for (const d of descendantsOf(pid, stats)) {
        pids.add(d);
        if (!roleOf.has(d)) roleOf.set(d, d === pid ? role : `child of ${role}`);
        else if (d === pid) roleOf.set(d, role);
      }
    }
    let total = 0;
    for (const pid of pids) {
      const rss = readRssKb(pid);
      const s = byPid.get(pid);
      if (rss === undefined || !s) continue;
      total += rss;
      peak.set(pid, Math.max(peak.get(pid) ?? 0, rss));
      comm.set(pid, s.comm);
      lastTicks.set(pid, s.cpuTicks);
      if (!baseline.has(pid)) baseline.set(pid, s.cpuTicks);
    }
    peakTotal = Math.max(peakTotal, total);
    samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    mark: () => {
      sample();
      baseline = new Map(lastTicks);
      peak.clear();
      peakTotal = 0;
      samples = 0;
      sample();
    },
    snapshot: () => {
      sample();
      const processes = [...peak.keys()].map((pid) => {
        const last = lastTicks.get(pid);
        const base = baseline.get(pid);
        return {
          pid,
          role: roleOf.get(pid) ?? '?',
          comm: comm.get(pid) ?? '?',
          peakRssMb: Math.round(((peak.get(pid) ?? 0) / 1024) * 10) / 10,
          cpuSeconds: last !== undefined && base !== undefined ? (last - base) / CLK_TCK : null,
          cpuSecondsTotal: last !== undefined ? last / CLK_TCK : null,
        };
      });
      return { processes, peakTotalRssMb: Math.round((peakTotal / 1024) * 10) / 10, samples };
    },
    stop: () => clearInterval(timer),
  };
};
