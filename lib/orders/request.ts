import { z } from 'zod';
import { RequestError, isEngineError, type ValidationIssue } from '../errors';
import { resolveToken, parseUiAmount, type Token } from '../tokens';
import { FORCEABLE_FAILURES, type ForcedFailure } from '../chain/forced-failures';


const amountSchema = z.union([z.number(), z.string().trim().min(1, 'must not be empty')], {
  error: 'must be a number or a decimal string',
});

/** Percent, 0 < s <= 50, at most two decimals (it becomes whole basis points). PROTOCOL.md `execute`. */
const slippageSchema = z
  .number({ error: 'must be a number (percent)' })
  .gt(0, 'must be > 0')
  .lte(50, 'must be <= 50')
  .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-9, 'at most 2 decimal places')
  // A positive value that rounds to 0 bps (1e-300, say) would mean "no tolerance at all", which is not > 0.
  .refine((value) => Math.round(value * 100) >= 1, 'must be at least 0.01');

const orderFields = {
  side: z.enum(['buy', 'sell'], { error: 'must be "buy" or "sell"' }),
  tokenIn: z.string({ error: 'must be a token symbol or mint' }).min(1).max(64),
  tokenOut: z.string({ error: 'must be a token symbol or mint' }).min(1).max(64),
  amount: amountSchema,
  slippage: slippageSchema.default(1.0),
};

/** PROTOCOL.md v2 `priorityFee`: the compute-unit price bid for landing. */
export const priorityFeeSchema = z.union(
  [
    z.literal('auto'),
    z.literal('none'),
    z.strictObject({
      maxLamports: z
        .number({ error: 'must be a whole number of lamports' })
        .int('must be a whole number of lamports')
        .nonnegative('must be >= 0')
        .max(1_000_000_000, 'must be <= 1000000000 (1 SOL)'),
    }),
  ],
  { error: 'must be "auto", "none" or {"maxLamports": <int>}' },
);
export type PriorityFeePolicy = z.infer<typeof priorityFeeSchema>;

/*
 * Unknown keys are rejected rather than ignored: a trading client that misspells `slippage` must hear about it,
 * not silently trade at the default tolerance.
 */
const executeSchema = z.strictObject({
  action: z.literal('execute'),
  ...orderFields,
  clientOrderId: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9_-]')
    .optional(),
  priorityFee: priorityFeeSchema.optional(),
  mockFailures: z.record(z.string().regex(/^[1-9]$/, 'keys are attempt numbers 1-9'), z.enum(FORCEABLE_FAILURES)).optional(),
});

const quoteSchema = z.strictObject({ action: z.literal('quote'), ...orderFields });

const subscribeSchema = z.strictObject({
  action: z.literal('subscribe'),
  orderId: z.string({ error: 'must be a string' }).regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be an order id'),
  /** PROTOCOL.md v2: replay every frame with seq >= fromSeq first (absent: the current frame only, as v1). */
  fromSeq: z.number({ error: 'must be an integer >= 1' }).int('must be an integer >= 1').min(1, 'must be an integer >= 1').optional(),
});

const pingSchema = z.strictObject({ action: z.literal('ping') });

export interface ValidatedOrder {
  side: 'buy' | 'sell';
  tokenIn: Token;
  tokenOut: Token;
  amountIn: bigint;
  slippageBps: number;
  clientOrderId?: string | undefined;
  /** Absent: "auto". */
  priorityFee?: PriorityFeePolicy | undefined;
  mockFailures?: Partial<Record<string, ForcedFailure>> | undefined;
}

const issuesOf = (error: z.ZodError): ValidationIssue[] =>
  error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      // Named from the top (`priorityFee.extra`), so a nested unknown field is found where it was sent.
      return { path: issue.keys.map((key) => (path ? `${path}.${key}` : key)).join(','), message: 'unknown field' };
    }
    return { path, message: issue.message };
  });

const validationFailed = (issues: ValidationIssue[]): RequestError =>
  new RequestError('VALIDATION_FAILED', issues.map((issue) => `${issue.path || '(body)'}: ${issue.message}`).join('; '), issues);

const parseWith = <T>(schema: z.ZodType<T>, body: unknown): T => {
  const result = schema.safeParse(body);
  if (!result.success) throw validationFailed(issuesOf(result.error));
  return result.data;
};

const tokenAt = (path: 'tokenIn' | 'tokenOut', value: string): Token => {
  const token = resolveToken(value);
  if (!token) throw new RequestError('UNKNOWN_TOKEN', `${path}: unknown token "${value.slice(0, 64)}"`, [{ path, message: 'unknown token' }]);
  return token;
};

const validateOrderFields = (fields: z.infer<z.ZodObject<typeof orderFields>>): Omit<ValidatedOrder, 'clientOrderId' | 'priorityFee' | 'mockFailures'> => {
  const tokenIn = tokenAt('tokenIn', fields.tokenIn);
  const tokenOut = tokenAt('tokenOut', fields.tokenOut);
  if (tokenIn.mint === tokenOut.mint) {
    throw validationFailed([{ path: 'tokenOut', message: 'must differ from tokenIn' }]);
  }
  let amountIn: bigint;
  try {
    amountIn = parseUiAmount(fields.amount, tokenIn);
  } catch (error) {
    if (isEngineError(error) && error instanceof RequestError) {
      throw validationFailed(error.issues.length > 0 ? error.issues : [{ path: 'amount', message: error.message }]);
    }
    throw error;
  }
  return { side: fields.side, tokenIn, tokenOut, amountIn, slippageBps: Math.round(fields.slippage * 100) };
};

export const validateExecute = (body: unknown, options: { testHooks: boolean }): ValidatedOrder => {
  const parsed = parseWith(executeSchema, body);
  if (parsed.mockFailures && !options.testHooks) {
    throw validationFailed([{ path: 'mockFailures', message: 'test hooks are not enabled on this engine' }]);
  }
  return {
    ...validateOrderFields(parsed),
    clientOrderId: parsed.clientOrderId,
    ...(parsed.priorityFee !== undefined ? { priorityFee: parsed.priorityFee } : {}),
    mockFailures: parsed.mockFailures,
  };
};

export const validateQuote = (body: unknown): ValidatedOrder => validateOrderFields(parseWith(quoteSchema, body));

export const validateSubscribe = (body: unknown): { orderId: string; fromSeq?: number | undefined } => parseWith(subscribeSchema, body);

export const validatePing = (body: unknown): void => void parseWith(pingSchema, body);

export const KNOWN_ACTIONS = ['execute', 'subscribe', 'quote', 'ping'] as const;

/** The request messages' schemas, as the published contract describes them (infra/asyncapi.ts). */
export const REQUEST_SCHEMAS = { execute: executeSchema, quote: quoteSchema, subscribe: subscribeSchema, ping: pingSchema } as const;
