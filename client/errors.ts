import type { ErrorFrame } from '../lib/notify/frames';

/**
 * The engine refused a request with an `error` frame (PROTOCOL.md "Other frames"). `RATE_LIMITED` and `UNAVAILABLE`
 * are never retried by the SDK: the caller decides, and `retryAfterMs` says when trying again can succeed.
 */
export class EngineRequestError extends Error {
  readonly code: string;
  readonly details: { path: string; message: string }[] | undefined;
  readonly retryAfterMs: number | undefined;
  /** DUPLICATE_CLIENT_ORDER_ID names the existing order; UNAVAILABLE the order it may have been recorded under. */
  readonly orderId: string | undefined;
  readonly action: string | undefined;
  readonly clientOrderId: string | undefined;
  readonly frame: ErrorFrame;

  constructor(frame: ErrorFrame) {
    super(`${frame.code}: ${frame.message}`);
    this.name = 'EngineRequestError';
    this.code = frame.code;
    this.details = frame.details;
    this.retryAfterMs = frame.retryAfterMs;
    this.orderId = frame.orderId;
    this.action = frame.action;
    this.clientOrderId = frame.clientOrderId;
    this.frame = frame;
  }

  /** RATE_LIMITED / UNAVAILABLE: the same request may succeed after `retryAfterMs`. */
  get retryable(): boolean {
    return this.code === 'RATE_LIMITED' || this.code === 'UNAVAILABLE';
  }
}

/**
 * The connection is gone for good: refused on connect (`status` 401 when the runtime tells it), closed by the caller,
 * closed by the engine with a code the SDK does not reconnect after (`closeCode`), or reconnect attempts exhausted.
 */
export class EngineConnectionError extends Error {
  readonly closeCode: number | undefined;
  readonly status: number | undefined;

  constructor(message: string, options: { closeCode?: number | undefined; status?: number | undefined } = {}) {
    super(message);
    this.name = 'EngineConnectionError';
    this.closeCode = options.closeCode;
    this.status = options.status;
  }
}

/** A frame that is not JSON or does not match its schema. Reported through `onProtocolError`, never thrown. */
export interface ProtocolProblem {
  reason: string;
  raw: string;
}
