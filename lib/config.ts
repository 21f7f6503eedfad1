import { z } from 'zod';
import { ConfigError } from './errors';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((value) => value === 'true' || value === '1');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/*
 * Admission limits (PROTOCOL.md v2 "Admission control"). Plain decimals only: an empty or malformed value is refused
 * by name instead of being coerced to 0, which would silently mean "unlimited".
 */
/** A rate per second; `0` turns that limit off. */
const ratePerSecond = (fallback: number) =>
  z.string().regex(/^\d+(\.\d+)?$/, 'must be a decimal number >= 0 (0: unlimited)').default(String(fallback)).transform(Number);
/** A whole number; `0` turns that limit off where `zeroMeansUnlimited`, and is refused elsewhere. */
const limitCount = (fallback: number, { zeroMeansUnlimited }: { zeroMeansUnlimited: boolean }) =>
  z
    .string()
    .regex(zeroMeansUnlimited ? /^\d+$/ : /^[1-9]\d*$/, zeroMeansUnlimited ? 'must be a whole number >= 0 (0: unlimited)' : 'must be a whole number >= 1')
    .default(String(fallback))
    .transform(Number);

/** The mock market's and chain's seed when MOCK_SEED is not set: every process of a stack prices on the same market. */
export const DEFAULT_MOCK_SEED = 'solana-order-engine';

/** `priorityFee: "auto"` unless configured: this percentile of the recent fees, capped at this many lamports. */
export const PRIORITY_FEE_DEFAULTS = { percentile: 75, maxLamports: 100_000 } as const;

