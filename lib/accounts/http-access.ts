import { RequestError, UnavailableError } from '../errors';
import { retryTransient } from '../aws/transient';
import { hashApiKey } from './api-key';
import { admit, type Admission, type Charge } from './admission';
import type { EngineContext } from '../engine';

const KEY_LOOKUP_BUDGET_MS = 3_000;

/**
 * PROTOCOL.md v2 "HTTP API": every request carries the `x-api-key` header (the query parameter is the WebSocket's
 * browser fallback only; a fetch can set headers). API Gateway's HTTP API lower-cases header names and joins a header
 * given twice with a comma: a key never holds one, so a comma means the key was given twice, which is refused as on
 * `$connect` (which copy a proxy or a log would read is not which one we would).
 */
export const apiKeyOfHeaders = (headers: Record<string, string | undefined> | undefined): { ok: true; apiKey: string | undefined } | { ok: false; reason: string } => {
  const values = Object.entries(headers ?? {}).flatMap(([name, value]) => (name.toLowerCase() === 'x-api-key' && value !== undefined ? [value] : []));
  if (values.length > 1 || values.some((value) => value.includes(','))) return { ok: false, reason: 'the x-api-key header is given more than once' };
  return { ok: true, apiKey: values[0]?.trim() || undefined };
};

/**
 * The account an HTTP request acts for, from its API key (the same hashed lookup `$connect` does): a missing, unknown
 * or revoked key is UNAUTHORIZED (HTTP 401), and nothing else is read.
 */
export const ownerOfHttpRequest = async (ctx: EngineContext, headers: Record<string, string | undefined> | undefined): Promise<string> => {
  const key = apiKeyOfHeaders(headers);
  if (!key.ok) throw new RequestError('BAD_REQUEST', key.reason, [{ path: 'x-api-key', message: 'given more than once' }]);
  const apiKey = key.apiKey;
  if (!apiKey || apiKey.length > 256) throw new RequestError('UNAUTHORIZED', 'an API key is required in the x-api-key header', [{ path: 'x-api-key', message: 'missing' }]);
  const looked = await retryTransient(() => ctx.accounts.findByKeyHash(hashApiKey(apiKey)), { deadlineMs: Date.now() + KEY_LOOKUP_BUDGET_MS });
  if (!looked.ok) throw new UnavailableError('the engine is over capacity; nothing was recorded', { cause: looked.error });
  if (!looked.value) throw new RequestError('UNAUTHORIZED', 'the API key is unknown or revoked', [{ path: 'x-api-key', message: 'unknown or revoked' }]);
  return looked.value.accountId;
};

/**
 * Admission of one HTTP request (PROTOCOL.md v2 "Admission control"), after its key was checked: `parse` validates the
 * body first, so an invalid request is refused without a charge (there is no connection message bucket to charge it
 * to); a valid one is charged to `charge` (an order also reserves an open-order slot) or refused RATE_LIMITED.
 */
export const admitHttpRequest = async <T>(ctx: EngineContext, owner: string, charge: Charge, parse: () => T | Promise<T>): Promise<{ request: T; admission: Admission }> => {
  const request = await parse();
  const admission = await admit(ctx, { owner, connectionId: undefined, charge });
  return { request, admission };
};
