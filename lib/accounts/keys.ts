/**
 * API-key management (`npm run keys -- create|list|revoke`, infra/keys.ts): the parts that do not depend on where the
 * accounts table lives, so they can be tested against any store.
 */
import { z } from 'zod';
import { EngineError, type EngineErrorOptions, type KeysErrorCode } from '../errors';
import { generateApiKey, hashApiKey, isActive, keyIdOf, KEY_ID_LENGTH, type AccountRecord } from './api-key';
import type { RevokeOutcome } from '../aws/accounts-table';

export class KeysCommandError extends EngineError {
  declare readonly code: KeysErrorCode;
  constructor(code: KeysErrorCode, message: string, options: EngineErrorOptions = {}) {
    super(code, message, options);
  }

  get exitCode(): 1 | 2 {
    return this.code === 'USAGE' || this.code === 'NO_TARGET' ? 2 : 1;
  }
}

/**
 * The accounts table of a stage. serverless.yml declares it as `custom.names.accountsTable:
 * ${self:service}-${sls:stage}-accounts` with `service: solana-order-engine`; the command derives the name rather
 * than running `serverless print` (a second or more of CPU, and osls from node_modules) for a fixed pattern. A unit
 * test reads serverless.yml and the integration test compares with what `serverless print` resolves, so the two
 * cannot drift apart silently.
 */
export const SERVICE_NAME = 'solana-order-engine';
export const accountsTableName = (stage: string): string => `${SERVICE_NAME}-${stage}-accounts`;

/** Serverless stage names: letters, digits and hyphens (they end up in every table, queue and function name). */
export const stageSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'letters, digits and hyphens only');

/**
 * An account id is the owner of every order placed with the key. `:` and `,` separate SEED_API_KEYS entries and
 * whitespace is surely a typo, so a new key's account is held to a plain alphabet.
 */
export const accountIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'at most 128 characters')
  .regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits and . _ @ - only');

/** One line per key in `list`: no control characters. */
// eslint-disable-next-line no-control-regex
export const labelSchema = z.string().max(200, 'at most 200 characters').regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');

/**
 * A key id or a longer prefix of the hash. At least 4 hex characters, so that a slip such as `--key-id a` cannot
 * revoke the only key whose hash happens to start with it.
 */
export const keyIdPrefixSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{4,64}$/, 'a key id as `list` shows it: 4 to 64 hex characters')
  .transform((prefix) => prefix.toLowerCase());

/** What `$connect` accepts as a key (lib/accounts/connections.ts refuses longer ones). */
export const apiKeySchema = z.string().min(1, 'must not be empty').max(256, 'at most 256 characters');

export type RevokeSelector = { keyId: string } | { key: string };

export type KeysAction =
  | { command: 'create'; accountId: string; label: string }
  | { command: 'list'; accountId?: string; json: boolean }
  | { command: 'revoke'; selector: RevokeSelector };

/** What the command needs of the accounts table (lib/aws/accounts-table.ts). */
export interface KeysStore {
  create(record: AccountRecord): Promise<boolean>;
  list(options?: { accountId?: string }): Promise<AccountRecord[]>;
  revoke(apiKeyHash: string, revokedAt: string): Promise<RevokeOutcome>;
}

/** A key as `list` shows it: never the key, and only the start of its hash. */
export interface KeyListing {
  keyId: string;
  accountId: string;
  label: string;
  createdAt: string;
  revokedAt: string | null;
}

export const toListing = (record: AccountRecord): KeyListing => ({
  keyId: keyIdOf(record.apiKeyHash),
  accountId: record.accountId,
  label: record.label,
  createdAt: record.createdAt,
  revokedAt: record.revokedAt ?? null,
});

/**
 * The shortest prefix length, from the usual key id length up, that tells the given hashes apart: what an ambiguous
 * `--key-id` answer shows, so the next attempt can use one of them as is.
 */
export const distinguishingLength = (hashes: string[]): number => {
  for (let length = KEY_ID_LENGTH; length < 64; length++) {
    if (new Set(hashes.map((hash) => hash.slice(0, length))).size === hashes.length) return length;
  }
  return 64;
};

const describe = (record: AccountRecord, idLength = KEY_ID_LENGTH): string =>
  `${record.apiKeyHash.slice(0, idLength)} (account ${record.accountId}${record.label ? `, label "${record.label}"` : ''}${
    isActive(record) ? '' : `, revoked ${record.revokedAt}`
  })`;

