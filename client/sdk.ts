/**
 * A typed client for the engine's WebSocket protocol (../shared/PROTOCOL.md), for Node 20+ (the `ws` package) and
 * browsers (pass the browser's `WebSocket`).
 *
 *   const client = await connect({ url: 'ws://127.0.0.1:3001', apiKey });
 *   const order = client.execute({ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '2' });
 *   for await (const frame of order.frames) console.log(frame.seq, frame.status);
 *   const terminal = await order.done;
 *
 * Answers are correlated by `clientOrderId` (generated when the caller gives none), quotes by the order they were sent
 * in on one connection. After an unexpected close the client reconnects with exponential backoff and full jitter, then
 * re-subscribes every unfinished order from the first frame it missed (`fromSeq`), and re-sends an `execute` not yet
 * acknowledged under the same `clientOrderId` (the engine never executes a key twice). Frames are de-duplicated by `seq`.
 */
import { errorFrameSchema, orderFrameSchema, ordersFrameSchema, quoteFrameSchema, type ErrorFrame, type OrderFrame, type OrdersFrame, type QuoteFrame } from '../lib/notify/frames';
import { EngineConnectionError, EngineRequestError, type ProtocolProblem } from './errors';
import { deferred, OrderHandleState, type Deferred, type OrderHandle } from './order-handle';

export { EngineConnectionError, EngineRequestError, type ProtocolProblem } from './errors';
export { isTerminalStatus, type OrderHandle, type SeqGap } from './order-handle';
export type { ErrorFrame, OrderFrame, OrdersFrame, QuoteFrame } from '../lib/notify/frames';

/** The part of the WHATWG WebSocket the SDK uses; the `ws` package and browsers both provide it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addEventListener(type: string, listener: (event: any) => void): void;
}
/** A browser's `WebSocket` (2 arguments) or `ws`'s (the third, options, carries the `x-api-key` header). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) => WebSocketLike;

export interface OrderRequest {
  side: 'buy' | 'sell';
  /** buy: the token spent; sell: the token disposed of. `amount` is always the exact input amount of `tokenIn`. */
  tokenIn: string;
  tokenOut: string;
  amount: number | string;
  /** Percent, 0 < s <= 50, at most 2 decimals; the engine's default is 1.0. */
  slippage?: number;
}

export interface ExecuteRequest extends OrderRequest {
  /** 1-64 of [A-Za-z0-9_-]; generated when absent. */
  clientOrderId?: string;
  /** Further fields (v2 `type`, `limitPrice`, test hooks such as `mockFailures`) are sent as given. */
  [field: string]: unknown;
}

export interface ReconnectOptions {
  /** First backoff ceiling; attempt n waits a uniform random time in [0, min(capMs, baseMs * 2^(n-1))). */
  baseMs?: number;
  capMs?: number;
  /** Attempts in a row before giving up (the unfinished orders then reject with EngineConnectionError). */
  maxAttempts?: number;
}

export type ConnectionState = 'open' | 'reconnecting' | 'closed';

export interface ConnectOptions {
  url: string;
  apiKey?: string;
  /** How the key travels: `header` (x-api-key, Node only) or `query` (apiKey=, browsers). Default: header with the
   *  default `ws` constructor, query with an injected one. */
  apiKeyIn?: 'header' | 'query';
  WebSocket?: WebSocketConstructor;
  /** `false` never reconnects. */
  reconnect?: ReconnectOptions | false;
  /** Replace the connection before API Gateway's 2 h limit; default 110 min, 0 disables. */
  plannedReconnectMs?: number;
  /** Send `ping` this often while open, so API Gateway's 10 min idle timeout never closes the connection; default 5 min, 0 disables. */
  keepaliveMs?: number;
  /** A frame that is not JSON or does not match its schema. */
  onProtocolError?: (problem: ProtocolProblem) => void;
  /** An `error` frame the SDK could not match to a request (the request had no `action` echo, ...). */
  onUnmatchedError?: (frame: ErrorFrame) => void;
  onConnectionState?: (state: ConnectionState, info: { closeCode?: number; attempt?: number; delayMs?: number }) => void;
  /** For tests: the jitter source (default Math.random). */
  random?: () => number;
}

/** PROTOCOL.md v2 `cancel`: the order by its id or by the clientOrderId it was placed with. */
export type CancelRequest = { orderId: string } | { clientOrderId: string };

