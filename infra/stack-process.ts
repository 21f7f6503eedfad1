import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, repoRoot } from './env';

/** What `infra/start.ts` writes to its state file once ready (and again after restarting serverless-offline). */
export interface StackState {
  pid: number;
  offlinePid: number | null;
  dynamoPid: number | null;
  endpoints: { sqs: string; dynamodb: string; lambda: string; ws: string; http: string };
}

/** `ready <ws URL with ?apiKey=> <HTTP base URL>` (infra/start.ts): the WebSocket URL first, then the HTTP API's. */
export const parseReadyLine = (line: string): { wsUrl: string; devKey: string; httpUrl: string } => {
  const [word, ws = '', http = ''] = line.trim().split(/\s+/);
  if (word !== 'ready' || !ws.startsWith('ws://') || !http.startsWith('http://')) throw new Error(`not a ready line: ${line}`);
  const url = new URL(ws);
  const devKey = url.searchParams.get('apiKey') ?? '';
  url.search = '';
  return { wsUrl: url.toString().replace(/\/$/, ''), devKey, httpUrl: http };
};

export interface StackProcess {
  child: ChildProcess;
  wsUrl: string;
  /** The HTTP API's base URL (also where the web order ticket is served). */
  httpUrl: string;
  devKey: string;
  stateFile: string;
  /** Milliseconds from spawn to the ready line. */
  readyMs: number;
  /** The state file as it is now (serverless-offline's pid changes when the supervisor restarts it). */
  readState(): StackState;
  stop(graceMs?: number): Promise<{ forced: boolean; killed: number[] }>;
}

/** Whether a process runs (a zombie, exited but not yet reaped, does not). */
export const alive = (pid: number): boolean => {
  try {
    // A zombie (exited, not yet reaped) still answers signal 0: not alive.
    if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const kill = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
};

/**
 * The embedded stack as a user starts it (`npm start`'s entry, infra/start.ts), for tests and the bench: free ports
 * on 127.0.0.1, its own process group, a private state file. Resolves at the ready line. stop() sends SIGINT to the
 * group (the stack's own clean shutdown), SIGKILL after graceMs, then kills serverless-offline and the JVM by the
 * PIDs in the state file if they outlived it: only processes this started.
 */
export const spawnStackProcess = async (options: {
  stage: string;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  onStderrLine?: (line: string) => void;
}): Promise<StackProcess> => {
  const [ws, offlineWs, http, lambda, sqs, dynamodb] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const dir = mkdtempSync(join(tmpdir(), `engine-${options.stage}-`));
  const stateFile = join(dir, 'stack.json');
  const env = {
    ...process.env,
    STAGE: options.stage,
    WS_PORT: String(ws),
    OFFLINE_WS_PORT: String(offlineWs),
    HTTP_PORT: String(http),
    LAMBDA_PORT: String(lambda),
    SQS_PORT: String(sqs),
    DYNAMODB_PORT: String(dynamodb),
    STACK_STATE_FILE: stateFile,
    // Tests and the bench keep nothing between runs unless they ask for a data directory (the whole-stack crash test).
    STACK_IN_MEMORY: 'true',
    ...options.env,
  };
  const started = performance.now();
  const child = spawn(process.execPath, [...(process.env.STACK_NODE_ARGS ?? '').split(/\s+/).filter(Boolean), '--import', 'tsx', 'infra/start.ts'], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 60) tail.shift();
    options.onStderrLine?.(line);
  });
  const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  const readState = (): StackState => JSON.parse(readFileSync(stateFile, 'utf8')) as StackState;
  const children = new Set<number>();
  const remember = (): void => {
    try {
      const state = readState();
      for (const pid of [state.offlinePid, state.dynamoPid]) if (pid) children.add(pid);
    } catch {
      // not written yet
    }
  };

  let stopping: Promise<{ forced: boolean; killed: number[] }> | undefined;
  const stop = (graceMs = 10_000): Promise<{ forced: boolean; killed: number[] }> => {
    stopping ??= (async () => {
      remember();
      let forced = false;
      if (child.exitCode === null && child.signalCode === null) {
        kill(-(child.pid as number), 'SIGINT');
        const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
        if ((await Promise.race([exited, timeout])) === 'timeout') {
          forced = true;
          kill(-(child.pid as number), 'SIGKILL');
        }
      }
      const killed = [...children].filter(alive);
      for (const pid of killed) kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      return { forced: forced || killed.length > 0, killed };
    })();
    return stopping;
  };
  // Last line of defence when the caller dies without stopping it.
  process.once('exit', () => {
    if (stopping) return;
    remember();
    kill(-(child.pid as number), 'SIGKILL');
    for (const pid of children) kill(pid, 'SIGKILL');
  });

  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  try {
    const readyLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line within ${readyTimeoutMs / 1000} s`)), readyTimeoutMs);
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('ready '));
        if (line) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`infra/start.ts exited (${child.exitCode ?? child.signalCode}) before ready`));
      });
    });
    remember();
    const ready = parseReadyLine(readyLine);
    return {
      child,
      wsUrl: `ws://127.0.0.1:${ws}`,
      httpUrl: ready.httpUrl,
      devKey: ready.devKey,
      stateFile,
      readyMs: Math.round(performance.now() - started),
      readState,
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${tail.join('\n')}`);
  }
};
