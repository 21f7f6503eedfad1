import type { TestProject } from 'vitest/node';
import { spawnStack } from './support/spawn-stack';

/** One engine for the e2e suite, started as `npm start` does; the suite asserts on what reaches its WebSocket. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const running = await spawnStack('e2e', {
    // Short, so redeliveries come within a test's window (AWS keeps visibility >= 6x the function timeout too).
    EXECUTION_TIMEOUT_SECONDS: '2',
    ORDERS_VISIBILITY_TIMEOUT_SECONDS: '12',
  });
  project.provide('e2eStack', running.stack);
  return running.stop;
}