/** PROTOCOL.md v2 `orders`: defaults `all` and 50; `cursor` from the previous page. */
export interface OrdersRequest {
  status?: 'open' | 'closed' | 'all';
  limit?: number;
  cursor?: string;
}

export interface EngineClient {
  execute(order: ExecuteRequest): OrderHandle;
  quote(request: OrderRequest): Promise<QuoteFrame>;
  subscribe(orderId: string): OrderHandle;
  /**
   * Cancels a `pending` or `open` order: resolves with its `cancelled` frame; rejects with EngineRequestError
   * NOT_CANCELLABLE (details[0].message: its status) or NOT_FOUND. A connection lost before the answer rejects with
   * EngineConnectionError: the order may or may not be cancelled (`orders` or `subscribe` tell).
   */
  cancel(request: CancelRequest): Promise<OrderFrame>;
  /** One page of this account's orders, newest first; `cursor` null when there is no more. */
  orders(request?: OrdersRequest): Promise<OrdersFrame>;
  /** Closes for good: no reconnect; unfinished handles and quotes reject with EngineConnectionError. */
  close(): Promise<void>;
  readonly state: ConnectionState;
}

const CLIENT_ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const OPEN = 1;
/** Close codes after which reconnecting can help: going away, no status, abnormal, server error, restart, try later. */
export const RECONNECT_CLOSE_CODES: ReadonlySet<number> = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014]);
export const DEFAULT_PLANNED_RECONNECT_MS = 110 * 60_000;
/** API Gateway closes a WebSocket idle for 10 min (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
export const DEFAULT_KEEPALIVE_MS = 5 * 60_000;
const RETIRE_GRACE_MS = 2_000;

export const generateClientOrderId = (): string => {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  let out = 'sdk-';
  for (const byte of bytes) out += alphabet[byte & 63];
  return out;
};

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, min(cap, base * 2^(n-1))). */
export const backoffDelay = (attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1)));

const unref = (timer: ReturnType<typeof setTimeout>): void => {
  (timer as { unref?: () => void }).unref?.();
};

const textOf = (data: unknown): string | undefined => {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return undefined;
};

interface Conn {
  ws: WebSocketLike;
  gen: number;
  opened: boolean;
  retired: boolean;
  httpStatus: number | undefined;
}

interface PendingQuote {
  message: Record<string, unknown>;
  gen: number;
  result: Deferred<QuoteFrame>;
}

interface PendingCancel {
  orderId: string | undefined;
  clientOrderId: string | undefined;
  gen: number;
  result: Deferred<OrderFrame>;
}

interface PendingListing {
  message: Record<string, unknown>;
  gen: number;
  result: Deferred<OrdersFrame>;
}

interface PendingSubscribe {
  handle: OrderHandleState;
  gen: number;
  /** Sent by the SDK itself (resync after a reconnect): a retryable refusal is retried, not surfaced. */
  internal: boolean;
}

