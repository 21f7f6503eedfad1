import { createHash, randomBytes } from 'node:crypto';

/** PROTOCOL.md "Access": keys are stored hashed (SHA-256, hex), never in clear. */
export const hashApiKey = (apiKey: string): string => createHash('sha256').update(apiKey, 'utf8').digest('hex');

/** A new API key: 32 random bytes, URL-safe so it can travel in the `apiKey` query parameter. */
export const generateApiKey = (): string => `sk_${randomBytes(32).toString('base64url')}`;

export interface AccountRecord {
  apiKeyHash: string;
  accountId: string;
  label: string;
  createdAt: string;
}
