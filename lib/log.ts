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

const emit = (level: Exclude<Level, 'silent'>, message: string, fields?: Record<string, unknown>): void => {
  if (RANK[level] < threshold) return;
  const entry: Record<string, unknown> = { level, time: new Date().toISOString(), message };
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
