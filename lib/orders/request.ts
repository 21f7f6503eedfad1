import { z } from 'zod';
import { RequestError, isEngineError, type ValidationIssue } from '../errors';
import { resolveToken, parseUiAmount, type Token } from '../tokens';
import { FORCEABLE_FAILURES, type ForcedFailure } from '../chain/forced-failures';
import { formatLimitPrice, parseLimitPrice } from './limit-price';
import { VenueError } from '../errors';
import { findPair } from '../venues/market';
import { launchPairOf } from '../venues/pools';
import { LAUNCH_DEXES } from '../venues/launched';


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

/** PROTOCOL.md v2 order types: `market` (the default) runs at once; `limit` and `snipe` rest `open` until they trigger. */
export const ORDER_TYPES = ['market', 'limit', 'snipe'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

/** PROTOCOL.md v2 `expiresAt`: a resting order lives 24 h unless told otherwise, and at most 30 days. */
export const DEFAULT_RESTING_LIFETIME_MS = 24 * 3600_000;
export const MAX_RESTING_LIFETIME_MS = 30 * 24 * 3600_000;

const orderIdSchema = z.string({ error: 'must be a string' }).regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be an order id');
const clientOrderIdSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9_-]');

/*
 * Unknown keys are rejected rather than ignored: a trading client that misspells `slippage` must hear about it,
 * not silently trade at the default tolerance.
 */
const executeSchema = z.strictObject({
  action: z.literal('execute'),
  ...orderFields,
  type: z.enum(ORDER_TYPES, { error: 'must be "market", "limit" or "snipe"' }).optional(),
  limitPrice: amountSchema.optional(),
  expiresAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time' }).optional(),
  clientOrderId: clientOrderIdSchema.optional(),
  priorityFee: priorityFeeSchema.optional(),
  mockFailures: z.record(z.string().regex(/^[1-9]$/, 'keys are attempt numbers 1-9'), z.enum(FORCEABLE_FAILURES)).optional(),
});

const quoteSchema = z.strictObject({ action: z.literal('quote'), ...orderFields });

const subscribeSchema = z.strictObject({
  action: z.literal('subscribe'),
  orderId: orderIdSchema,
  /** PROTOCOL.md v2: replay every frame with seq >= fromSeq first (absent: the current frame only, as v1). */
  fromSeq: z.number({ error: 'must be an integer >= 1' }).int('must be an integer >= 1').min(1, 'must be an integer >= 1').optional(),
});

const pingSchema = z.strictObject({ action: z.literal('ping') });

/** PROTOCOL.md v2 `cancel`: by orderId or by clientOrderId, exactly one of them. */
const cancelSchema = z
  .strictObject({ action: z.literal('cancel'), orderId: orderIdSchema.optional(), clientOrderId: clientOrderIdSchema.optional() })
  .refine((m) => (m.orderId === undefined) !== (m.clientOrderId === undefined), { error: 'name the order by exactly one of orderId or clientOrderId', path: ['orderId'] });

/** PROTOCOL.md v2 `orders`: the caller's orders, newest first, a page at a time. */
const ordersSchema = z.strictObject({
  action: z.literal('orders'),
  status: z.enum(['open', 'closed', 'all'], { error: 'must be "open", "closed" or "all"' }).default('all'),
  limit: z.number({ error: 'must be an integer 1-100' }).int('must be an integer 1-100').min(1, 'must be an integer 1-100').max(100, 'must be an integer 1-100').default(50),
  cursor: z.string({ error: 'must be the cursor of a previous answer' }).min(1).max(1024).optional(),
});

