import { afterAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { alive, spawnStackProcess, type StackProcess } from '../../infra/stack-process';

/*
 * `kill -9` of `npm start` alone (not its process group) leaves serverless-offline and the DynamoDB Local JVM
 * running. The next start on the same state file and ports must reclaim them by the PIDs that file names, and say so
 * in one line, rather than talk to the orphan JVM (or die on the port clash without a word).
 */
const started: StackProcess[] = [];
afterAll(async () => {
  for (const stack of started.reverse()) await stack.stop();
}, 60_000);

it('a start after kill -9 of the previous one alone stops its orphans by PID, says so, and serves', async () => {
  const first = await spawnStackProcess({ stage: 'leftovers', env: { MOCK_PROFILE: 'fast' } });
  started.push(first);
  const before = first.readState() as ReturnType<StackProcess['readState']> & { ports: Record<string, number> };
  process.kill(before.pid, 'SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));
  expect(alive(before.offlinePid as number)).toBe(true);
  expect(alive(before.dynamoPid as number)).toBe(true);

  const lines: string[] = [];
  const second = await spawnStackProcess({
    stage: 'leftovers',
    env: {
      MOCK_PROFILE: 'fast',
      STACK_STATE_FILE: first.stateFile,
      WS_PORT: String(before.ports.ws),
      OFFLINE_WS_PORT: String(before.ports.offlineWs),
      HTTP_PORT: String(before.ports.http),
      LAMBDA_PORT: String(before.ports.lambda),
      SQS_PORT: String(before.ports.sqs),
      DYNAMODB_PORT: String(before.ports.dynamodb),
    },
    onStderrLine: (line) => lines.push(line),
  });
  started.push(second);
  expect(alive(before.offlinePid as number)).toBe(false);
  expect(alive(before.dynamoPid as number)).toBe(false);
  const reclaimed = lines.filter((line) => line.includes('left over from a previous run'));
  expect(reclaimed).toHaveLength(1);
  expect(reclaimed[0]).toContain(`serverless-offline (pid ${before.offlinePid})`);
  expect(reclaimed[0]).toContain(`DynamoDB Local (pid ${before.dynamoPid})`);
  // The second stack was pointed at the first one's state file (its own readState reads another path).
  const after = JSON.parse(readFileSync(first.stateFile, 'utf8')) as ReturnType<StackProcess['readState']>;
  expect(after.pid).toBe(second.child.pid);
  expect(after.dynamoPid).not.toBe(before.dynamoPid);
  expect(alive(after.dynamoPid as number)).toBe(true);
}, 120_000);
