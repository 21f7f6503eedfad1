/**
 * One error hierarchy for the whole engine. `code` is the stable string clients see (PROTOCOL.md "Error codes");
 * `retryable` tells the execution step whether SQS should redeliver; `cause` keeps the underlying error.
 */
export interface EngineErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  /** Structured context (offending path, venue program error, ...). Never secrets. */
  details?: Record<string, unknown>;
}

export class EngineError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: EngineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

export interface ValidationIssue {
  path: string;
  message: string;
}

/** Bad client input: answered with an `error` frame, never creates an order. */
export class RequestError extends EngineError {
  readonly issues: ValidationIssue[];
  constructor(code: 'BAD_REQUEST' | 'UNKNOWN_ACTION' | 'VALIDATION_FAILED' | 'UNKNOWN_TOKEN' | 'NOT_FOUND' | 'FORBIDDEN' | 'RATE_LIMITED', message: string, issues: ValidationIssue[] = [], options: EngineErrorOptions = {}) {
    super(code, message, options);
    this.issues = issues;
  }
}

/** A venue or routing failure (no route, insufficient liquidity, venue API error). */
export class VenueError extends EngineError {}

/** A failure on the (mock) chain: slippage exceeded on landing, expired blockhash, RPC timeout. */
export class ChainError extends EngineError {}

/** A persistence or transport failure talking to AWS (DynamoDB, SQS, Management API). */
export class InfrastructureError extends EngineError {
  constructor(code: string, message: string, options: EngineErrorOptions = {}) {
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
