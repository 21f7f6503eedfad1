import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { hashApiKey, keyIdOf } from '../../lib/accounts/api-key';
import { repoRoot } from '../../infra/env';
import { ConnectRefused, TestClient } from './support/ws-client';
import { e2e } from './support/stack';

/** `npm run keys` as an operator runs it, against the e2e stack's DynamoDB; the stack's `$connect` is the judge. */
const keys = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'infra/keys.ts', ...args, '--endpoint', e2e().dynamoEndpoint, '--stage', e2e().stage],
      { cwd: repoRoot, env: { ...process.env, STACK_STATE_FILE: e2e().stateFile }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });

const open: TestClient[] = [];
afterEach(async () => {
  const stray = await Promise.all(open.map((client) => client.strayFrames()));
  await Promise.all(open.splice(0).map((client) => client.close()));
  expect(stray.flat()).toEqual([]);
});

describe('keys made and revoked with npm run keys', () => {
  it('a created key connects; once revoked, $connect refuses it with 401', async () => {
    const account = `e2e-keys-${randomUUID().slice(0, 8)}`;
    const created = await keys(['create', '--account', account, '--label', 'e2e']);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();

    const client = await TestClient.connect(e2e().wsUrl, key);
    open.push(client);
    client.send({ action: 'quote', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: 1 });
    expect((await client.next()).type).toBe('quote');

    const revoked = await keys(['revoke', '--key-id', keyIdOf(hashApiKey(key))]);
    expect(revoked.code, revoked.stderr).toBe(0);
    await expect(TestClient.connect(e2e().wsUrl, key)).rejects.toEqual(new ConnectRefused(401));
    await expect(TestClient.connect(e2e().wsUrl, key, { viaHeader: true })).rejects.toEqual(new ConnectRefused(401));

    // Other accounts' keys are untouched.
    const other = await TestClient.connect(e2e().wsUrl, e2e().keys.alice);
    open.push(other);
  });
});
