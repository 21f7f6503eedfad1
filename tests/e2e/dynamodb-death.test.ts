import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { spawnStackProcess } from '../../infra/stack-process';
import { spawnStack, type RunningStack } from './support/spawn-stack';
import { TestClient, type AnyFrame } from './support/ws-client';
import { e2e, ordersStillOpen, useStack } from './support/stack';

/*
 * Issue 10, section 2: DynamoDB Local dying alone (its JVM killed) is noticed. With its data on disk the stack
 * restarts it and goes on; clients get an answer (pending or UNAVAILABLE with retryAfterMs) for every request, never
 * a hang. With its data in memory the stack stops loudly instead of serving an empty store.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'engine-ddbdeath-data-'));
let running: RunningStack | undefined;

afterAll(async () => {
  useStack(undefined);
  await running?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

const dynamoPidOf = (stateFile: string): number => (JSON.parse(readFileSync(stateFile, 'utf8')) as { dynamoPid: number }).dynamoPid;

it('the JVM killed under a stack with its data on disk: restarted, every request answered, every acknowledged order terminal', async () => {
  running = await spawnStack('ddbdeath', { STACK_IN_MEMORY: 'false', STACK_DATA_DIR: dataDir });
  useStack(running.stack);
  const client = await TestClient.connect(e2e().wsUrl, e2e().keys.alice);
  const killed = dynamoPidOf(e2e().stateFile);
  process.kill(killed, 'SIGKILL');
  const sentAt = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, n) => {
      const clientOrderId = `ddbdeath-${n}`;
      client.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '3', clientOrderId });
      // Bounded by the route's budget (under 10 s): an answer comes, whichever it is.
      return client.next((f: AnyFrame) => f.clientOrderId === clientOrderId, 20_000);
    }),
  );
  const answeredWithinMs = Date.now() - sentAt;
  for (const answer of answers) {
    if (answer.type === 'error') expect(answer).toMatchObject({ code: 'UNAVAILABLE', action: 'execute', retryAfterMs: expect.any(Number) });
    else expect(answer).toMatchObject({ type: 'order', status: 'pending', seq: 1 });
  }
  // The supervisor started a new JVM on the same data.
  const deadline = Date.now() + 30_000;
  while (dynamoPidOf(e2e().stateFile) === killed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  expect(dynamoPidOf(e2e().stateFile)).not.toBe(killed);

  // After the restart: the account (on disk) still connects, new orders go through, the acknowledged ones end.
  client.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '3', clientOrderId: 'ddbdeath-after' });
  const after = await client.next((f: AnyFrame) => f.clientOrderId === 'ddbdeath-after' && f.status === 'confirmed', 30_000);
  expect(after).toMatchObject({ type: 'order', status: 'confirmed' });
  expect(await ordersStillOpen(60_000)).toEqual([]);
  await client.close();
  console.info(`DynamoDB Local killed: ${answers.filter((a) => a.type === 'order').length} of 20 acknowledged, the rest UNAVAILABLE; all answered within ${answeredWithinMs} ms`);
}, 150_000);

it('the JVM killed under a stack with its data in memory: the stack stops loudly', async () => {
  const lines: string[] = [];
  const stack = await spawnStackProcess({ stage: 'ddbdeathmem', env: { STACK_IN_MEMORY: 'true', MOCK_PROFILE: 'fast' }, onStderrLine: (line) => lines.push(line) });
  try {
    const exited = new Promise<number | null>((resolve) => stack.child.once('exit', (code) => resolve(code)));
    process.kill(stack.readState().dynamoPid as number, 'SIGKILL');
    const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000))]);
    expect(code).toBe(1);
    expect(lines.some((line) => /DynamoDB Local .* exited .* in memory/.test(line))).toBe(true);
  } finally {
    await stack.stop();
  }
}, 90_000);