export interface ValidatedOrder {
  /** Absent: market. */
  type?: 'limit' | 'snipe' | undefined;
  /** Canonical decimal string (formatLimitPrice); limit: required, snipe: optional worst price. */
  limitPrice?: string | undefined;
  /** limit and snipe: when the resting order ends `expired`. */
  expiresAtMs?: number | undefined;
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

/**
 * Tokens that are not in the static list but launched on the mock chain (a mint, or a symbol `launches` announced),
 * keyed by the name the request used: looked up (asynchronously) before validation, by `launchedTokensOf`.
 */
export type LaunchedTokens = ReadonlyMap<string, Token>;

/** The launched tokens an order message names, looked up in the launch book; names in the static list are not looked up. */
export const launchedTokensOf = async (body: unknown, launches: { tokenFor(symbolOrMint: string): Promise<Token | undefined> }): Promise<LaunchedTokens> => {
  const found = new Map<string, Token>();
  if (typeof body !== 'object' || body === null) return found;
  for (const key of ['tokenIn', 'tokenOut'] as const) {
    const name = (body as Record<string, unknown>)[key];
    if (typeof name !== 'string' || name.length === 0 || name.length > 64 || resolveToken(name) || found.has(name)) continue;
    const token = await launches.tokenFor(name);
    if (token) found.set(name, token);
  }
  return found;
};

const tokenAt = (path: 'tokenIn' | 'tokenOut', value: string, launched?: LaunchedTokens): Token => {
  const token = resolveToken(value) ?? launched?.get(value);
  if (!token) throw new RequestError('UNKNOWN_TOKEN', `${path}: unknown token "${value.slice(0, 64)}"`, [{ path, message: 'unknown token' }]);
  return token;
};

const validateOrderFields = (
  fields: z.infer<z.ZodObject<typeof orderFields>>,
  launched?: LaunchedTokens,
): Omit<ValidatedOrder, 'clientOrderId' | 'priorityFee' | 'mockFailures'> => {
  const tokenIn = tokenAt('tokenIn', fields.tokenIn, launched);
  const tokenOut = tokenAt('tokenOut', fields.tokenOut, launched);
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

/** type, limitPrice and expiresAt (PROTOCOL.md v2 "Order types"); a market order carries neither of the two. */
const restingFields = (parsed: z.infer<typeof executeSchema>, nowMs: number): Pick<ValidatedOrder, 'type' | 'limitPrice' | 'expiresAtMs'> => {
  const type = parsed.type ?? 'market';
  if (type === 'market') {
    const misplaced = (['limitPrice', 'expiresAt'] as const).filter((key) => parsed[key] !== undefined);
    if (misplaced.length > 0) throw validationFailed(misplaced.map((path) => ({ path, message: 'only for "limit" and "snipe" orders' })));
    return {};
  }
  if (type === 'limit' && parsed.limitPrice === undefined) throw validationFailed([{ path: 'limitPrice', message: 'required for a limit order' }]);
  const limitPrice = parsed.limitPrice === undefined ? undefined : formatLimitPrice(parseLimitPrice(parsed.limitPrice));
  let expiresAtMs = nowMs + DEFAULT_RESTING_LIFETIME_MS;
  if (parsed.expiresAt !== undefined) {
    expiresAtMs = Date.parse(parsed.expiresAt);
    if (expiresAtMs <= nowMs) throw validationFailed([{ path: 'expiresAt', message: 'is in the past' }]);
    if (expiresAtMs > nowMs + MAX_RESTING_LIFETIME_MS) throw validationFailed([{ path: 'expiresAt', message: 'at most 30 days ahead' }]);
  }
  return { type, ...(limitPrice !== undefined ? { limitPrice } : {}), expiresAtMs };
};

/**
 * PROTOCOL.md v2: an order for a pair with neither a pool nor a scheduled launch is refused at once (NO_ROUTE), whatever
 * its type; a snipe names a launched token (a mint, or a symbol the mock chain announced).
 */
const routableFields = (order: Pick<ValidatedOrder, 'type' | 'tokenIn' | 'tokenOut'>): void => {
  const launchPair = launchPairOf(order);
  if (order.type === 'snipe' && !launchPair) {
    throw validationFailed([{ path: 'tokenOut', message: 'a snipe order names a launched token (a mint or a symbol from `launches`) against its quote token' }]);
  }
  if (!launchPair && !findPair(order.tokenIn, order.tokenOut)) {
    throw new VenueError('NO_ROUTE', `no pool and no scheduled launch for ${order.tokenIn.symbol} -> ${order.tokenOut.symbol}`, { retryable: false });
  }
};

export const validateExecute = (body: unknown, options: { testHooks: boolean; nowMs?: number; launched?: LaunchedTokens }): ValidatedOrder => {
  const parsed = parseWith(executeSchema, body);
  if (parsed.mockFailures && !options.testHooks) {
    throw validationFailed([{ path: 'mockFailures', message: 'test hooks are not enabled on this engine' }]);
  }
  const resting = restingFields(parsed, options.nowMs ?? Date.now());
  const fields = validateOrderFields(parsed, options.launched);
  routableFields({ ...resting, ...fields });
  return {
    ...resting,
    ...fields,
    clientOrderId: parsed.clientOrderId,
    ...(parsed.priorityFee !== undefined ? { priorityFee: parsed.priorityFee } : {}),
    mockFailures: parsed.mockFailures,
  };
};

export const validateQuote = (body: unknown, options: { launched?: LaunchedTokens } = {}): ValidatedOrder =>
  validateOrderFields(parseWith(quoteSchema, body), options.launched);

/** PROTOCOL.md v2 `launches`: the mock chain's announced launches. */
const launchesSchema = z.strictObject({ action: z.literal('launches') });

const decimalString = (what: string) => z.string({ error: `must be ${what} as a decimal string` }).regex(/^\d{1,20}(\.\d{1,20})?$/, `must be ${what} as a decimal string`);

/** PROTOCOL.md v2 `mockLaunch` (MOCK_TEST_HOOKS only): a launch now, opening `openInSeconds` later. */
const mockLaunchSchema = z.strictObject({
  action: z.literal('mockLaunch'),
  symbol: z.string({ error: 'must be 2-10 letters or digits' }).regex(/^[A-Za-z][A-Za-z0-9]{1,9}$/, 'must be 2-10 letters or digits'),
  dex: z.enum(LAUNCH_DEXES, { error: 'must be "raydium" or "meteora"' }),
  quoteToken: z.enum(['USDC', 'SOL'], { error: 'must be "USDC" or "SOL"' }).default('USDC'),
  price: decimalString('a price > 0').refine((p) => Number(p) > 0, 'must be > 0'),
  openInSeconds: z.number({ error: 'must be 0-3600 seconds' }).int('must be whole seconds').min(0, 'must be 0-3600 seconds').max(3600, 'must be 0-3600 seconds').default(0),
  /** Extension: the pool's quote-side depth, UI units of the quote token (default 10,000 USDC or 50 SOL). */
  liquidity: decimalString('an amount > 0').refine((p) => Number(p) > 0, 'must be > 0').optional(),
  /** Extension: the launched token's decimals (default 6). */
  decimals: z.number({ error: 'must be 0-9' }).int('must be 0-9').min(0, 'must be 0-9').max(9, 'must be 0-9').optional(),
});

export const validateLaunches = (body: unknown): void => void parseWith(launchesSchema, body);

export type MockLaunchMessage = Omit<z.infer<typeof mockLaunchSchema>, 'action'>;
export const validateMockLaunch = (body: unknown): MockLaunchMessage => {
  const { action: _action, ...request } = parseWith(mockLaunchSchema, body);
  return request;
};

export const validateSubscribe = (body: unknown): { orderId: string; fromSeq?: number | undefined } => parseWith(subscribeSchema, body);

export const validatePing = (body: unknown): void => void parseWith(pingSchema, body);

export type CancelRequest = { orderId: string; clientOrderId?: undefined } | { orderId?: undefined; clientOrderId: string };
export const validateCancel = (body: unknown): CancelRequest => {
  const { orderId, clientOrderId } = parseWith(cancelSchema, body);
  return orderId !== undefined ? { orderId } : { clientOrderId: clientOrderId as string };
};

export type OrdersRequest = Omit<z.infer<typeof ordersSchema>, 'action'>;
export const validateOrders = (body: unknown): OrdersRequest => {
  const { action: _action, ...request } = parseWith(ordersSchema, body);
  return request;
};

/** PROTOCOL.md v2 `launches`, and `mockLaunch` (refused with UNKNOWN_ACTION unless MOCK_TEST_HOOKS is on). */
export const LAUNCH_ACTIONS = ['launches', 'mockLaunch'] as const;

export const KNOWN_ACTIONS = ['execute', 'subscribe', 'quote', 'ping', 'cancel', 'orders', ...LAUNCH_ACTIONS] as const;

/** The request messages' schemas, as the published contract describes them (infra/asyncapi.ts). */
export const REQUEST_SCHEMAS = {
  execute: executeSchema,
  quote: quoteSchema,
  subscribe: subscribeSchema,
  ping: pingSchema,
  launches: launchesSchema,
  mockLaunch: mockLaunchSchema,
  cancel: cancelSchema,
  orders: ordersSchema,
} as const;
