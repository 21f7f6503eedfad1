/**
 * The embedded stack for the bench: `infra/start.ts` in its own process group on free ports (the approach of
 * tests/e2e/global-setup.ts), stopped with SIGINT to the group then SIGKILL after 10 s, plus /proc sampling of
 * every process of the stack and the serverless-offline per-invocation `Duration` lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, repoRoot } from '../../infra/env';

export interface StackState {
  pid: number;
  offlinePid: number | null;
  dynamoPid: number | null;
  endpoints: { sqs: string; dynamodb: string; lambda: string; ws: string };
}

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
  /** Last lines of the stack's stderr (for error reports). */
  tail(): string[];
  stop(): Promise<{ forced: boolean; killed: number[] }>;
}

const INVOCATION_RE = /\(λ: ([^)]+)\) RequestId: \S+\s+Duration: ([\d.]+) ms\s+Billed Duration: (\d+) ms/;

export const startStack = async (opts: {
  profile: string;
  accounts: string[];
  env: Record<string, string>;
  readyTimeoutMs: number;
  echo: boolean;
}): Promise<StartedStack> => {
  const [wsPort, httpPort, lambdaPort, sqsPort, dynamoPort] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
  const dir = mkdtempSync(join(tmpdir(), 'engine-bench-'));
  const stateFile = join(dir, 'stack.json');
  const keys = Object.fromEntries(opts.accounts.map((a) => [a, `bench-${a}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`]));
  const env = {
    ...process.env,
    STAGE: 'bench',
    WS_PORT: String(wsPort),
    HTTP_PORT: String(httpPort),
    LAMBDA_PORT: String(lambdaPort),
    SQS_PORT: String(sqsPort),
    DYNAMODB_PORT: String(dynamoPort),
    STACK_STATE_FILE: stateFile,
    SEED_API_KEYS: Object.entries(keys).map(([a, k]) => `${a}:${k}`).join(','),
    MOCK_PROFILE: opts.profile,
    // debug: start.ts forwards serverless-offline's per-invocation "Duration" lines only at debug. The handlers get
    // the same level; they have a single debug line (an already-terminal order's redelivery), so the cost is the
    // offline log lines themselves (one per invocation).
    LOG_LEVEL: 'debug',
    ...opts.env,
  };
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/start.ts'], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const invocations: Invocation[] = [];
  let tail: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    const m = INVOCATION_RE.exec(line);
    if (m) {
      invocations.push({ fn: m[1] as string, durationMs: Number(m[2]), billedMs: Number(m[3]), seenAt: performance.now() });
      return;
    }
    if (tail.length > 200) tail = tail.slice(-100);
    tail.push(line);
    if (opts.echo) process.stderr.write(`[stack] ${line}\n`);
  });
  let exited = child.exitCode !== null;
  const exitPromise = new Promise<void>((r) => child.once('exit', () => {
    exited = true;
    r();
  }));
  let state: StackState | undefined;
  let stopped = false;
  const knownPids = new Set<number>();

  const stop = async (): Promise<{ forced: boolean; killed: number[] }> => {
    if (stopped) return { forced: false, killed: [] };
    const killed: number[] = [];
    stopped = true;
    for (const pid of descendantsOf(child.pid as number)) knownPids.add(pid);
    let forced = false;
    if (!exited) {
      try {
        process.kill(-(child.pid as number), 'SIGINT');
      } catch {
        // gone
      }
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
      if ((await Promise.race([exitPromise, timeout])) === 'timeout') {
        forced = true;
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    // serverless-offline and the JVM run in their own process groups (detached by start.ts): if start.ts could not
    // stop them, kill exactly those pids (seen as its descendants during the run).
    for (const pid of [state?.offlinePid, state?.dynamoPid, ...knownPids]) {
      if (pid && pid !== child.pid && alive(pid)) {
        forced = true;
        killed.push(pid);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
    return { forced, killed };
  };
  // Last line of defence if the bench dies without its cleanup running.
  process.once('exit', () => {
    if (stopped) return;
    for (const pid of [...knownPids, state?.offlinePid, state?.dynamoPid]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // gone
    }
  });

  const stack: StartedStack = {
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    keys,
    devKey: '',
    stage: 'bench',
    state: undefined as unknown as StackState,
    readyMs: 0,
    child,
    invocations,
    tail: () => tail.slice(-40),
    stop,
  };
  try {
    const readyLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line within ${opts.readyTimeoutMs / 1000} s`)), opts.readyTimeoutMs);
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('ready '));
        if (line) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`infra/start.ts exited (${code}) before ready`));
      });
    });
    stack.readyMs = Math.round(performance.now() - started);
    stack.devKey = new URL(readyLine.slice('ready '.length)).searchParams.get('apiKey') ?? '';
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as StackState;
    stack.state = state;
    for (const pid of descendantsOf(child.pid as number)) knownPids.add(pid);
    return stack;
  } catch (error) {
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${tail.slice(-30).join('\n')}`);
  }
};

// ---------------------------------------------------------------- /proc

const alive = (pid: number): boolean => {
  try {
    // A zombie (exited, not yet reaped by its parent) still answers signal 0: not alive.
    if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

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
