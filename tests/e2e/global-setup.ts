import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { spawnStack } from './support/spawn-stack';

/**
 * One engine for the e2e suite, started as `npm start` does; the suite asserts on what reaches its WebSocket.
 * E2E_PACKAGED_DIR=<dir> starts it in the packaged mode (infra/start.ts --packaged): its Lambda host runs the bundles
 * `serverless package --package <dir>` wrote, the code a deploy uploads, instead of the TypeScript sources.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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