class Client implements EngineClient {
  state: ConnectionState = 'reconnecting';
  private conn: Conn | undefined;
  private gen = 0;
  private attempt = 0;
  private closedByCaller = false;
  private readonly byClientOrderId = new Map<string, OrderHandleState>();
  private readonly byOrderId = new Map<string, OrderHandleState>();
  private readonly unfinished = new Set<OrderHandleState>();
  private quotes: PendingQuote[] = [];
  private cancels: PendingCancel[] = [];
  private listings: PendingListing[] = [];
  private subscribes: PendingSubscribe[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly firstOpen = deferred<void>();
  private readonly reconnect: Required<ReconnectOptions> | false;

  constructor(
    private readonly options: ConnectOptions,
    private readonly Ctor: WebSocketConstructor,
    private readonly keyIn: 'header' | 'query',
  ) {
    this.reconnect = options.reconnect === false ? false : { baseMs: 250, capMs: 30_000, maxAttempts: Infinity, ...options.reconnect };
  }

  start(): Promise<void> {
    this.open(false);
    return this.firstOpen.promise;
  }

  // ---- requests -------------------------------------------------------------------------------------------------

  execute(order: ExecuteRequest): OrderHandle {
    this.assertUsable();
    const clientOrderId = order.clientOrderId ?? generateClientOrderId();
    if (!CLIENT_ORDER_ID.test(clientOrderId)) throw new RangeError('clientOrderId must be 1-64 characters of [A-Za-z0-9_-]');
    const existing = this.byClientOrderId.get(clientOrderId);
    if (existing && !existing.finished) throw new RangeError(`clientOrderId ${clientOrderId} is already in flight on this client`);
    const message: Record<string, unknown> = { ...order, action: 'execute', clientOrderId };
    const handle = new OrderHandleState(clientOrderId, message);
    this.byClientOrderId.set(clientOrderId, handle);
    this.unfinished.add(handle);
    void handle.done.finally(() => this.forget(handle)).catch(() => undefined);
    if (this.isOpen()) {
      handle.sent = true;
      this.sendNow(message);
    }
    return handle;
  }

  quote(request: OrderRequest): Promise<QuoteFrame> {
    this.assertUsable();
    const { side, tokenIn, tokenOut, amount, slippage } = request;
    const message: Record<string, unknown> = { action: 'quote', side, tokenIn, tokenOut, amount, ...(slippage !== undefined ? { slippage } : {}) };
    const pending: PendingQuote = { message, gen: -1, result: deferred<QuoteFrame>() };
    this.quotes.push(pending);
    if (this.isOpen()) this.sendQuote(pending);
    return pending.result.promise;
  }

  cancel(request: CancelRequest): Promise<OrderFrame> {
    this.assertUsable();
    const orderId = 'orderId' in request ? request.orderId : undefined;
    const clientOrderId = 'clientOrderId' in request ? request.clientOrderId : undefined;
    if ((orderId === undefined) === (clientOrderId === undefined)) throw new RangeError('cancel takes an orderId or a clientOrderId');
    if (!this.isOpen()) return Promise.reject(new EngineConnectionError('not connected; the cancel was not sent'));
    const pending: PendingCancel = { orderId, clientOrderId, gen: this.conn?.gen ?? -1, result: deferred<OrderFrame>() };
    this.cancels.push(pending);
    this.sendNow({ action: 'cancel', ...(orderId !== undefined ? { orderId } : { clientOrderId }) });
    return pending.result.promise;
  }

  orders(request: OrdersRequest = {}): Promise<OrdersFrame> {
    this.assertUsable();
    const { status, limit, cursor } = request;
    const message: Record<string, unknown> = { action: 'orders', ...(status !== undefined ? { status } : {}), ...(limit !== undefined ? { limit } : {}), ...(cursor !== undefined ? { cursor } : {}) };
    const pending: PendingListing = { message, gen: -1, result: deferred<OrdersFrame>() };
    this.listings.push(pending);
    if (this.isOpen()) this.sendListing(pending);
    return pending.result.promise;
  }

  subscribe(orderId: string): OrderHandle {
    this.assertUsable();
    const existing = this.byOrderId.get(orderId);
    if (existing && !existing.finished) return existing;
    const handle = new OrderHandleState(undefined, undefined);
    handle.boundOrderId = orderId;
    this.byOrderId.set(orderId, handle);
    this.unfinished.add(handle);
    void handle.done.finally(() => this.forget(handle)).catch(() => undefined);
    if (this.isOpen()) this.sendSubscribe(handle, false);
    return handle;
  }

  async close(): Promise<void> {
    if (this.closedByCaller) return;
    this.closedByCaller = true;
    this.shutdown(new EngineConnectionError('closed by the caller'));
    const conn = this.conn;
    if (!conn || conn.ws.readyState > OPEN) return;
    await new Promise<void>((resolve) => {
      conn.ws.addEventListener('close', () => resolve());
      conn.ws.close(1000, 'client closing');
    });
  }

  // ---- connection -----------------------------------------------------------------------------------------------

  private open(planned: boolean): void {
    const gen = ++this.gen;
    let url = this.options.url;
    const headers: Record<string, string> = {};
    if (this.options.apiKey) {
      if (this.keyIn === 'header') headers['x-api-key'] = this.options.apiKey;
      else url += `${url.includes('?') ? '&' : '?'}apiKey=${encodeURIComponent(this.options.apiKey)}`;
    }
    let ws: WebSocketLike;
    try {
      ws = this.keyIn === 'header' ? new this.Ctor(url, undefined, { headers }) : new this.Ctor(url);
    } catch (error) {
      this.firstOpen.reject(error);
      return;
    }
    const conn: Conn = { ws, gen, opened: false, retired: false, httpStatus: undefined };
    if (!planned) this.conn = conn;
    ws.addEventListener('open', () => this.onOpen(conn, planned));
    ws.addEventListener('message', (event: { data: unknown }) => this.onMessage(conn, event.data));
    ws.addEventListener('error', (event: { message?: string; error?: unknown }) => {
      const text = event.message ?? (event.error instanceof Error ? event.error.message : '');
      const status = /Unexpected server response: (\d{3})/.exec(text ?? '');
      if (status) conn.httpStatus = Number(status[1]);
    });
    ws.addEventListener('close', (event: { code: number; reason?: string }) => this.onClose(conn, planned, event.code));
  }

  private onOpen(conn: Conn, planned: boolean): void {
    if (this.closedByCaller) {
      conn.ws.close(1000, 'client closing');
      return;
    }
    conn.opened = true;
    if (planned) {
      const old = this.conn;
      this.conn = conn;
      if (old) {
        old.retired = true;
        this.later(RETIRE_GRACE_MS, () => old.ws.close(1000, 'replaced'));
      }
    }
    this.attempt = 0;
    this.state = 'open';
    this.options.onConnectionState?.('open', {});
    this.firstOpen.resolve();
    this.resync();
    const plannedMs = this.options.plannedReconnectMs ?? DEFAULT_PLANNED_RECONNECT_MS;
    if (plannedMs > 0) this.later(plannedMs, () => this.plannedReconnect(conn), true);
    const keepaliveMs = this.options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
    if (keepaliveMs > 0) {
      const ping = (): void => {
        if (this.closedByCaller || this.conn !== conn || conn.retired) return;
        this.sendNow({ action: 'ping' });
        this.later(keepaliveMs, ping, true);
      };
      this.later(keepaliveMs, ping, true);
    }
  }

  private plannedReconnect(conn: Conn): void {
    if (this.closedByCaller || this.conn !== conn || conn.retired) return;
    this.open(true);
  }

  private onClose(conn: Conn, planned: boolean, code: number): void {
    if (this.closedByCaller || conn.retired) return;
    if (planned && !conn.opened) {
      // The replacement did not open; the current connection still serves. Try again a little later.
      this.attempt += 1;
      const current = this.conn;
      if (current) this.later(this.delay(), () => this.plannedReconnect(current), true);
      return;
    }
    if (conn !== this.conn) return;
    if (!this.firstOpen.settled) {
      this.firstOpen.reject(new EngineConnectionError(conn.httpStatus ? `connection refused with HTTP ${conn.httpStatus}` : `connection failed (close ${code})`, { closeCode: code, status: conn.httpStatus }));
      this.shutdown(new EngineConnectionError('connection failed'));
      return;
    }
    const refused = conn.httpStatus !== undefined && conn.httpStatus >= 400 && conn.httpStatus < 500 && conn.httpStatus !== 429;
    const reconnectable = !refused && (RECONNECT_CLOSE_CODES.has(code) || (!conn.opened && conn.httpStatus === undefined) || conn.httpStatus === 429 || (conn.httpStatus ?? 0) >= 500);
    if (!this.reconnect || !reconnectable) {
      const why = refused ? `reconnect refused with HTTP ${conn.httpStatus}` : `connection closed (${code})`;
      this.shutdown(new EngineConnectionError(why, { closeCode: code, status: conn.httpStatus }));
      return;
    }
    this.attempt += 1;
    if (this.attempt > this.reconnect.maxAttempts) {
      this.shutdown(new EngineConnectionError(`gave up after ${this.reconnect.maxAttempts} reconnect attempts`, { closeCode: code }));
      return;
    }
    const delayMs = this.delay();
    this.state = 'reconnecting';
    this.options.onConnectionState?.('reconnecting', { closeCode: code, attempt: this.attempt, delayMs });
    this.later(delayMs, () => {
      if (!this.closedByCaller) this.open(false);
    });
  }

  private delay(): number {
    const { baseMs, capMs } = this.reconnect || { baseMs: 250, capMs: 30_000 };
    return backoffDelay(this.attempt, baseMs, capMs, this.options.random);
  }

  /** On every new connection: follow every unfinished order again, re-send what was not answered. */
  private resync(): void {
    this.subscribes = [];
    for (const handle of this.unfinished) {
      if (handle.boundOrderId) this.sendSubscribe(handle, handle.executeMessage !== undefined || handle.history.length > 0);
      else if (handle.executeMessage) {
        if (handle.sent) handle.resent = true;
        handle.sent = true;
        this.sendNow(handle.executeMessage);
      }
    }
    for (const pending of this.quotes) this.sendQuote(pending);
    // A listing is a read: asked again. A cancel is not re-sent: its answer on the lost connection is unknown.
    for (const pending of this.listings) this.sendListing(pending);
    for (const pending of this.cancels) pending.result.reject(new EngineConnectionError('the connection was lost before the cancel was answered; the order may be cancelled'));
    this.cancels = [];
  }

  private shutdown(error: EngineConnectionError): void {
    this.state = 'closed';
    this.options.onConnectionState?.('closed', error.closeCode !== undefined ? { closeCode: error.closeCode } : {});
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const handle of [...this.unfinished]) handle.fail(error);
    for (const pending of this.quotes) pending.result.reject(error);
    this.quotes = [];
    for (const pending of [...this.cancels, ...this.listings]) pending.result.reject(error);
    this.cancels = [];
    this.listings = [];
    this.subscribes = [];
    this.firstOpen.reject(error);
  }

