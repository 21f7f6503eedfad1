/**
 * One error hierarchy for the whole engine. `code` is the stable string clients see (PROTOCOL.md "Error codes");
 * `retryable` tells the execution step whether SQS should redeliver; `cause` keeps the underlying error.
 */
export interface EngineErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  /** Structured context (offending path, venue program error, ...). Never secrets. */
  details?: Record<string, unknown>;
  /** When the client may try again (admission control, capacity): echoed as the frame's `retryAfterMs`. */
  retryAfterMs?: number;
}

/*
 * The code families are runtime lists, their types inferred, so the published contract (infra/asyncapi.ts) lists the
 * very codes the engine can send.
 */

/** Codes of a venue or routing failure (dex-realism.md: the venues' own conditions, mapped). */
export const VENUE_ERROR_CODES = [
  'NO_ROUTE',
  'INSUFFICIENT_LIQUIDITY',
  'INVALID_INPUT',
  'INVALID_BIN',
  'POOL_NOT_TRADABLE',
  'ZERO_TRADING_TOKENS',
  'VENUE_UNAVAILABLE',
] as const;
export type VenueErrorCode = (typeof VENUE_ERROR_CODES)[number];

/** Codes of a failure on the chain: at preflight, at send, or at landing (the program's error). */
export const CHAIN_ERROR_CODES = [
  'BLOCKHASH_EXPIRED',
  'RPC_TIMEOUT',
  'SLIPPAGE_EXCEEDED',
  'INSUFFICIENT_LIQUIDITY',
  /** A swap on a launched pool before its open time: the program refuses it (the transaction lands and pays its fee). */
  'POOL_NOT_OPEN',
  'INVALID_TRANSACTION',
  'INTERNAL',
] as const;
export type ChainErrorCode = (typeof CHAIN_ERROR_CODES)[number];

/** Codes of a persistence or transport failure. */
export type InfrastructureErrorCode = 'INTERNAL';

/**
 * Codes of the `keys` command (lib/accounts/keys.ts): `USAGE` and `NO_TARGET` are the caller's to fix in how the
 * command is run (exit 2); `KEY_NOT_FOUND`, `KEY_AMBIGUOUS` and `KEY_EXISTS` are answers about the table's contents
 * (exit 1).
 */
export type KeysErrorCode = 'USAGE' | 'NO_TARGET' | 'KEY_NOT_FOUND' | 'KEY_AMBIGUOUS' | 'KEY_EXISTS';

/** Every code an EngineError can carry: one family per subclass, plus the engine's own. */
export type EngineErrorCode =
  | RequestErrorCode
  | VenueErrorCode
  | ChainErrorCode
  | InfrastructureErrorCode
  | KeysErrorCode
  | 'UNAVAILABLE'
  | 'STALE_WRITE'
  | 'CONFIG_INVALID'
  /** The execution of a previous attempt died before it sent anything. */
  | 'ATTEMPT_INTERRUPTED';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: EngineErrorCode, message: string, options: EngineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export interface ValidationIssue {
  path: string;
  message: string;
}

/** Codes of the `error` frame that answers a request (PROTOCOL.md "Error codes", "Admission control"). */
export const REQUEST_ERROR_CODES = [
  'BAD_REQUEST',
  'UNKNOWN_ACTION',
  'VALIDATION_FAILED',
  'UNKNOWN_TOKEN',
  'NOT_FOUND',
  'FORBIDDEN',
  /** The HTTP API without a valid `x-api-key` (HTTP 401; a WebSocket without one is refused at `$connect`). */
  'UNAUTHORIZED',
  'RATE_LIMITED',
  /** A clientOrderId the owner already used for a different order (PROTOCOL.md v2 proposal). */
  'DUPLICATE_CLIENT_ORDER_ID',
  /** `cancel` of an order already executing or terminal (PROTOCOL.md v2 `cancel`; HTTP 409). */
  'NOT_CANCELLABLE',
] as const;
export type RequestErrorCode = (typeof REQUEST_ERROR_CODES)[number];

/** Bad client input, or a request over a limit: answered with an `error` frame, never creates an order. */
export class RequestError extends EngineError {
  declare readonly code: RequestErrorCode;
  readonly issues: ValidationIssue[];
  /** The existing order a request collided with (DUPLICATE_CLIENT_ORDER_ID). */
  readonly orderId: string | undefined;
  constructor(code: RequestErrorCode, message: string, issues: ValidationIssue[] = [], options: EngineErrorOptions & { orderId?: string } = {}) {
    super(code, message, options);
    this.issues = issues;
    this.orderId = options.orderId;
  }
}

/**
 * The engine could not do the request in its time budget because a store or queue was over capacity or
 * unreachable (PROTOCOL.md "Admission control"): answered `UNAVAILABLE` with `retryAfterMs`. `recorded` says what the
 * client must know before it retries: `no` (nothing was stored) or `unknown` (a write may have landed; a retry with
 * the same clientOrderId is safe, and `orderId` names what it would be).
 */
export class UnavailableError extends EngineError {
  readonly recorded: 'no' | 'unknown';
  readonly orderId: string | undefined;
  constructor(message: string, options: EngineErrorOptions & { recorded?: 'no' | 'unknown'; orderId?: string } = {}) {
    super('UNAVAILABLE', message, { retryable: true, retryAfterMs: options.retryAfterMs ?? 1_000, ...options });
    this.recorded = options.recorded ?? 'no';
    this.orderId = options.orderId;
  }
}

/** A venue or routing failure (no route, insufficient liquidity, venue API error). */
export class VenueError extends EngineError {
  declare readonly code: VenueErrorCode;
  constructor(code: VenueErrorCode, message: string, options: EngineErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A failure on the (mock) chain: slippage exceeded on landing, expired blockhash, RPC timeout. */
export class ChainError extends EngineError {
  declare readonly code: ChainErrorCode;
  constructor(code: ChainErrorCode, message: string, options: EngineErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A persistence or transport failure talking to AWS (DynamoDB, SQS, Management API). */
export class InfrastructureError extends EngineError {
  declare readonly code: InfrastructureErrorCode;
  constructor(code: InfrastructureErrorCode, message: string, options: EngineErrorOptions = {}) {
    super(code, message, { retryable: true, ...options });
  }
}

/** A state-machine conflict: a write conditioned on the order's seq/status lost the race. */
export class StaleWriteError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}) {
    super('STALE_WRITE', message, options);
  }
}

/** Configuration missing or malformed at start-up. */
export class ConfigError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}) {
    super('CONFIG_INVALID', message, options);
  }
}

export const isEngineError = (error: unknown): error is EngineError => error instanceof EngineError;
