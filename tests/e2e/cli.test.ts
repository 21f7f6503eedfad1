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
