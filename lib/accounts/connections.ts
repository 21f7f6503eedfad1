import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { RequestError, UnavailableError } from '../errors';
import { retryTransient } from '../aws/transient';
import { hashApiKey } from './api-key';
import type { EngineContext } from '../orders/context';

type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
};

/** PROTOCOL.md "Access": the `x-api-key` header, or the `apiKey` query parameter for browsers. */
export const apiKeyOf = (event: ConnectEvent): string | undefined => {
  const headers = event.headers ?? {};
  const header = Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-api-key')?.[1];
  return header || event.queryStringParameters?.apiKey || undefined;
};

/** `$connect`: the key's account owns the connection; an unknown key is refused (the route answers 401). */
export const openConnection = async (ctx: EngineContext, event: ConnectEvent): Promise<{ owner: string } | undefined> => {
  const apiKey = apiKeyOf(event);
  if (!apiKey || apiKey.length > 256) return undefined;
  const account = await ctx.accounts.findByKeyHash(hashApiKey(apiKey));
  if (!account) return undefined;
  const nowMs = ctx.now();
  await ctx.connections.put({
    connectionId: event.requestContext.connectionId,
    owner: account.accountId,
    connectedAtMs: nowMs,
    expiresAt: Math.floor(nowMs / 1000) + ctx.config.CONNECTION_TTL_SECONDS,
  });
  return { owner: account.accountId };
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
