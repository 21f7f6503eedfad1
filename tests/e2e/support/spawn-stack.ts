import { spawnStackProcess, type StackProcess } from '../../../infra/stack-process';
import type { E2eStack } from './stack';

export const ACCOUNTS = ['alice', 'bob', 'carol', 'dave', 'erin', 'fuzz'] as const;

export interface RunningStack {
  stack: E2eStack;
  /** The process behind it: its state file names the Lambda host's and the JVM's PIDs. */
  process: StackProcess;
  stop(): Promise<void>;
}

/** The engine as `npm start` runs it, with one seeded API key per test account, the fast profile and test hooks on. */
export const spawnStack = async (
  stage: string,
  envOverrides: Record<string, string> = {},
  options: { onStderrLine?: (line: string) => void } = {},
): Promise<RunningStack> => {
  const keys = Object.fromEntries(ACCOUNTS.map((account) => [account, `${stage}-${account}-${Math.random().toString(36).slice(2)}`]));
  const running = await spawnStackProcess({
    stage,
    env: {
      SEED_API_KEYS: Object.entries(keys).map(([account, key]) => `${account}:${key}`).join(','),
      MOCK_PROFILE: 'fast',
      MOCK_TEST_HOOKS: 'true',
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
      ...envOverrides,
    },
    onStderrLine: (line: string) => {
      if (process.env.E2E_LOG_LEVEL) process.stderr.write(`${line}\n`);
      options.onStderrLine?.(line);
    },
  });
  const state = running.readState();
  return {
    process: running,
    stop: async () => {
      await running.stop();
    },
    stack: {
      wsUrl: running.wsUrl,
      httpUrl: running.httpUrl,
      devKey: running.devKey,
      keys,
      stateFile: running.stateFile,
      stage,
      sqsEndpoint: state.endpoints.sqs,
      dynamoEndpoint: state.endpoints.dynamodb,
      readyMs: running.readyMs,
    },
  };
};
