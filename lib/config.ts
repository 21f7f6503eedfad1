import { z } from 'zod';
import { ConfigError } from './errors';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((value) => value === 'true' || value === '1');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const configSchema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  STAGE: z.string().min(1).default('dev'),
  ACCOUNTS_TABLE: z.string().min(1),
  ORDERS_TABLE: z.string().min(1),
  CONNECTIONS_TABLE: z.string().min(1),
  LEDGER_TABLE: z.string().min(1),
  ORDERS_QUEUE_NAME: z.string().min(1),
  STATUS_QUEUE_NAME: z.string().min(1),
  /** Set offline (serverless-offline's WebSocket port); empty on AWS, where the request context gives it. */
  WS_MGMT_ENDPOINT: z.string().default(''),
  MAX_ATTEMPTS: positiveInt(3),
  EXECUTION_CONCURRENCY: positiveInt(10),
  EXECUTION_TIMEOUT_SECONDS: positiveInt(30),
  RETRY_BASE_SECONDS: z.coerce.number().positive().default(1),
  RETRY_CAP_SECONDS: z.coerce.number().positive().default(8),
  /** An order whose state has not changed for this long lost its message somewhere: the sweeper enqueues it again. */
  SWEEP_STALE_AFTER_SECONDS: positiveInt(600),
  /** API Gateway closes a WebSocket after 2 h (serverless-anchors.md B.6); a row outliving it is stale. */
  CONNECTION_TTL_SECONDS: positiveInt(7200),
  MOCK_PROFILE: z.enum(['realistic', 'fast', 'zero']).default('realistic'),
  MOCK_SEED: z.string().min(1).default('solana-order-engine'),
  /** Lets a request force a failure per attempt (`mockFailures`); off unless asked for. */
  MOCK_TEST_HOOKS: booleanFromEnv,
  /** `rpcTimeout=0.01,blockhashExpired=0.02,...` overrides of the profile's failure rates. */
  MOCK_FAILURE_RATES: z.string().default(''),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /**
   * Sockets per AWS client. 50 is the SDK's own default, right for a Lambda instance. The embedded stack runs every
   * Lambda in one process and sets 64 (infra/offline.ts).
   */
  AWS_MAX_SOCKETS: positiveInt(50),
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

let cached: EngineConfig | undefined;

/** The process configuration, parsed once (at cold start, from the handler modules). */
export const config = (): EngineConfig => {
  cached ??= parseConfig(process.env);
  return cached;
};
