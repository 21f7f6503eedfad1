import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot } from '../../../infra/env';
import type { E2eStack } from './stack';

export const ACCOUNTS = ['alice', 'bob', 'carol', 'dave', 'erin', 'fuzz'] as const;

export interface RunningStack {
  stack: E2eStack;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the engine the way a user does (`npm start`'s entry, infra/start.ts) on free ports, in its own process
 * group, and waits for the ready line. stop() sends SIGINT to the group (the stack's own clean shutdown), then
 * SIGKILL if it has not exited in 10 s.
 */
export const spawnStack = async (stage: string, envOverrides: Record<string, string> = {}): Promise<RunningStack> => {
  const [wsPort, httpPort, lambdaPort, sqsPort, dynamoPort] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
  const stateFile = join(mkdtempSync(join(tmpdir(), `engine-${stage}-`)), 'stack.json');
  const keys = Object.fromEntries(ACCOUNTS.map((account) => [account, `${stage}-${account}-${Math.random().toString(36).slice(2)}`]));
  const env = {
    ...process.env,
    STAGE: stage,
    WS_PORT: String(wsPort),
    HTTP_PORT: String(httpPort),
    LAMBDA_PORT: String(lambdaPort),
    SQS_PORT: String(sqsPort),
    DYNAMODB_PORT: String(dynamoPort),
    STACK_STATE_FILE: stateFile,
    SEED_API_KEYS: Object.entries(keys).map(([account, key]) => `${account}:${key}`).join(','),
    MOCK_PROFILE: 'fast',
    MOCK_TEST_HOOKS: 'true',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    ...envOverrides,
  };
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/start.ts'], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    if (process.env.E2E_LOG_LEVEL) process.stderr.write(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    try {
      process.kill(-(child.pid as number), 'SIGINT');
    } catch {
      return;
    }
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000));
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  try {
    const readyLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line within 60 s:\n${output.slice(-2000)}`)), 60_000);
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('ready '));
        if (line) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the stack exited before ready:\n${output.slice(-2000)}`));
      });
    });
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { endpoints: { sqs: string; dynamodb: string } };
    return {
      pid: child.pid as number,
      stop,
      stack: {
        wsUrl: `ws://127.0.0.1:${wsPort}`,
        devKey: new URL(readyLine.slice('ready '.length)).searchParams.get('apiKey') ?? '',
        keys,
        stateFile,
        stage,
        sqsEndpoint: state.endpoints.sqs,
        dynamoEndpoint: state.endpoints.dynamodb,
        readyMs: Date.now() - started,
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
};