const configSchema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  STAGE: z.string().min(1).default('dev'),
  ACCOUNTS_TABLE: z.string().min(1),
  ORDERS_TABLE: z.string().min(1),
  CONNECTIONS_TABLE: z.string().min(1),
  LEDGER_TABLE: z.string().min(1),
  /**
   * Per-account admission state (token buckets, open orders, connections). Optional here only so that parsing a
   * partial environment (tests of other variables) works; the engine context refuses to start without it.
   */
  LIMITS_TABLE: z.string().min(1).optional(),
  ORDERS_QUEUE_NAME: z.string().min(1),
  /** Sniper orders due at their pool's open time (the watcher enqueues them; their own execution function takes them). */
  SNIPES_QUEUE_NAME: z.string().min(1),
  STATUS_QUEUE_NAME: z.string().min(1),
  /** Set offline (serverless-offline's WebSocket port); empty on AWS, where the request context gives it. */
  WS_MGMT_ENDPOINT: z.string().default(''),
  /**
   * The WebSocket URL clients connect to, named in HTTP answers (PROTOCOL.md v2 "HTTP API": `ws.url`) and in the web
   * ticket: on AWS the WebSocket API's stage URL (serverless.yml), offline the edge's ws://127.0.0.1:<WS_PORT>.
   */
  WS_PUBLIC_URL: z.string().default(''),
  /** Where the web order ticket's built files are (infra/web.ts builds them; `npm start` sets this). */
  WEB_ASSETS_DIR: z.string().default('web/dist'),
  MAX_ATTEMPTS: positiveInt(3),
  EXECUTION_CONCURRENCY: positiveInt(10),
  EXECUTION_TIMEOUT_SECONDS: positiveInt(30),
  /**
   * A delivery that sent its transaction and has waited this long for it gives the order back (to be looked at again
   * a second later) when other orders wait for an execution slot and its invocation holds few orders
   * (slotWorthGivingBack), so one slow landing does not hold a slot a whole batch needs. 0: never.
   */
  EXECUTION_HAND_BACK_AFTER_MS: z.coerce.number().int().nonnegative().default(250),
  /**
   * An execution invocation with room (fewer orders in progress than EXECUTION_CONCURRENCY) looks this often for
   * orders waiting in its queue and takes them itself (lib/orders/take-more.ts). 0: never.
   */
  EXECUTION_TAKE_MORE_EVERY_MS: z.coerce.number().int().nonnegative().default(250),
  /** The execution trigger's batch size (serverless.yml): how many waiting orders one freed slot takes. */
  EXECUTE_BATCH_SIZE: positiveInt(10),
  RETRY_BASE_SECONDS: z.coerce.number().positive().default(1),
  RETRY_CAP_SECONDS: z.coerce.number().positive().default(8),
  /** An order whose state has not changed for this long lost its message somewhere: the sweeper enqueues it again. */
  SWEEP_STALE_AFTER_SECONDS: positiveInt(600),
  /** API Gateway closes a WebSocket after 2 h (serverless-anchors.md B.6); a row outliving it is stale. */
  CONNECTION_TTL_SECONDS: positiveInt(7200),
  MOCK_PROFILE: z.enum(['realistic', 'congested', 'fast', 'zero']).default('realistic'),
  /** `priorityFee: "auto"` bids this percentile of the recent slots' fees (getRecentPrioritizationFees)... */
  PRIORITY_FEE_PERCENTILE: z.coerce.number().min(0).max(100).default(PRIORITY_FEE_DEFAULTS.percentile),
  /** ...capped at this many lamports of priority fee per transaction (0.0001 SOL). */
  PRIORITY_FEE_MAX_LAMPORTS: z.coerce.number().int().nonnegative().default(PRIORITY_FEE_DEFAULTS.maxLamports),
  MOCK_SEED: z.string().min(1).default(DEFAULT_MOCK_SEED),
  /** Lets a request force a failure per attempt (`mockFailures`); off unless asked for. */
  MOCK_TEST_HOOKS: booleanFromEnv,
  /** `rpcTimeout=0.01,blockhashExpired=0.02,...` overrides of the profile's failure rates (names checked by the profile). */
  MOCK_FAILURE_RATES: z
    .string()
    .default('')
    .transform((spec, ctx) => {
      const rates: Record<string, number> = {};
      for (const part of spec.split(',').map((entry) => entry.trim()).filter(Boolean)) {
        const [name, value, extra] = part.split('=');
        const rate = Number(value);
        if (!name || value === undefined || value.trim() === '' || extra !== undefined || !Number.isFinite(rate) || rate < 0 || rate > 1) {
          ctx.addIssue({ code: 'custom', message: `"${part}" is not name=rate with 0 <= rate <= 1` });
          return z.NEVER;
        }
        rates[name] = rate;
      }
      return rates;
    }),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /**
   * Sockets per AWS client. 50 is the SDK's own default, right for a Lambda instance. The embedded stack runs every
   * Lambda in one process and sets 64 (infra/offline.ts).
   */
  AWS_MAX_SOCKETS: positiveInt(50),
  /** Print this process's AWS round trips per service and command every so many ms (the bench's calls per order); 0 = off. */
  AWS_CALL_STATS_INTERVAL_MS: z.coerce.number().int().nonnegative().default(0),
  /** Orders an account may place per second (token bucket on `execute`), and how many at once after a quiet spell. */
  LIMIT_ORDERS_PER_SECOND: ratePerSecond(50),
  LIMIT_ORDERS_BURST: limitCount(200, { zeroMeansUnlimited: false }),
  /** The same for `quote`, in a bucket of its own. */
  LIMIT_QUOTES_PER_SECOND: ratePerSecond(50),
  LIMIT_QUOTES_BURST: limitCount(200, { zeroMeansUnlimited: false }),
  /** Non-terminal orders an account may have at once. */
  LIMIT_OPEN_ORDERS: limitCount(1000, { zeroMeansUnlimited: true }),
  /** WebSocket connections an account may hold at once (always on: the count is also the registry of its connections). */
  LIMIT_CONNECTIONS: limitCount(100, { zeroMeansUnlimited: false }),
  /** Messages per second on one connection, every route counted (execute, quote, subscribe, $default). */
  LIMIT_MESSAGES_PER_SECOND: ratePerSecond(100),
  LIMIT_MESSAGES_BURST: limitCount(100, { zeroMeansUnlimited: false }),
  /**
   * `execute` and `quote` requests that one host process lets do their store work at once; the others wait their turn,
   * served round-robin across accounts (lib/accounts/store-turns.ts). Matters where a process serves many requests at
   * once (the embedded stack); a Lambda instance serves one.
   */
  ROUTE_STORE_CONCURRENCY: positiveInt(16),
});

export type EngineConfig = z.infer<typeof configSchema>;

export const parseConfig = (env: Record<string, string | undefined>): EngineConfig => {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.');
      return env[name] === undefined ? `${name} is required` : `${name}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
};

/** The socket pool size alone: the AWS clients need it in processes that have no tables (benchmarks, tools). */
export const awsMaxSockets = (): number => {
  const result = configSchema.shape.AWS_MAX_SOCKETS.safeParse(process.env.AWS_MAX_SOCKETS);
  if (!result.success) throw new ConfigError(`Invalid configuration: AWS_MAX_SOCKETS: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
};

/** The call-count interval alone, read where the AWS clients are built (before any table configuration exists). */
export const awsCallStatsIntervalMs = (): number => {
  const result = configSchema.shape.AWS_CALL_STATS_INTERVAL_MS.safeParse(process.env.AWS_CALL_STATS_INTERVAL_MS || undefined);
  if (!result.success) throw new ConfigError(`Invalid configuration: AWS_CALL_STATS_INTERVAL_MS: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
};

let cached: EngineConfig | undefined;

/** The process configuration, parsed once (at cold start, from the handler modules). */
export const config = (): EngineConfig => {
  cached ??= parseConfig(process.env);
  return cached;
};
