import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { hashApiKey, keyIdOf } from '../../lib/accounts/api-key';
import { accountsTableName, runKeysAction, type KeyListing, type KeysAction } from '../../lib/accounts/keys';
import { AccountsTable } from '../../lib/aws/accounts-table';
import { repoRoot } from '../../infra/env';
import { dynamoClient, stack } from './support/stack';

/**
 * `npm run keys` against DynamoDB Local of the integration stack (stage 'itest'): the logic through AccountsTable,
 * then the command itself as a child process, reaching the table through a state file and through --endpoint.
 */
const raw = dynamoClient();
const documentClient = DynamoDBDocumentClient.from(raw);
const tableName = accountsTableName(stack().stage);
const table = new AccountsTable(tableName, () => documentClient);
afterAll(() => raw.destroy());

const run = async (action: KeysAction): Promise<{ stdout: string[]; stderr: string[] }> => {
  const stdout: string[] = [];
  const stderr: string[] = [];
  await runKeysAction(action, table, { stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line) });
  return { stdout, stderr };
};

const rawItem = async (apiKeyHash: string) =>
  (await raw.send(new GetItemCommand({ TableName: tableName, Key: { apiKeyHash: { S: apiKeyHash } }, ConsistentRead: true }))).Item;

it('derives the table name serverless print resolves', () => {
  expect(tableName).toBe(stack().config.provider.environment?.ACCOUNTS_TABLE);
});

describe('keys against DynamoDB Local', () => {
  it('create stores the hash and not the key; list shows it without the key; revoke stops findByKeyHash', async () => {
    const account = `itest-keys-${randomUUID().slice(0, 8)}`;
    const created = await run({ command: 'create', accountId: account, label: 'integration bot' });
    expect(created.stdout).toHaveLength(1);
    const key = created.stdout[0] as string;
    expect(key).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);

    const hash = hashApiKey(key);
    const item = await rawItem(hash);
    expect(item).toEqual({
      apiKeyHash: { S: hash },
      accountId: { S: account },
      label: { S: 'integration bot' },
      createdAt: { S: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) },
    });
    expect(JSON.stringify(item)).not.toContain(key);
    expect(JSON.stringify(item)).not.toContain(key.slice(3));
    expect(await table.findByKeyHash(hash)).toMatchObject({ accountId: account, label: 'integration bot' });

    const listed = await run({ command: 'list', accountId: account, json: false });
    expect(listed.stdout).toHaveLength(2);
    expect(listed.stdout[1]).toMatch(new RegExp(`^${keyIdOf(hash)}\\s+${account}\\s+integration bot\\s+\\S+Z\\s+-$`));
    expect(listed.stdout.join('\n')).not.toContain(key);
    const json = JSON.parse((await run({ command: 'list', accountId: account, json: true })).stdout.join('\n')) as KeyListing[];
    expect(json).toEqual([{ keyId: keyIdOf(hash), accountId: account, label: 'integration bot', createdAt: expect.any(String), revokedAt: null }]);

    const revoked = await run({ command: 'revoke', selector: { keyId: keyIdOf(hash) } });
    expect(revoked.stdout[0]).toMatch(new RegExp(`^revoked ${keyIdOf(hash)} \\(account ${account}, label "integration bot", revoked \\S+Z\\)$`));
    expect(await table.findByKeyHash(hash)).toBeUndefined();
    // Kept, not deleted: the record says when it stopped working.
    const after = await table.get(hash, true);
    expect(after?.revokedAt).toMatch(/Z$/);
    expect(Date.parse(after?.revokedAt as string)).toBeGreaterThanOrEqual(Date.parse(after?.createdAt as string));

    // Revoking again (here by the key itself) keeps the first time.
    const again = await run({ command: 'revoke', selector: { key } });
    expect(again.stdout[0]).toBe(`already revoked: ${keyIdOf(hash)} (account ${account}, label "integration bot", revoked ${after?.revokedAt})`);
    expect((await table.get(hash, true))?.revokedAt).toBe(after?.revokedAt);
    const listedAfter = JSON.parse((await run({ command: 'list', accountId: account, json: true })).stdout.join('\n')) as KeyListing[];
    expect(listedAfter).toEqual([expect.objectContaining({ keyId: keyIdOf(hash), revokedAt: after?.revokedAt })]);
  });

  it('revoke --key revokes that key only; an unknown key is not created as a revoked stub', async () => {
    const account = `itest-keys-${randomUUID().slice(0, 8)}`;
    const first = (await run({ command: 'create', accountId: account, label: '' })).stdout[0] as string;
    const second = (await run({ command: 'create', accountId: account, label: '' })).stdout[0] as string;
    await run({ command: 'revoke', selector: { key: first } });
    expect(await table.findByKeyHash(hashApiKey(first))).toBeUndefined();
    expect(await table.findByKeyHash(hashApiKey(second))).toMatchObject({ accountId: account });

    await expect(run({ command: 'revoke', selector: { key: `sk_unknown-${randomUUID()}` } })).rejects.toThrow(
      expect.objectContaining({ code: 'KEY_NOT_FOUND' }),
    );
    expect(await table.get(hashApiKey('sk_never-stored'), true)).toBeUndefined();
  });

  it('a key id prefix that matches several keys revokes nothing', async () => {
    // Two records whose hashes share their first 9 characters (written directly: real hashes rarely do).
    const shared = randomUUID().replaceAll('-', '').slice(0, 9);
    const hashes = [`${shared}0`.padEnd(64, 'a'), `${shared}1`.padEnd(64, 'b')];
    for (const apiKeyHash of hashes) {
      await table.put({ apiKeyHash, accountId: 'itest-keys-ambiguous', label: '', createdAt: new Date().toISOString() });
    }
    await expect(run({ command: 'revoke', selector: { keyId: shared.slice(0, 8) } })).rejects.toThrow(
      expect.objectContaining({ code: 'KEY_AMBIGUOUS', message: expect.stringContaining(`${shared}0 (account itest-keys-ambiguous)`) }),
    );
    for (const apiKeyHash of hashes) expect((await table.get(apiKeyHash, true))?.revokedAt).toBeUndefined();
    // One more character picks one.
    await run({ command: 'revoke', selector: { keyId: `${shared}1` } });
    expect(await table.findByKeyHash(hashes[0] as string)).toBeDefined();
    expect(await table.findByKeyHash(hashes[1] as string)).toBeUndefined();
  });
});