  // ---- sending --------------------------------------------------------------------------------------------------

  private isOpen(): boolean {
    return !!this.conn && this.conn.opened && this.conn.ws.readyState === OPEN;
  }

  private sendNow(message: Record<string, unknown>): void {
    if (this.isOpen()) this.conn?.ws.send(JSON.stringify(message));
  }

  private sendQuote(pending: PendingQuote): void {
    pending.gen = this.conn?.gen ?? -1;
    this.sendNow(pending.message);
  }

  private sendListing(pending: PendingListing): void {
    pending.gen = this.conn?.gen ?? -1;
    this.sendNow(pending.message);
  }

  private sendSubscribe(handle: OrderHandleState, internal: boolean): void {
    if (!this.isOpen() || !handle.boundOrderId) return;
    this.subscribes.push({ handle, gen: this.conn?.gen ?? -1, internal });
    // A resubscribe asks for exactly what it missed (PROTOCOL.md v2 `fromSeq`): no gap, and no duplicate to drop.
    const fromSeq = handle.lastSeq > 0 ? { fromSeq: handle.lastSeq + 1 } : {};
    this.sendNow({ action: 'subscribe', orderId: handle.boundOrderId, ...fromSeq });
  }

  private assertUsable(): void {
    if (this.closedByCaller || this.state === 'closed') throw new EngineConnectionError('the client is closed');
  }

