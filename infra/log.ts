/** Minimal leveled logger for the local runtime. Everything goes to stderr; stdout is reserved for the ready line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(prefix: string): Logger;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const parseLevel = (value: string | undefined): LogLevel =>
  value && value.toLowerCase() in order ? (value.toLowerCase() as LogLevel) : 'info';

export const createLogger = (level: string | undefined = process.env.LOG_LEVEL, prefix = ''): Logger => {
  const min = order[parseLevel(level)];
  const write = (lvl: LogLevel, msg: string): void => {
    if (order[lvl] < min) return;
    process.stderr.write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${prefix}${msg}\n`);
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
    child: (p) => createLogger(level, `${prefix}[${p}] `),
  };
};

/** A logger that drops everything (tests). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
