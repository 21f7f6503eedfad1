import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';

/** PROTOCOL.md "Access": keys are stored hashed (SHA-256, hex), never in clear. */
export const hashApiKey = (apiKey: string): string => createHash('sha256').update(apiKey, 'utf8').digest('hex');

/** A new API key: 32 random bytes, URL-safe so it can travel in the `apiKey` query parameter. */
export const generateApiKey = (): string => `sk_${randomBytes(32).toString('base64url')}`;

/**
 * One API key of an account, as stored in the accounts table (keyed by `apiKeyHash`; an account is every record with
 * its `accountId`). `label` and `createdAt` default to '' so that rows written before they existed still parse.
 * A record is revoked once `revokedAt` (ISO time) is set: it is kept, not deleted, so `npm run keys -- list` still
 * shows who had the key and when it stopped working.
 */
export const accountRecordSchema = z.object({
  apiKeyHash: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 hex digest'),
  accountId: z.string().min(1),
  label: z.string().default(''),
  createdAt: z.string().default(''),
  revokedAt: z.string().optional(),
});

export type AccountRecord = z.infer<typeof accountRecordSchema>;

/**
 * Whether a record may still open connections. Fails closed: any `revokedAt` at all (even one this code would not
 * write) means revoked.
 */
export const isActive = (record: AccountRecord): boolean => record.revokedAt === undefined;

/** Hex characters of the hash shown as a key's id: enough to tell keys apart, and the hash is not the key. */
export const KEY_ID_LENGTH = 8;

/** The short, non-secret id of a key (the start of its SHA-256 hash), for listing and revoking. */
export const keyIdOf = (apiKeyHash: string): string => apiKeyHash.slice(0, KEY_ID_LENGTH);
