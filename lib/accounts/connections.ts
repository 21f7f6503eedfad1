import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { RequestError, UnavailableError, VenueError } from '../errors';
import { retryTransient } from '../aws/transient';
import { hashApiKey } from './api-key';
import { admit, queueForAdmission, registerConnection, releaseConnection, type Admission, type Charge } from './admission';
import type { EngineContext } from '../engine';

type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
  multiValueHeaders?: Record<string, string[] | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  multiValueQueryStringParameters?: Record<string, string[] | undefined>;
};

export type ApiKeyOfConnect = { ok: true; apiKey: string | undefined } | { ok: false; reason: string };

/**
 * PROTOCOL.md "Access": the `x-api-key` header, or the `apiKey` query parameter for browsers (which cannot set
 * headers on a WebSocket). When both are present the header wins: it is what non-browser clients send, and a URL is
 * easier to leak (logs, history) than a header. A key given twice in one place is refused: which copy a proxy or a
 * log would read is not which one we would.
 */
export const apiKeyOf = (event: ConnectEvent): ApiKeyOfConnect => {
  const named = <T>(record: Record<string, T> | undefined, name: string): T[] =>
    Object.entries(record ?? {}).flatMap(([key, value]) => (key.toLowerCase() === name ? [value] : []));
  const headerValues = named(event.multiValueHeaders, 'x-api-key').flatMap((values) => values ?? []);
  if (headerValues.length > 1) return { ok: false, reason: 'the x-api-key header is given more than once' };
  const queryValues = event.multiValueQueryStringParameters?.apiKey ?? [];
  if (queryValues.length > 1) return { ok: false, reason: 'the apiKey query parameter is given more than once' };
  const header = named(event.headers, 'x-api-key').find((value) => value !== undefined);
  return { ok: true, apiKey: header || event.queryStringParameters?.apiKey || undefined };
};

export type OpenConnectionOutcome =
  | { outcome: 'opened'; owner: string }
  | { outcome: 'unauthorized' }
  /** The handshake itself is ambiguous (the key given twice): 400, no row. */
  | { outcome: 'bad-request'; reason: string }
  /** The account holds LIMIT_CONNECTIONS connections already: refused with 429, and no row is written. */
  | { outcome: 'over-limit'; limit: number };

/**
 * `$connect`: the key's account owns the connection; an unknown key is refused (the route answers 401), and so is a
 * connection over the account's cap (429). The connection is counted before its row is written, so a refused one
 * leaves no row; a row that cannot be written gives the count back.
 */
export const openConnection = async (ctx: EngineContext, event: ConnectEvent): Promise<OpenConnectionOutcome> => {
  const key = apiKeyOf(event);
  if (!key.ok) return { outcome: 'bad-request', reason: key.reason };
  const apiKey = key.apiKey;
  if (!apiKey || apiKey.length > 256) return { outcome: 'unauthorized' };
  const account = await ctx.accounts.findByKeyHash(hashApiKey(apiKey));
  if (!account) return { outcome: 'unauthorized' };
  const owner = account.accountId;
  const connectionId = event.requestContext.connectionId;
  if (!(await registerConnection(ctx, owner, connectionId))) return { outcome: 'over-limit', limit: ctx.config.LIMIT_CONNECTIONS };
  const nowMs = ctx.now();
  try {
    await ctx.connections.put({
      connectionId,
      owner,
      connectedAtMs: nowMs,
      expiresAt: Math.floor(nowMs / 1000) + ctx.config.CONNECTION_TTL_SECONDS,
    });
  } catch (error) {
    await releaseConnection(ctx, owner, connectionId);
    throw error;
  }
  return { outcome: 'opened', owner };
};

/**
 * `$disconnect`: the row goes, and the account's count with it. Best effort on AWS: what a missed or failed
 * $disconnect leaves counted is repaired when the account reaches its cap (lib/accounts/admission.ts).
 */
export const closeConnection = async (ctx: EngineContext, connectionId: string): Promise<void> => {
  ownerCache.delete(connectionId);
  const row = await ctx.connections.delete(connectionId);
  if (row) await releaseConnection(ctx, row.owner, connectionId);
};

/*
 * A connection's owner never changes, and a message can only arrive on a connection that is open, so a warm Lambda
 * keeps what it looked up: the `execute` ack path then costs one DynamoDB round trip less. Bounded, oldest evicted.
 */
const OWNER_CACHE_LIMIT = 10_000;
const OWNER_LOOKUP_BUDGET_MS = 3_000;
const ownerCache = new Map<string, string>();

/** The account behind a message's connection. A connection without a live row was never authenticated. */
export const ownerOf = async (ctx: EngineContext, connectionId: string): Promise<string> => {
  const cached = ownerCache.get(connectionId);
  if (cached) return cached;
  const looked = await retryTransient(() => ctx.connections.get(connectionId, ctx.now()), { deadlineMs: Date.now() + OWNER_LOOKUP_BUDGET_MS });
  if (!looked.ok) throw new UnavailableError('the engine is over capacity; nothing was recorded', { cause: looked.error });
  const connection = looked.value;
  if (!connection) throw new RequestError('FORBIDDEN', 'this connection is not authenticated; reconnect with an API key');
  if (ownerCache.size >= OWNER_CACHE_LIMIT) ownerCache.delete(ownerCache.keys().next().value as string);
  ownerCache.set(connectionId, connection.owner);
  return connection.owner;
};

/**
 * Admission of one message on a message route (PROTOCOL.md v2 "Admission control"): the connection's owner, once the
 * message is admitted. `parse` validates the body first: a valid request is charged to `charge` (the account's order
 * or quote bucket, plus an open-order slot for an order) together with the connection's message bucket, in one write;
 * an invalid one is charged as a plain message and its validation error is thrown once it is admitted. Over a limit:
 * RATE_LIMITED with retryAfterMs, and nothing is done.
 */
export const admitRequest = async <T>(
  ctx: EngineContext,
  connectionId: string,
  charge: Charge,
  parse: () => T | Promise<T>,
): Promise<{ owner: string; request: T; admission: Admission }> => {
  const owner = await ownerOf(ctx, connectionId);
  let request: T;
  try {
    request = await parse();
  } catch (error) {
    // Refused requests are counted as plain messages: invalid ones, and orders for a pair with no pool and no launch.
    if (error instanceof RequestError || (error instanceof VenueError && error.code === 'NO_ROUTE')) await admit(ctx, { owner, connectionId, charge: 'message' });
    throw error;
  }
  const admission = await admit(ctx, { owner, connectionId, charge });
  return { owner, request, admission };
};

/**
 * Runs `work` (a message's admission and the store work it leads to) in a turn of the connection's owner at the store
 * (lib/accounts/store-turns.ts): one account's flood waits behind its own requests, not in front of another's.
 */
export const inOwnersTurn = async <T>(ctx: EngineContext, connectionId: string, charge: Charge, work: () => Promise<T>): Promise<T> => {
  const owner = await ownerOf(ctx, connectionId);
  return ctx.storeTurns.run(owner, work, { beforeWaiting: () => queueForAdmission(ctx, { owner, connectionId, charge }) });
};

/** A message that is only counted (the `$default` route, before its body is even parsed). */
export const admitMessage = async (ctx: EngineContext, connectionId: string): Promise<void> => {
  await admitRequest(ctx, connectionId, 'message', () => undefined);
};
