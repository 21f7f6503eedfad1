import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashApiKey, type AccountRecord } from '../../lib/accounts/api-key';
import {
  accountsTableName,
  distinguishingLength,
  formatListings,
  KeysCommandError,
  matchKeyPrefix,
  runKeysAction,
  toListing,
  type KeysStore,
} from '../../lib/accounts/keys';
import type { RevokeOutcome } from '../../lib/aws/accounts-table';
import { repoRoot } from '../../infra/env';
import { main, parseKeysArgs, readStackStatus, resolveTarget, type StackStatus } from '../../infra/keys';

/** The USAGE error a command line gets, or a failure if it parses. */
const usageProblem = (argv: string[]): string => {
  try {
    parseKeysArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(KeysCommandError);
    expect((error as KeysCommandError).code).toBe('USAGE');
    expect((error as KeysCommandError).exitCode).toBe(2);
    return (error as KeysCommandError).message;
  }
  throw new Error(`'${argv.join(' ')}' parsed`);
};

const record = (apiKeyHash: string, overrides: Partial<AccountRecord> = {}): AccountRecord => ({
  apiKeyHash,
  accountId: 'alice',
  label: '',
  createdAt: '2025-01-01T00:00:00.000Z',
  ...overrides,
});
const hex = (prefix: string): string => prefix.padEnd(64, '0');

