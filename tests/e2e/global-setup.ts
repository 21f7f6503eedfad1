import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { spawnStack } from './support/spawn-stack';
import type { E2eStack } from './support/stack';

/**
 * A deployed stage instead of a local stack (the deploy workflow's smoke step): E2E_WS_URL (its wss:// URL) and
 * E2E_API_KEY (a key made with `npm run keys -- create ... --stage <s> --aws`). Only tests that need no more than the
 * WebSocket and that key can pass against it (tests/e2e/smoke.test.ts): the rest read the stack's tables and queues.
 */
const externalStack = (): E2eStack | undefined => {
  const wsUrl = process.env.E2E_WS_URL;
  if (!wsUrl) return undefined;
  const devKey = process.env.E2E_API_KEY;
  if (!devKey) throw new Error('E2E_WS_URL is set but E2E_API_KEY is not: the smoke tests need a key of that stage');
  if (!/^wss?:\/\//.test(wsUrl)) throw new Error(`E2E_WS_URL must be a ws:// or wss:// URL, got ${wsUrl}`);
  return { wsUrl, httpUrl: process.env.E2E_HTTP_URL ?? '', devKey, keys: {}, stateFile: '', stage: 'external', sqsEndpoint: '', dynamoEndpoint: '', readyMs: 0 };
};

/**
 * One engine for the e2e suite, started as `npm start` does; the suite asserts on what reaches its WebSocket.
 * E2E_PACKAGED_DIR=<dir> starts it in the packaged mode (infra/start.ts --packaged): its Lambda host runs the bundles
 * `serverless package --package <dir>` wrote, the code a deploy uploads, instead of the TypeScript sources.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = externalStack();
  if (external) {
    project.provide('e2eStack', external);
    return async () => {};
  }
  const packaged = process.env.E2E_PACKAGED_DIR ? resolve(process.env.E2E_PACKAGED_DIR) : undefined;
  const running = await spawnStack('e2e', {
    // Short, so redeliveries come within a test's window (AWS keeps visibility >= 6x the function timeout too).
    EXECUTION_TIMEOUT_SECONDS: '2',
    ORDERS_VISIBILITY_TIMEOUT_SECONDS: '12',
    ...(packaged ? { STACK_PACKAGED_DIR: packaged } : {}),
  });
  if (packaged) {
    // The stack says which code it runs: a run meant for the bundles must not pass on the sources.
    const state = JSON.parse(readFileSync(running.stack.stateFile, 'utf8')) as { packaged?: string | null };
    if (state.packaged !== packaged) {
      await running.stop();
      throw new Error(`E2E_PACKAGED_DIR=${packaged}, but the stack runs ${state.packaged ? `the package ${state.packaged}` : 'the sources'}`);
    }
  }
  project.provide('e2eStack', running.stack);
  return running.stop;
}
