import { AsyncLocalStorage } from 'node:async_hooks';

/** Structured JSON log lines (CloudWatch-friendly). The level is set once from config by the handler modules. */
type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
let threshold = RANK.info;

export const setLogLevel = (level: Level): void => {
  threshold = RANK[level];
};

const describe = (value: unknown): unknown => {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code ? { code } : {}), ...(value.cause ? { cause: describe(value.cause) } : {}) };
  }
  return value;
};

/*
 * Fields every line of the current invocation (or order) carries: the request id and function name, then the orderId
 * of the order being worked on. AsyncLocalStorage rather than a logger instance with state (Powertools Logger's
 * addContext): serverless-offline runs concurrent invocations of every function in one process, where state on a
 * shared logger would label one invocation's lines with another's request id.
 */
const scope = new AsyncLocalStorage<Record<string, unknown>>();

/** Runs `fn` with `fields` on every log line written inside it, its awaited continuations included. */
export const withLogContext = <T>(fields: Record<string, unknown>, fn: () => T): T => scope.run({ ...scope.getStore(), ...fields }, fn);

/** A Lambda handler whose log lines carry its invocation's request id and function name. */
export const withInvocationLog =
  <E, C extends { awsRequestId?: string; functionName?: string } | undefined, R>(handler: (event: E, context: C) => R) =>
  (event: E, context: C): R =>
    withLogContext({ requestId: context?.awsRequestId, function: context?.functionName }, () => handler(event, context));

const emit = (level: Exclude<Level, 'silent'>, message: string, fields?: Record<string, unknown>): void => {
  if (RANK[level] < threshold) return;
  const entry: Record<string, unknown> = { level, time: new Date().toISOString(), message, ...scope.getStore() };
  for (const [key, value] of Object.entries(fields ?? {})) entry[key] = describe(value);
  const line = JSON.stringify(entry, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  if (level === 'error' || level === 'warn') console.error(line);
  else console.log(line);
};

export const log = {
  debug: (message: string, fields?: Record<string, unknown>) => emit('debug', message, fields),
  info: (message: string, fields?: Record<string, unknown>) => emit('info', message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => emit('warn', message, fields),
  error: (message: string, fields?: Record<string, unknown>) => emit('error', message, fields),
};