describe('parseKeysArgs', () => {
  it('parses each command with its options and the target options', () => {
    expect(parseKeysArgs(['create', '--account', 'alice', '--label', 'laptop bot'])).toEqual({
      help: false,
      target: { aws: false },
      action: { command: 'create', accountId: 'alice', label: 'laptop bot' },
    });
    expect(parseKeysArgs(['create', '--account=bob'])).toMatchObject({ action: { command: 'create', accountId: 'bob', label: '' } });
    expect(parseKeysArgs(['list'])).toMatchObject({ action: { command: 'list', json: false } });
    expect(parseKeysArgs(['list', '--account', 'alice', '--json', '--stage', 'prod', '--aws'])).toEqual({
      help: false,
      target: { aws: true, stage: 'prod' },
      action: { command: 'list', accountId: 'alice', json: true },
    });
    expect(parseKeysArgs(['revoke', '--key-id', 'AB12cd34', '--endpoint', 'http://127.0.0.1:8000', '--stage', 'dev'])).toEqual({
      help: false,
      target: { aws: false, stage: 'dev', endpoint: 'http://127.0.0.1:8000' },
      action: { command: 'revoke', selector: { keyId: 'ab12cd34' } },
    });
    expect(parseKeysArgs(['revoke', '--key', 'sk_abc'])).toMatchObject({ action: { command: 'revoke', selector: { key: 'sk_abc' } } });
    expect(parseKeysArgs(['--help'])).toEqual({ help: true });
    expect(parseKeysArgs(['create', '-h'])).toEqual({ help: true });
  });

  it('refuses bad or missing arguments with a message naming the problem', () => {
    expect(usageProblem([])).toMatch(/missing command/);
    expect(usageProblem(['frob'])).toMatch(/unknown command 'frob'/);
    expect(usageProblem(['list', 'extra'])).toMatch(/unexpected argument 'extra'/);
    expect(usageProblem(['create'])).toMatch(/create needs --account/);
    expect(usageProblem(['create', '--account'])).toMatch(/--account.*argument missing/);
    expect(usageProblem(['create', '--account', '--label', 'x'])).toMatch(/--account.*ambiguous.*forget its value/);
    expect(usageProblem(['create', '--account', 'has space'])).toMatch(/^--account: letters, digits/);
    expect(usageProblem(['create', '--account', 'a:b'])).toMatch(/^--account:/);
    expect(usageProblem(['create', '--account', ''])).toMatch(/^--account: must not be empty/);
    expect(usageProblem(['create', '--account', 'a', '--label', 'two\nlines'])).toMatch(/^--label: no control characters/);
    expect(usageProblem(['create', '--account', 'a', '--account', 'b'])).toMatch(/--account is given more than once/);
    expect(usageProblem(['list', '--label', 'x'])).toMatch(/--label is not an option of list/);
    expect(usageProblem(['create', '--account', 'a', '--key-id', 'abcd'])).toMatch(/--key-id is not an option of create/);
    expect(usageProblem(['list', '--frob'])).toMatch(/Unknown option '--frob'/);
    expect(usageProblem(['list', '--json=yes'])).toMatch(/--json' does not take an argument/);
    expect(usageProblem(['revoke'])).toMatch(/revoke needs --key-id <prefix>.*or --key <key>/);
    expect(usageProblem(['revoke', '--key-id', 'abcd', '--key', 'sk_x'])).toMatch(/not both/);
    expect(usageProblem(['revoke', '--key-id', 'abc'])).toMatch(/^--key-id: .*4 to 64 hex/);
    expect(usageProblem(['revoke', '--key-id', 'wxyz'])).toMatch(/^--key-id:/);
    expect(usageProblem(['revoke', '--key', 'x'.repeat(257)])).toMatch(/^--key: at most 256/);
    expect(usageProblem(['list', '--aws'])).toMatch(/--aws needs --stage/);
    expect(usageProblem(['list', '--stage', 'a b'])).toMatch(/^--stage: letters, digits and hyphens/);
    expect(usageProblem(['list', '--endpoint', 'localhost:8000'])).toMatch(/^--endpoint: an http\(s\) URL/);
  });

  it('never echoes a key given with --key back in an error', () => {
    expect(usageProblem(['revoke', '--key', ''])).not.toContain('sk_');
    const secret = `sk_${'s'.repeat(300)}`;
    expect(usageProblem(['revoke', '--key', secret])).not.toContain(secret);
  });
});

describe('matchKeyPrefix', () => {
  const records = [record(hex('ab12cd34e0')), record(hex('ab12cd34e1'), { accountId: 'bob', label: 'ci' }), record(hex('ffee0011'))];

  it('finds the one record whose hash starts with the prefix', () => {
    expect(matchKeyPrefix(records, 'ffee')).toBe(records[2]);
    expect(matchKeyPrefix(records, 'ab12cd34e0')).toBe(records[0]);
  });

  it('refuses a prefix that matches no key', () => {
    expect(() => matchKeyPrefix(records, '0000')).toThrow(expect.objectContaining({ code: 'KEY_NOT_FOUND', exitCode: 1 }));
  });

  it('refuses a prefix that matches several keys, naming them by ids long enough to pick one', () => {
    let error: KeysCommandError | undefined;
    try {
      matchKeyPrefix(records, 'ab12');
    } catch (caught) {
      error = caught as KeysCommandError;
    }
    expect(error).toBeInstanceOf(KeysCommandError);
    expect(error?.code).toBe('KEY_AMBIGUOUS');
    expect(error?.exitCode).toBe(1);
    expect(error?.message).toMatch(/key id 'ab12' matches 2 keys, so nothing was revoked/);
    // 8 characters do not tell these two apart; 10 do.
    expect(error?.message).toContain('ab12cd34e0 (account alice)');
    expect(error?.message).toContain('ab12cd34e1 (account bob, label "ci")');
    expect(error?.message).toMatch(/more characters/);
  });

  it('distinguishingLength is the key id length unless hashes share a longer start', () => {
    expect(distinguishingLength([hex('1'), hex('2')])).toBe(8);
    expect(distinguishingLength([hex('123456789a'), hex('123456789b')])).toBe(10);
  });
});

describe('resolveTarget', () => {
  const running: StackStatus = {
    running: true,
    file: '/x/stack.json',
    state: { pid: 1, stage: 'dev', region: 'us-east-1', endpoints: { dynamodb: 'http://127.0.0.1:8000' } },
  };
  const absent: StackStatus = { running: false, file: '/x/stack.json', reason: '.data/stack.json not found' };
  const noCreds = { hasAwsCredentials: false };

  it('defaults to the running stack: its endpoint, stage and region, dummy credentials', () => {
    expect(resolveTarget({ aws: false }, running, noCreds)).toEqual({
      kind: 'stack',
      stage: 'dev',
      tableName: 'solana-order-engine-dev-accounts',
      endpoint: 'http://127.0.0.1:8000',
      region: 'us-east-1',
      credentials: 'dummy',
    });
  });

  it('says plainly that no stack runs when there is no target', () => {
    expect(() => resolveTarget({ aws: false }, absent, { hasAwsCredentials: true })).toThrow(
      new KeysCommandError('NO_TARGET', 'no running stack (.data/stack.json not found); start one with `npm start` or pass --stage <name> --aws'),
    );
    expect(() => resolveTarget({ aws: false, stage: 'prod' }, absent, noCreds)).toThrow(/no running stack .* and no AWS credentials/);
    expect(new KeysCommandError('NO_TARGET', 'x').exitCode).toBe(2);
  });

  it('--stage --aws is AWS with the default credentials, even beside a running stack', () => {
    expect(resolveTarget({ aws: true, stage: 'prod' }, running, { hasAwsCredentials: false, awsRegion: 'eu-west-1' })).toEqual({
      kind: 'aws',
      stage: 'prod',
      tableName: 'solana-order-engine-prod-accounts',
      region: 'eu-west-1',
      credentials: 'default',
    });
  });

  it('a bare --stage means AWS only when no stack runs and credentials are set', () => {
    expect(resolveTarget({ aws: false, stage: 'prod' }, absent, { hasAwsCredentials: true })).toMatchObject({ kind: 'aws', stage: 'prod' });
    expect(resolveTarget({ aws: false, stage: 'other' }, running, { hasAwsCredentials: true })).toMatchObject({
      kind: 'stack',
      tableName: 'solana-order-engine-other-accounts',
    });
  });

  it('--endpoint overrides, with --stage or the running stack\'s stage', () => {
    expect(resolveTarget({ aws: false, endpoint: 'http://h:1' }, running, noCreds)).toMatchObject({
      kind: 'endpoint',
      endpoint: 'http://h:1',
      stage: 'dev',
      credentials: 'dummy',
    });
    expect(resolveTarget({ aws: false, endpoint: 'http://h:1', stage: 'e2e' }, absent, noCreds)).toMatchObject({
      tableName: 'solana-order-engine-e2e-accounts',
      region: 'us-east-1',
    });
    expect(() => resolveTarget({ aws: false, endpoint: 'http://h:1' }, absent, noCreds)).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/--endpoint needs --stage/) }),
    );
  });
});