/** The one record whose hash starts with `prefix` (lower-case hex); none or several is an error naming them. */
export const matchKeyPrefix = (records: AccountRecord[], prefix: string): AccountRecord => {
  const matches = records.filter((record) => record.apiKeyHash.startsWith(prefix));
  if (matches.length === 0) throw new KeysCommandError('KEY_NOT_FOUND', `no key id starts with '${prefix}'`);
  if (matches.length > 1) {
    const length = Math.max(distinguishingLength(matches.map((record) => record.apiKeyHash)), prefix.length);
    const sorted = [...matches].sort((a, b) => a.apiKeyHash.localeCompare(b.apiKeyHash));
    throw new KeysCommandError(
      'KEY_AMBIGUOUS',
      `key id '${prefix}' matches ${matches.length} keys, so nothing was revoked: ${sorted.map((record) => describe(record, length)).join('; ')}. ` +
        'Give more characters of the key id.',
    );
  }
  return matches[0] as AccountRecord;
};

/** Listing order: oldest first, then by account and id, so the output is stable. */
export const sortListings = (rows: KeyListing[]): KeyListing[] =>
  [...rows].sort(
    (a, b) => a.createdAt.localeCompare(b.createdAt) || a.accountId.localeCompare(b.accountId) || a.keyId.localeCompare(b.keyId),
  );

/** A plain text table; empty fields as '-'. */
export const formatListings = (rows: KeyListing[]): string[] => {
  const header = ['KEY ID', 'ACCOUNT', 'LABEL', 'CREATED', 'REVOKED'];
  const cells = rows.map((row) => [row.keyId, row.accountId, row.label || '-', row.createdAt || '-', row.revokedAt ?? '-']);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((line) => (line[i] as string).length)));
  const render = (line: string[]): string => line.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [render(header), ...cells.map(render)];
};

export interface KeysOutput {
  /** What a script reads: the new key, the listing, the revoke result. */
  stdout(line: string): void;
  /** Notes for the operator. */
  stderr(line: string): void;
}

export interface KeysDeps {
  now?: () => Date;
  generateKey?: () => string;
}

/**
 * Runs one action against the store. `create` prints the key alone on stdout (so `$(npm run -s keys -- create ...)`
 * captures it) and stores only its hash; the key cannot be shown again.
 */
export const runKeysAction = async (action: KeysAction, store: KeysStore, out: KeysOutput, deps: KeysDeps = {}): Promise<void> => {
  const now = deps.now ?? (() => new Date());
  switch (action.command) {
    case 'create': {
      const apiKey = (deps.generateKey ?? generateApiKey)();
      const record: AccountRecord = {
        apiKeyHash: hashApiKey(apiKey),
        accountId: action.accountId,
        label: action.label,
        createdAt: now().toISOString(),
      };
      if (!(await store.create(record))) {
        throw new KeysCommandError('KEY_EXISTS', `a key with id ${keyIdOf(record.apiKeyHash)} already exists; nothing was stored`);
      }
      out.stdout(apiKey);
      out.stderr(`created key ${keyIdOf(record.apiKeyHash)} for account ${record.accountId}; it is shown only this once (only its SHA-256 hash is stored)`);
      return;
    }
    case 'list': {
      const rows = sortListings((await store.list(action.accountId === undefined ? {} : { accountId: action.accountId })).map(toListing));
      if (action.json) {
        out.stdout(JSON.stringify(rows, null, 2));
        return;
      }
      if (rows.length === 0) {
        out.stderr(action.accountId === undefined ? 'no keys' : `no keys for account ${action.accountId}`);
        return;
      }
      for (const line of formatListings(rows)) out.stdout(line);
      return;
    }
    case 'revoke': {
      const { selector } = action;
      const apiKeyHash =
        'key' in selector ? hashApiKey(selector.key) : matchKeyPrefix(await store.list(), selector.keyId).apiKeyHash;
      const result = await store.revoke(apiKeyHash, now().toISOString());
      if (result.outcome === 'not-found') {
        throw new KeysCommandError('KEY_NOT_FOUND', 'keyId' in selector ? `key ${selector.keyId} no longer exists` : 'no such key');
      }
      if (result.outcome === 'already-revoked') {
        out.stdout(`already revoked: ${describe(result.record)}`);
        return;
      }
      out.stdout(`revoked ${describe(result.record)}`);
      out.stderr('new connections with this key are refused (HTTP 401); connections already open stay open until they close');
      return;
    }
  }
};
