import { expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { repoRoot } from '../../infra/env';
import { e2e } from './support/stack';

/** The CLI as a person runs it (`npm run cli -- ...`), spawned against the suite's stack; its output and exit code. */
const cli = (args: string[]): Promise<{ code: number | null; lines: string[]; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'client/cli.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ENGINE_WS_URL: e2e().wsUrl, ENGINE_API_KEY: e2e().keys.erin },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, lines: stdout.split('\n').filter(Boolean), stderr }));
  });

it('sell --json: one frame per line, seq 1..5 of one order ending confirmed, exit 0', async () => {
  const { code, lines, stderr } = await cli(['sell', '0.5', 'SOL', '--for', 'USDC', '--json']);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const frames = lines.map((line) => JSON.parse(line) as { orderId: string; seq: number; status: string });
  expect(frames.map((frame) => frame.seq)).toEqual([1, 2, 3, 4, 5]);
  expect(new Set(frames.map((frame) => frame.orderId)).size).toBe(1);
  expect(frames.at(-1)?.status).toBe('confirmed');
}, 60_000);

it('buy --count 2: a line per status of each order, exit 0', async () => {
  const { code, lines } = await cli(['buy', 'SOL', '--with', '20', 'USDC', '--count', '2']);
  expect(code).toBe(0);
  expect(lines.filter((line) => / confirmed /.test(line))).toHaveLength(2);
  expect(lines.some((line) => line.startsWith('#1 ') && / routing .*raydium .*meteora/.test(line))).toBe(true);
}, 60_000);

it('a refused order exits 1 with the code in words; a usage error exits 2', async () => {
  const refused = await cli(['sell', '1', 'SOL', '--for', 'SOL']);
  expect(refused.code).toBe(1);
  expect(refused.lines.join('\n')).toContain('refused VALIDATION_FAILED');
  const usage = await cli(['buy', '1.5', 'SOL', '--with', 'USDC']);
  expect(usage.code).toBe(2);
}, 60_000);

it('orders lists the account\'s orders one line each; cancel cancels a resting one (exit 0), then refuses it (exit 1)', async () => {
  // The CLI places market orders only: the resting limit order is placed over WebSocket, on the same account.
  const { TestClient } = await import('./support/ws-client');
  const client = await TestClient.connect(e2e().wsUrl, e2e().keys.erin);
  try {
    const clientOrderId = `cli-rest-${Date.now()}`;
    client.send({ action: 'execute', type: 'limit', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '10', limitPrice: '1', clientOrderId });
    const pending = await client.next((f) => f.type === 'order' && f.clientOrderId === clientOrderId);
    const orderId = pending.orderId as string;
    expect(await client.next((f) => f.type === 'order' && f.orderId === orderId, 15_000)).toMatchObject({ status: 'open' });

    const open = await cli(['orders', '--status', 'open']);
    expect(open.code).toBe(0);
    const line = open.lines.find((l) => l.startsWith(orderId));
    expect(line).toMatch(new RegExp(`^${orderId} open +seq 2 \\d+s ago ${clientOrderId} limit @ 1 `));

    const cancelled = await cli(['cancel', orderId]);
    expect(cancelled.stderr).toBe('');
    expect(cancelled).toMatchObject({ code: 0, lines: [`${orderId} seq 3 cancelled`] });
    expect(await client.next((f) => f.type === 'order' && f.orderId === orderId)).toMatchObject({ status: 'cancelled', seq: 3 });

    const again = await cli(['cancel', orderId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('refused NOT_CANCELLABLE');
    expect(again.stderr).toContain('status: cancelled');

    const closed = await cli(['orders', '--status', 'closed', '--limit', '5', '--json']);
    expect(closed.code).toBe(0);
    const frames = closed.lines.map((l) => JSON.parse(l) as { orderId: string; status: string });
    expect(frames.length).toBeLessThanOrEqual(5);
    expect(frames.find((f) => f.orderId === orderId)).toMatchObject({ status: 'cancelled' });
  } finally {
    await client.close();
  }
}, 60_000);