  private later(ms: number, run: () => void, background = false): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
    if (background) unref(timer);
  }

  private forget(handle: OrderHandleState): void {
    this.unfinished.delete(handle);
    if (handle.clientOrderId && this.byClientOrderId.get(handle.clientOrderId) === handle) this.byClientOrderId.delete(handle.clientOrderId);
    if (handle.boundOrderId && this.byOrderId.get(handle.boundOrderId) === handle) this.byOrderId.delete(handle.boundOrderId);
    this.subscribes = this.subscribes.filter((entry) => entry.handle !== handle);
  }

  // ---- receiving ------------------------------------------------------------------------------------------------

  private onMessage(conn: Conn, data: unknown): void {
    const raw = textOf(data);
    if (raw === undefined) {
      this.options.onProtocolError?.({ reason: 'binary frame', raw: '' });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      this.options.onProtocolError?.({ reason: 'not JSON', raw: raw.slice(0, 1000) });
      return;
    }
    const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
    const schema =
      type === 'order' ? orderFrameSchema : type === 'error' ? errorFrameSchema : type === 'quote' ? quoteFrameSchema : type === 'orders' ? ordersFrameSchema : undefined;
    if (!schema) return; // Unknown frame types (v2 `pong`, ...) are not ours to judge.
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const reason = `malformed ${String(type)} frame: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(frame)'} ${issue.message}`).join('; ')}`;
      this.options.onProtocolError?.({ reason, raw: raw.slice(0, 1000) });
      return;
    }
    const frame = parsed.data;
    if (frame.type === 'order') {
      this.onCancelledFrame(frame);
      this.onOrderFrame(frame);
    }
    // Answers to requests are only taken from the current connection: a replaced one's were re-sent on the new one.
    else if (conn !== this.conn || conn.retired) return;
    else if (frame.type === 'quote') this.onQuoteFrame(conn, frame);
    else if (frame.type === 'orders') this.onOrdersFrame(conn, frame);
    else this.onErrorFrame(conn, frame);
  }

  private onOrderFrame(frame: OrderFrame): void {
    let handle = this.byOrderId.get(frame.orderId);
    if (!handle && frame.clientOrderId) {
      const candidate = this.byClientOrderId.get(frame.clientOrderId);
      if (candidate && !candidate.boundOrderId) handle = candidate;
    }
    if (!handle) return;
    if (!handle.boundOrderId) {
      handle.bind(frame.orderId);
      this.byOrderId.set(frame.orderId, handle);
    }
    this.subscribes = this.subscribes.filter((entry) => entry.handle !== handle);
    handle.accept(frame);
  }

  /** A `cancelled` frame answers the pending cancels of its order (as the route's answer, or from the order's stream). */
  private onCancelledFrame(frame: OrderFrame): void {
    if (frame.status !== 'cancelled') return;
    const answered = this.cancels.filter((pending) => pending.orderId === frame.orderId || (pending.clientOrderId !== undefined && pending.clientOrderId === frame.clientOrderId));
    if (answered.length === 0) return;
    this.cancels = this.cancels.filter((pending) => !answered.includes(pending));
    for (const pending of answered) pending.result.resolve(frame);
  }

  private onOrdersFrame(conn: Conn, frame: OrdersFrame): void {
    const index = this.listings.findIndex((pending) => pending.gen === conn.gen);
    if (index < 0) return;
    const [pending] = this.listings.splice(index, 1);
    pending?.result.resolve(frame);
  }

  private onQuoteFrame(conn: Conn, frame: QuoteFrame): void {
    const index = this.quotes.findIndex((pending) => pending.gen === conn.gen);
    if (index < 0) return;
    const [pending] = this.quotes.splice(index, 1);
    pending?.result.resolve(frame);
  }

  private onErrorFrame(conn: Conn, frame: ErrorFrame): void {
    const error = new EngineRequestError(frame);
    if (frame.action === 'quote') {
      const index = this.quotes.findIndex((pending) => pending.gen === conn.gen);
      if (index >= 0) {
        const [pending] = this.quotes.splice(index, 1);
        pending?.result.reject(error);
        return;
      }
    } else if (frame.action === 'execute' && frame.clientOrderId) {
      const handle = this.byClientOrderId.get(frame.clientOrderId);
      if (handle && !handle.finished) {
        // A re-sent execute (after a reconnect) refused for capacity: the order may well exist; ask again later.
        if (error.retryable && handle.resent) {
          this.later(frame.retryAfterMs ?? 1000, () => {
            if (handle.executeMessage && !handle.finished && !handle.boundOrderId) this.sendNow(handle.executeMessage);
          });
          return;
        }
        handle.fail(error);
        return;
      }
    } else if (frame.action === 'cancel') {
      // By clientOrderId the refusal names it; by orderId it does not (PROTOCOL.md echoes action and clientOrderId only):
      // then the oldest cancel by orderId on this connection takes it.
      const index = this.cancels.findIndex((pending) =>
        pending.gen === conn.gen && (frame.clientOrderId !== undefined ? pending.clientOrderId === frame.clientOrderId : pending.orderId !== undefined),
      );
      if (index >= 0) {
        const [pending] = this.cancels.splice(index, 1);
        pending?.result.reject(error);
        return;
      }
    } else if (frame.action === 'orders') {
      const index = this.listings.findIndex((pending) => pending.gen === conn.gen);
      if (index >= 0) {
        const [pending] = this.listings.splice(index, 1);
        pending?.result.reject(error);
        return;
      }
    } else if (frame.action === 'subscribe') {
      const index = this.subscribes.findIndex((entry) => entry.gen === conn.gen);
      const entry = index >= 0 ? this.subscribes.splice(index, 1)[0] : undefined;
      if (entry) {
        if (entry.internal && error.retryable) {
          this.later(frame.retryAfterMs ?? 1000, () => {
            if (!entry.handle.finished) this.sendSubscribe(entry.handle, true);
          });
        } else {
          entry.handle.fail(error);
        }
        return;
      }
    }
    this.options.onUnmatchedError?.(frame);
  }
}

const defaultWebSocket = async (): Promise<WebSocketConstructor> => {
  try {
    const module = await import('ws');
    return module.default as unknown as WebSocketConstructor;
  } catch {
    const native = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (native) return native;
    throw new Error('no WebSocket implementation: install the `ws` package or pass `WebSocket`');
  }
};

/** Opens the connection; resolves once it is open, rejects (EngineConnectionError, `status` 401 for a bad key) if not. */
export const connect = async (options: ConnectOptions): Promise<EngineClient> => {
  const Ctor = options.WebSocket ?? (await defaultWebSocket());
  const keyIn = options.apiKeyIn ?? (options.WebSocket ? 'query' : 'header');
  const client = new Client(options, Ctor, keyIn);
  await client.start();
  return client;
};