describe('the accounts table name', () => {
  it('follows serverless.yml custom.names.accountsTable', () => {
    const yml = readFileSync(join(repoRoot, 'serverless.yml'), 'utf8');
    expect(yml).toMatch(/^service: solana-order-engine$/m);
    expect(yml).toMatch(/^ {4}accountsTable: \$\{self:service\}-\$\{sls:stage\}-accounts$/m);
    expect(accountsTableName('dev')).toBe('solana-order-engine-dev-accounts');
  });
});

describe('readStackStatus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keys-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const state = (pid: number) => ({ pid, stage: 'dev', region: 'us-east-1', endpoints: { dynamodb: 'http://127.0.0.1:8000' } });

  it('reads a live stack, and says why a file is of no use', () => {
    const file = join(dir, 'stack.json');
    expect(readStackStatus(file)).toMatchObject({ running: false, reason: expect.stringMatching(/stack\.json not found$/) });
    writeFileSync(file, JSON.stringify(state(process.pid)));
    expect(readStackStatus(file)).toMatchObject({ running: true, state: state(process.pid) });
    // A stack killed with -9 leaves its file behind: its pid is gone.
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    writeFileSync(file, JSON.stringify(state(dead)));
    expect(readStackStatus(file)).toMatchObject({ running: false, reason: expect.stringMatching(new RegExp(`left from pid ${dead}, which is not running`)) });
    writeFileSync(file, '{');
    expect(readStackStatus(file)).toMatchObject({ running: false, reason: expect.stringMatching(/is not JSON/) });
    writeFileSync(file, '{"pid":1}');
    expect(readStackStatus(file)).toMatchObject({ running: false, reason: expect.stringMatching(/is not a stack state file/) });
  });
});

/** An in-memory accounts table. */
const memoryStore = (): KeysStore & { rows: Map<string, AccountRecord> } => {
  const rows = new Map<string, AccountRecord>();
  return {
    rows,
    create: async (r) => (rows.has(r.apiKeyHash) ? false : (rows.set(r.apiKeyHash, { ...r }), true)),
    list: async ({ accountId } = {}) => [...rows.values()].filter((r) => accountId === undefined || r.accountId === accountId),
    revoke: async (hash, revokedAt): Promise<RevokeOutcome> => {
      const r = rows.get(hash);
      if (!r) return { outcome: 'not-found' };
      if (r.revokedAt) return { outcome: 'already-revoked', record: r };
      r.revokedAt = revokedAt;
      return { outcome: 'revoked', record: r };
    },
  };
};
const capture = () => {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: { stdout: (l: string) => stdout.push(l), stderr: (l: string) => stderr.push(l) } };
};