describe('npm run keys (the command as a child process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keys-itest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'infra/keys.ts', ...args],
        // No stack of the developer's may be picked up, and no real credentials used.
        { cwd: repoRoot, env: { ...process.env, STACK_STATE_FILE: join(dir, 'absent.json'), AWS_PROFILE: '', AWS_ACCESS_KEY_ID: '', ...env }, timeout: 30_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  it('creates through the running stack\'s state file, lists and revokes through --endpoint', async () => {
    const stateFile = join(dir, 'stack.json');
    // What infra/start.ts writes; this process stands in for the stack's pid.
    writeFileSync(
      stateFile,
      JSON.stringify({ pid: process.pid, stage: stack().stage, region: stack().region, endpoints: { dynamodb: stack().dynamoEndpoint } }),
    );
    const account = `itest-cli-${randomUUID().slice(0, 8)}`;
    const created = await cli(['create', '--account', account, '--label', 'cli'], { STACK_STATE_FILE: stateFile });
    expect(created.stderr).toContain(`keys: table ${tableName} at ${stack().dynamoEndpoint} (the running stack)`);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(created.stdout).toBe(`${key}\n`);
    expect(await table.findByKeyHash(hashApiKey(key))).toMatchObject({ accountId: account, label: 'cli' });

    const target = ['--endpoint', stack().dynamoEndpoint, '--stage', stack().stage];
    const listed = await cli(['list', '--account', account, ...target]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(keyIdOf(hashApiKey(key)));
    expect(listed.stdout).not.toContain(key);

    const revoked = await cli(['revoke', '--key-id', keyIdOf(hashApiKey(key)), ...target]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked /);
    expect(await table.findByKeyHash(hashApiKey(key))).toBeUndefined();
  });

  it('exits 2 with a plain message when no stack runs, and 1 when the stage has no table', async () => {
    const none = await cli(['list']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('keys: no running stack (');
    expect(none.stderr).toContain('absent.json not found); start one with `npm start` or pass --stage <name> --aws');

    const wrongStage = await cli(['list', '--endpoint', stack().dynamoEndpoint, '--stage', 'no-such-stage']);
    expect(wrongStage.code).toBe(1);
    expect(wrongStage.stderr).toContain('table solana-order-engine-no-such-stage-accounts at');
    expect(wrongStage.stderr).toContain("does not exist (is the stage 'no-such-stage' right?)");
  });
});