describe('runKeysAction', () => {
  it('create prints the key alone on stdout and stores only its hash; list never shows it', async () => {
    const store = memoryStore();
    const io = capture();
    const now = () => new Date('2025-02-03T04:05:06.000Z');
    await runKeysAction({ command: 'create', accountId: 'alice', label: 'bot' }, store, io.out, { now, generateKey: () => 'sk_fixed' });
    expect(io.stdout).toEqual(['sk_fixed']);
    expect([...store.rows.values()]).toEqual([
      { apiKeyHash: hashApiKey('sk_fixed'), accountId: 'alice', label: 'bot', createdAt: '2025-02-03T04:05:06.000Z' },
    ]);
    expect(io.stderr.join('\n')).toContain(`created key ${hashApiKey('sk_fixed').slice(0, 8)} for account alice`);

    const listed = capture();
    await runKeysAction({ command: 'list', json: false }, store, listed.out);
    expect(listed.stdout[0]).toMatch(/^KEY ID\s+ACCOUNT\s+LABEL\s+CREATED\s+REVOKED$/);
    expect(listed.stdout[1]).toMatch(new RegExp(`^${hashApiKey('sk_fixed').slice(0, 8)}\\s+alice\\s+bot\\s+2025-02-03T04:05:06.000Z\\s+-$`));
    expect(listed.stdout.join('\n')).not.toContain('sk_fixed');
  });

  it('create refuses to overwrite an existing hash', async () => {
    const store = memoryStore();
    await runKeysAction({ command: 'create', accountId: 'a', label: '' }, store, capture().out, { generateKey: () => 'sk_same' });
    await expect(runKeysAction({ command: 'create', accountId: 'b', label: '' }, store, capture().out, { generateKey: () => 'sk_same' })).rejects.toThrow(
      expect.objectContaining({ code: 'KEY_EXISTS' }),
    );
    expect(store.rows.get(hashApiKey('sk_same'))?.accountId).toBe('a');
  });

  it('revoke marks the record and keeps it; a second revoke keeps the first time', async () => {
    const store = memoryStore();
    store.rows.set(hashApiKey('sk_1'), record(hashApiKey('sk_1')));
    const io = capture();
    await runKeysAction({ command: 'revoke', selector: { keyId: hashApiKey('sk_1').slice(0, 6) } }, store, io.out, {
      now: () => new Date('2025-03-01T00:00:00.000Z'),
    });
    expect(store.rows.get(hashApiKey('sk_1'))?.revokedAt).toBe('2025-03-01T00:00:00.000Z');
    expect(io.stdout).toEqual([`revoked ${hashApiKey('sk_1').slice(0, 8)} (account alice, revoked 2025-03-01T00:00:00.000Z)`]);
    const again = capture();
    await runKeysAction({ command: 'revoke', selector: { key: 'sk_1' } }, store, again.out, { now: () => new Date('2026-01-01T00:00:00.000Z') });
    expect(again.stdout[0]).toMatch(/^already revoked: .*revoked 2025-03-01T00:00:00.000Z\)$/);
    await expect(runKeysAction({ command: 'revoke', selector: { key: 'sk_unknown' } }, store, capture().out)).rejects.toThrow(
      expect.objectContaining({ code: 'KEY_NOT_FOUND' }),
    );
  });

  it('list --json gives key ids, never keys or whole hashes, oldest first', async () => {
    const store = memoryStore();
    store.rows.set(hex('b1'), record(hex('b1'), { createdAt: '2025-01-02T00:00:00.000Z', revokedAt: '2025-01-03T00:00:00.000Z' }));
    store.rows.set(hex('a1'), record(hex('a1'), { accountId: 'bob', label: 'x' }));
    const io = capture();
    await runKeysAction({ command: 'list', json: true }, store, io.out);
    expect(JSON.parse(io.stdout.join('\n'))).toEqual([
      { keyId: 'a1000000', accountId: 'bob', label: 'x', createdAt: '2025-01-01T00:00:00.000Z', revokedAt: null },
      { keyId: 'b1000000', accountId: 'alice', label: '', createdAt: '2025-01-02T00:00:00.000Z', revokedAt: '2025-01-03T00:00:00.000Z' },
    ]);
    expect(io.stdout.join('')).not.toContain(hex('a1'));
  });

  it('formatListings shows empty fields as -', () => {
    expect(formatListings([toListing(record(hex('cc'), { createdAt: '' }))])).toEqual([
      'KEY ID    ACCOUNT  LABEL  CREATED  REVOKED',
      'cc000000  alice    -      -        -',
    ]);
  });
});

describe('main', () => {
  it('answers bad arguments with the problem and the usage, exit code 2, without touching any table', async () => {
    const io = capture();
    expect(await main(['create', '--label', 'x'], { STACK_STATE_FILE: '/nonexistent/stack.json' }, io.out)).toBe(2);
    expect(io.stderr[0]).toBe('keys: create needs --account <id>');
    expect(io.stderr[1]).toMatch(/^usage: npm run keys -- <command>/);
    expect(io.stdout).toEqual([]);
  });

  it('answers "no running stack" with exit code 2', async () => {
    const io = capture();
    expect(await main(['list'], { STACK_STATE_FILE: '/nonexistent/stack.json' }, io.out)).toBe(2);
    expect(io.stderr).toEqual([
      'keys: no running stack (/nonexistent/stack.json not found); start one with `npm start` or pass --stage <name> --aws',
    ]);
  });

  it('--help prints the usage on stdout, exit code 0', async () => {
    const io = capture();
    expect(await main(['--help'], {}, io.out)).toBe(0);
    expect(io.stdout[0]).toMatch(/^usage:/);
  });
});
