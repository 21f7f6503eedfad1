/**
 * The bench's trading clients: C WebSocket connections (`ws`), closed-loop (each connection has one order in flight
 * and sends the next when the previous is terminal) or open-loop (a fixed arrival rate for a fixed time, spread
 * round-robin over the connections). Tracks every frame of every order by seq.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { dist, perInterval, type Dist } from './stats';

/** The bucket of a burst's waves (Outcomes.waves). */
const WAVE_INTERVAL_MS = 500;

export interface LoadConfig {
  wsUrl: string;
  /** One API key per connection, round-robin. */
  apiKeys: string[];
  connections: number;
  mode: 'closed' | 'open';
  /** closed: orders per connection. */
  ordersPerConnection: number;
  /** open: orders/s and seconds. */
  rate: number;
  durationS: number;
  /** closed: a connection gives up waiting for one order after this long and sends its next one. */
  orderTimeoutMs: number;
  /** Hard bound of the sending phase. */
  loadTimeoutMs: number;
  /** After the sending phase, how long non-terminal orders are waited for. */
  drainMs: number;
  tag: string;
}

interface OrderRecord {
  cid: string;
  conn: number;
  sentAt: number;
  scheduledAt: number;
  orderId?: string;
  ackAt?: number;
  terminalAt?: number;
  terminalStatus?: 'confirmed' | 'failed';
  failureCode?: string;
  simulatedMs?: number;
  attempts?: number;
  /** First `at` (engine clock, as performance.now()) and arrival of each status. */
  at: Record<string, { at: number; recv: number }>;
  /** seq of each order frame, in arrival order. */
  seqs: number[];
  lastStatus?: string;
  rejected?: string;
  done: () => void;
  donePromise: Promise<void>;
}

export interface LoadResult {
  config: Omit<LoadConfig, 'apiKeys' | 'wsUrl'>;
  connectMs: Dist;
  connectFailures: number;
  sent: number;
  accepted: number;
  rejected: Record<string, number>;
  terminal: number;
  confirmed: number;
  failed: Record<string, number>;
  notTerminal: number;
  notTerminalByStatus: Record<string, number>;
  retriedOrders: number;
  /** Wall times, ms, from the first execute sent. */
  sendWindowMs: number;
  lastAckMs: number;
  lastTerminalMs: number;
  /** Time by which 95 % of the sent orders were terminal. */
  t95TerminalMs: number | null;
  acceptedPerSec: number;
  completedPerSec: number;
  completedPerSecTo95: number | null;
  ackMs: Dist;
  e2eMs: Dist;
  overheadMs: Dist;
  simulatedMs: Dist;
  frames: { received: number; lost: number; duplicated: number; outOfOrder: number; ordersWithLoss: number; unknown: number; errorFrames: number; unknownSamples: string[]; errorSamples: string[] };
  /**
   * Where the time goes, from the frames' `at` (engine wall clock, same host): execute sent -> pending written
   * (WS ingress, route Lambda dispatch, connection lookup), pending at -> ack received (order write + postToConnection),
   * pending at -> routing at (orders queue + ESM poll + invoke + get + quote), routing at -> terminal at (execution),
   * and per status frame at -> received (status FIFO queue + notify Lambda + postToConnection).
   */
  stagesMs: Record<string, Dist>;
  /** open loop: how late sends went out vs their schedule (client-side lag). */
  sendLagMs: Dist | null;
  /** The bench process's own event-loop delay during the run (is the client the bottleneck?). */
  clientLoopDelayMs: { p50: number; p99: number; max: number };
}

const TOKENS = [
  { side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL' },
  { side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC' },
] as const;

const orderBody = (cid: string, i: number): string => {
  const pair = TOKENS[i % 2] as (typeof TOKENS)[number];
  // USDC amounts 10..1000; SOL amounts a tenth of that, so both sides move similar value. At most 2 decimals.
  const raw = 10 + Math.floor(Math.random() * 991);
  const amount = pair.tokenIn === 'USDC' ? raw : Math.round(raw) / 100;
  return JSON.stringify({ action: 'execute', ...pair, amount, slippage: 1, clientOrderId: cid, ...(PRIORITY_FEE !== undefined ? { priorityFee: PRIORITY_FEE } : {}) });
};

/** BENCH_PRIORITY_FEE: `auto`, `none` or a JSON object such as {"maxLamports":50000}; unset: the field is not sent. */
export const PRIORITY_FEE: unknown = (() => {
  const raw = process.env.BENCH_PRIORITY_FEE;
  if (!raw) return undefined;
  return raw.trim().startsWith('{') ? JSON.parse(raw) : raw.trim();
})();

const openSocket = (url: string, timeoutMs: number): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} on connect`)));
  });

/** Opens n sockets, `parallel` at a time ($connect is a Lambda with two DynamoDB calls); API keys round-robin. */
export const connectAll = async (
  wsUrl: string,
  apiKeys: string[],
  n: number,
  parallel = 20,
): Promise<{ sockets: Array<WebSocket | undefined>; connectTimes: number[]; connectFailures: number }> => {
  const sockets: Array<WebSocket | undefined> = new Array(n);
  const connectTimes: number[] = [];
  let connectFailures = 0;
  let nextConn = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, n) }, async () => {
      while (nextConn < n) {
        const i = nextConn++;
        const key = apiKeys[i % apiKeys.length] as string;
        const t = performance.now();
        try {
          const ws = await openSocket(`${wsUrl}?apiKey=${encodeURIComponent(key)}`, 15_000);
          connectTimes.push(performance.now() - t);
          sockets[i] = ws;
        } catch {
          connectFailures++;
        }
      }
    }),
  );
  return { sockets, connectTimes, connectFailures };
};

/** Per order, the seqs of its frames in arrival order: gaps in 1..highest (lost), repeats, and seqs below one seen. */
export const seqFigures = (records: Array<{ seqs: number[] }>): { lost: number; duplicated: number; outOfOrder: number; ordersWithLoss: number } => {
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let ordersWithLoss = 0;
  for (const r of records) {
    if (!r.seqs.length) continue;
    const seen = new Set<number>();
    let highest = 0;
    for (const s of r.seqs) {
      if (seen.has(s)) duplicated++;
      else if (s < highest) outOfOrder++;
      seen.add(s);
      highest = Math.max(highest, s);
    }
    let missing = 0;
    for (let s = 1; s <= highest; s++) if (!seen.has(s)) missing++;
    lost += missing;
    if (missing) ordersWithLoss++;
  }
  return { lost, duplicated, outOfOrder, ordersWithLoss };
};

export const runLoad = async (cfg: LoadConfig): Promise<LoadResult> => {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const orders = new Map<string, OrderRecord>();
  const perConn: OrderRecord[][] = Array.from({ length: cfg.connections }, () => []);
  let unknownFrames = 0;
  const unknownSamples: string[] = [];
  const errorSamples: string[] = [];
  let errorFrames = 0;
  let framesReceived = 0;
  const sendLag: number[] = [];

  const { sockets, connectTimes, connectFailures } = await connectAll(cfg.wsUrl, cfg.apiKeys, cfg.connections);

  const onFrame = (conn: number, data: WebSocket.RawData): void => {
    framesReceived++;
    const now = performance.now();
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(data.toString()) as Record<string, unknown>;
    } catch {
      unknownFrames++;
      if (unknownSamples.length < 5) unknownSamples.push(data.toString().slice(0, 300));
      return;
    }
    if (frame.type === 'error') {
      errorFrames++;
      if (errorSamples.length < 5) errorSamples.push(JSON.stringify(frame).slice(0, 300));
      // Error frames echo the request's clientOrderId; without one, attribute it to this connection's oldest order
      // without an answer (closed loop: the one in flight).
      const echoed = typeof frame.clientOrderId === 'string' ? orders.get(frame.clientOrderId) : undefined;
      const rec = echoed ?? (perConn[conn] ?? []).find((r) => r.ackAt === undefined && r.rejected === undefined && r.terminalAt === undefined);
      if (rec) {
        rec.rejected = String(frame.code ?? 'error');
        rec.done();
      }
      return;
    }
    const rec = typeof frame.clientOrderId === 'string' ? orders.get(frame.clientOrderId) : undefined;
    if (frame.type !== 'order' || !rec) {
      unknownFrames++;
      if (unknownSamples.length < 5) unknownSamples.push(JSON.stringify(frame).slice(0, 300));
      return;
    }
    const seq = Number(frame.seq);
    const meta = (frame.meta ?? {}) as Record<string, unknown>;
    rec.orderId ??= String(frame.orderId);
    rec.seqs.push(seq);
    const status = String(frame.status);
    const atMs = Date.parse(String(frame.at)) - performance.timeOrigin;
    if (!rec.at[status] && Number.isFinite(atMs)) rec.at[status] = { at: atMs, recv: now };
    if (seq > Math.max(0, ...rec.seqs.slice(0, -1))) rec.lastStatus = status;
    if (status === 'pending' && seq === 1 && rec.ackAt === undefined) rec.ackAt = now;
    if (typeof frame.attempt === 'number') rec.attempts = Math.max(rec.attempts ?? 1, frame.attempt);
    if ((status === 'confirmed' || status === 'failed') && rec.terminalAt === undefined) {
      rec.terminalAt = now;
      rec.terminalStatus = status;
      if (typeof meta.simulatedMs === 'number') rec.simulatedMs = meta.simulatedMs;
      if (status === 'failed') rec.failureCode = String((meta.error as { code?: string } | undefined)?.code ?? 'unknown');
      rec.done();
    }
  };
  sockets.forEach((ws, i) => ws?.on('message', (data) => onFrame(i, data)));

  let seqNo = 0;
  const send = (conn: number, scheduledAt: number): OrderRecord | undefined => {
    const ws = sockets[conn];
    if (!ws || ws.readyState !== WebSocket.OPEN) return undefined;
    const cid = `${cfg.tag}-${conn}-${seqNo++}`;
    let done!: () => void;
    const donePromise = new Promise<void>((r) => (done = r));
    const rec: OrderRecord = { cid, conn, sentAt: performance.now(), scheduledAt, seqs: [], at: {}, done, donePromise };
    orders.set(cid, rec);
    perConn[conn]?.push(rec);
    ws.send(orderBody(cid, seqNo));
    return rec;
  };

  const t0 = performance.now();
  loop.enable();
  const loadDeadline = t0 + cfg.loadTimeoutMs;
  if (cfg.mode === 'closed') {
    await Promise.all(
      sockets.map(async (_ws, conn) => {
        for (let k = 0; k < cfg.ordersPerConnection && performance.now() < loadDeadline; k++) {
          const rec = send(conn, performance.now());
          if (!rec) return;
          const left = Math.max(0, Math.min(cfg.orderTimeoutMs, loadDeadline - performance.now()));
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([rec.donePromise, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
          clearTimeout(timer);
        }
      }),
    );
  } else {
    const total = Math.round(cfg.rate * cfg.durationS);
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        while (i < total && t0 + (i * 1000) / cfg.rate <= now) {
          const scheduled = t0 + (i * 1000) / cfg.rate;
          sendLag.push(now - scheduled);
          send(i % cfg.connections, scheduled);
          i++;
        }
        if (i >= total || now > loadDeadline) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, 2);
    });
  }
  const sendEnd = performance.now();
  // Drain: wait for the orders still open, bounded.
  const open = (): OrderRecord[] => [...orders.values()].filter((r) => r.terminalAt === undefined && r.rejected === undefined);
  const drainDeadline = performance.now() + cfg.drainMs;
  while (open().length && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 50));
  // A short grace for late duplicate / out-of-order frames of terminal orders.
  await new Promise((r) => setTimeout(r, 300));
  loop.disable();
  for (const ws of sockets) ws?.terminate();

  // ---- figures
  const all = [...orders.values()];
  const accepted = all.filter((r) => r.ackAt !== undefined || r.seqs.length > 0);
  const terminal = all.filter((r) => r.terminalAt !== undefined);
  const rejected: Record<string, number> = {};
  for (const r of all) if (r.rejected && !r.seqs.length) rejected[r.rejected] = (rejected[r.rejected] ?? 0) + 1;
  const failed: Record<string, number> = {};
  for (const r of terminal) if (r.terminalStatus === 'failed') failed[r.failureCode ?? '?'] = (failed[r.failureCode ?? '?'] ?? 0) + 1;
  const notTerminal = all.filter((r) => r.terminalAt === undefined && !(r.rejected && !r.seqs.length));
  const notTerminalByStatus: Record<string, number> = {};
  for (const r of notTerminal) notTerminalByStatus[r.lastStatus ?? 'no frame'] = (notTerminalByStatus[r.lastStatus ?? 'no frame'] ?? 0) + 1;

  const { lost, duplicated, outOfOrder, ordersWithLoss } = seqFigures(all);

  const firstSend = Math.min(...all.map((r) => r.sentAt));
  const terminalTimes = terminal.map((r) => (r.terminalAt as number) - firstSend).sort((a, b) => a - b);
  const lastTerminalMs = terminalTimes.at(-1) ?? 0;
  const idx95 = Math.ceil(all.length * 0.95) - 1;
  const t95 = idx95 < terminalTimes.length && idx95 >= 0 ? (terminalTimes[idx95] as number) : null;
  const ackTimes = accepted.filter((r) => r.ackAt !== undefined).map((r) => (r.ackAt as number) - firstSend);
  const sendWindowMs = sendEnd - t0;
  const e2e = terminal.map((r) => (r.terminalAt as number) - r.sentAt);
  const overhead = terminal.filter((r) => r.simulatedMs !== undefined).map((r) => (r.terminalAt as number) - r.sentAt - (r.simulatedMs as number));
  const ns = (x: number): number => x / 1e6;
  const { config } = { config: (({ apiKeys: _k, wsUrl: _u, ...rest }) => rest)(cfg) };

  return {
    config,
    connectMs: dist(connectTimes),
    connectFailures,
    sent: all.length,
    accepted: accepted.length,
    rejected,
    terminal: terminal.length,
    confirmed: terminal.filter((r) => r.terminalStatus === 'confirmed').length,
    failed,
    notTerminal: notTerminal.length,
    notTerminalByStatus,
    retriedOrders: all.filter((r) => (r.attempts ?? 1) > 1).length,
    sendWindowMs: Math.round(sendWindowMs),
    lastAckMs: Math.round(Math.max(0, ...ackTimes)),
    lastTerminalMs: Math.round(lastTerminalMs),
    t95TerminalMs: t95 === null ? null : Math.round(t95),
    acceptedPerSec: round2(accepted.length / (Math.max(1, Math.max(0, ...ackTimes)) / 1000)),
    completedPerSec: round2(terminal.length / (Math.max(1, lastTerminalMs) / 1000)),
    completedPerSecTo95: t95 === null ? null : round2((idx95 + 1) / (Math.max(1, t95) / 1000)),
    ackMs: dist(accepted.filter((r) => r.ackAt !== undefined).map((r) => (r.ackAt as number) - r.sentAt)),
    e2eMs: dist(e2e),
    overheadMs: dist(overhead),
    simulatedMs: dist(terminal.filter((r) => r.simulatedMs !== undefined).map((r) => r.simulatedMs as number)),
    frames: { received: framesReceived, lost, duplicated, outOfOrder, ordersWithLoss, unknown: unknownFrames, errorFrames, unknownSamples, errorSamples },
    stagesMs: (() => {
      const pick = (f: (r: OrderRecord) => number | undefined): Dist => dist(all.map(f).filter((x): x is number => x !== undefined));
      const term = (r: OrderRecord) => r.at.confirmed ?? r.at.failed;
      return {
        'sent -> pending.at': pick((r) => (r.at.pending ? r.at.pending.at - r.sentAt : undefined)),
        'pending.at -> ack received': pick((r) => (r.at.pending ? r.at.pending.recv - r.at.pending.at : undefined)),
        'pending.at -> routing.at': pick((r) => (r.at.pending && r.at.routing ? r.at.routing.at - r.at.pending.at : undefined)),
        'routing.at -> terminal.at': pick((r) => (r.at.routing && term(r) ? (term(r) as { at: number }).at - r.at.routing.at : undefined)),
        'status frame at -> received': dist(all.flatMap((r) => Object.entries(r.at).filter(([k]) => k !== 'pending').map(([, v]) => v.recv - v.at))),
        'terminal at -> received': pick((r) => (term(r) ? (term(r) as { at: number; recv: number }).recv - (term(r) as { at: number }).at : undefined)),
      };
    })(),
    sendLagMs: cfg.mode === 'open' ? dist(sendLag) : null,
    clientLoopDelayMs: { p50: round2(ns(loop.percentile(50))), p99: round2(ns(loop.percentile(99))), max: round2(ns(loop.max)) },
  };
};

const round2 = (x: number): number => Math.round(x * 100) / 100;

// ------------------------------------------------------------------------------------------------ burst and flood

/** One `execute` of the burst and flood modes, followed from send to its first answer and its terminal frame. */
interface TrackedOrder {
  cid: string;
  conn: number;
  sentAt: number;
  /** First answer: the `pending` seq-1 frame or an `error` frame, whichever came first. */
  answeredAt?: number;
  ackAt?: number;
  refusedCode?: string;
  refusedAt?: number;
  retryAfterMs?: number;
  terminalAt?: number;
  terminalStatus?: 'confirmed' | 'failed';
  failureCode?: string;
  seqs: number[];
  lastStatus?: string;
  /** The first `routing` frame: an execution has taken the order up (ack -> routing is its wait for one). */
  routingAt?: number;
  /** Engine clock (the frames' `at`, epoch ms) of the first frame of each status, and the send on the same clock. */
  engineAt?: Record<string, number>;
  sentEpochMs?: number;
  /** The first `submitted` frame: from there to the terminal frame is the landing as the client sees it. */
  submittedAt?: number;
  /** Attempts that ended with the blockhash expired (pending frames carrying BLOCKHASH_EXPIRED). */
  expiredAttempts?: number;
  /** The terminal frame's meta.fees, base + priority lamports. */
  feesLamports?: number;
}

/** Outcome of a set of `execute` requests (one burst, the victim's or the flooder's orders in one flood phase). */
export interface Outcomes {
  sent: number;
  /** Answered with `pending` seq 1 (also when an error frame came first: see ackedAfterRefusal). */
  acked: number;
  /**
   * `error` frames per `code` (UNAVAILABLE, RATE_LIMITED, INTERNAL, ...) that were a request's first answer, plus
   * GATEWAY_INTERNAL: the number of bare gateway error frames (not tied to a request).
   */
  refused: Record<string, number>;
  /** Neither a `pending` nor an `error` frame within the answer timeout (answers arriving later: lateAnswers). */
  noAnswer: number;
  lateAnswers: number;
  /** An `error` frame first, then a `pending` anyway (UNAVAILABLE with "may have been recorded"). */
  ackedAfterRefusal: number;
  /** retryAfterMs carried by the error frames, per code. */
  retryAfterMs: Record<string, Dist>;
  ackMs: Dist;
  /** Send -> first answer of any kind. */
  answerMs: Dist;
  terminal: number;
  /** Acked orders that reached confirmed/failed. */
  terminalOfAcked: number;
  confirmed: number;
  failed: Record<string, number>;
  /** Acked orders without a terminal frame, by the last status seen. */
  notTerminalByStatus: Record<string, number>;
  e2eMs: Dist;
  /** First `submitted` -> terminal, per terminal order (includes the attempts after an expiry). */
  landingMs: Dist;
  /** Ack -> first `routing` frame (the wait for an execution), and first `routing` -> first `submitted` (quote, route, build, send), client receive times. */
  queuedMs: Dist;
  routedMs: Dist;
  /** The same stages on the engine's clock (frames' `at`): send -> pending, pending -> routing, routing -> submitted, submitted -> terminal, terminal at -> received. */
  engineStagesMs: Record<string, Dist>;
  /**
   * Per half second from the first send, on the engine's clock: orders acknowledged (`pending`), taken up by an
   * execution (first `routing`) and terminal. Shows a burst's waves: the orders an execution takes up together, and
   * those that wait for one of them to end.
   */
  waves: { intervalMs: number; acked: number[]; takenUp: number[]; terminal: number[] };
  /** Attempts whose transaction expired without landing, over all orders. */
  expiredAttempts: number;
  /** Mean fees per terminal order (meta.fees: base + priority), lamports; null when no frame carried them. */
  meanFeesLamports: number | null;
  frames: { lost: number; duplicated: number; outOfOrder: number; ordersWithLoss: number };
  /** From the first send: the last first-answer, the last terminal frame (ms). */
  lastAnswerMs: number | null;
  lastTerminalMs: number | null;
}

const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

/**
 * The code under which API Gateway's bare `{"message":"Internal server error"}` frames are counted in `refused`. Such a
 * frame names no request, so it is counted per burst / per client role, not given to an order: the order it answers
 * may still be acked later, or be one of the "no answer" requests.
 */
export const GATEWAY_INTERNAL = 'GATEWAY_INTERNAL';

/** Tracks the frames of the orders sent over a set of sockets; error frames are matched by their echoed clientOrderId. */
class OrderTracker {
  readonly orders = new Map<string, TrackedOrder>();
  private readonly perConn = new Map<number, TrackedOrder[]>();
  framesReceived = 0;
  unknownFrames = 0;
  errorFrames = 0;
  /** Of errorFrames: API Gateway's `{"message":"Internal server error"}` (counted as GATEWAY_INTERNAL). */
  gatewayErrors = 0;
  /** Error frames that named no clientOrderId of ours and found no unanswered order on their connection. */
  unmatchedErrors = 0;
  readonly samples: string[] = [];

  attach(ws: WebSocket, conn: number): void {
    ws.on('message', (data) => this.onFrame(conn, data));
  }

  send(ws: WebSocket, conn: number, cid: string, i: number): TrackedOrder {
    const rec: TrackedOrder = { cid, conn, sentAt: performance.now(), sentEpochMs: Date.now(), seqs: [] };
    this.orders.set(cid, rec);
    const list = this.perConn.get(conn) ?? [];
    list.push(rec);
    this.perConn.set(conn, list);
    ws.send(orderBody(cid, i));
    return rec;
  }

  private sample(text: string): void {
    if (this.samples.length < 30) this.samples.push(text.slice(0, 300));
  }

  private onFrame(conn: number, data: WebSocket.RawData): void {
    this.framesReceived++;
    const now = performance.now();
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(data.toString()) as Record<string, unknown>;
    } catch {
      this.unknownFrames++;
      this.sample(data.toString());
      return;
    }
    // API Gateway's own answer when the route's integration fails or times out (serverless-offline sends the same
    // when the route Lambda throws or runs past its timeout): no code, no clientOrderId. It cannot be told which of
    // the connection's requests it answers (the order is often acked later anyway), so it is only counted.
    if (frame.type === undefined && frame.message === 'Internal server error') {
      this.errorFrames++;
      this.gatewayErrors++;
      return;
    }
    if (frame.type === 'error') {
      this.errorFrames++;
      const echoed = typeof frame.clientOrderId === 'string' ? this.orders.get(frame.clientOrderId) : undefined;
      const rec = echoed ?? (this.perConn.get(conn) ?? []).find((r) => r.answeredAt === undefined);
      if (!rec) {
        this.unmatchedErrors++;
        this.sample(JSON.stringify(frame));
        return;
      }
      if (rec.refusedCode === undefined) {
        rec.refusedCode = String(frame.code ?? 'error');
        rec.refusedAt = now;
        if (typeof frame.retryAfterMs === 'number') rec.retryAfterMs = frame.retryAfterMs;
      }
      rec.answeredAt ??= now;
      return;
    }
    const rec = typeof frame.clientOrderId === 'string' ? this.orders.get(frame.clientOrderId) : undefined;
    if (frame.type !== 'order' || !rec) {
      this.unknownFrames++;
      this.sample(JSON.stringify(frame));
      return;
    }
    const seq = Number(frame.seq);
    rec.seqs.push(seq);
    const status = String(frame.status);
    if (seq >= Math.max(0, ...rec.seqs)) rec.lastStatus = status;
    if (status === 'pending' && seq === 1 && rec.ackAt === undefined) {
      rec.ackAt = now;
      rec.answeredAt ??= now;
    }
    const meta = (frame.meta ?? {}) as { error?: { code?: string }; lastError?: { code?: string }; fees?: { baseLamports?: number; priorityLamports?: number } };
    if (status === 'routing') rec.routingAt ??= now;
    if (typeof frame.at === 'string') (rec.engineAt ??= {})[status] ??= Date.parse(frame.at);
    if (status === 'submitted') rec.submittedAt ??= now;
    if (status === 'pending' && seq > 1 && meta.lastError?.code === 'BLOCKHASH_EXPIRED') rec.expiredAttempts = (rec.expiredAttempts ?? 0) + 1;
    if ((status === 'confirmed' || status === 'failed') && rec.terminalAt === undefined) {
      rec.terminalAt = now;
      rec.terminalStatus = status;
      if (meta.fees) rec.feesLamports = (meta.fees.baseLamports ?? 0) + (meta.fees.priorityLamports ?? 0);
      if (status === 'failed') rec.failureCode = String(meta.error?.code ?? 'unknown');
    }
  }

  /** Nothing more to wait for: terminal, refused without an ack, or unanswered past the answer timeout. */
  settled(rec: TrackedOrder, answerTimeoutMs: number, now: number, waitForTerminal: boolean): boolean {
    if (rec.terminalAt !== undefined) return true;
    if (rec.ackAt !== undefined) return !waitForTerminal;
    if (rec.refusedCode !== undefined) return true;
    return now - rec.sentAt > answerTimeoutMs;
  }

  /** gatewayErrors: the bare gateway error frames received over the same span (counted, not attributed). */
  outcomes(records: TrackedOrder[], answerTimeoutMs: number, gatewayErrors: number): Outcomes {
    const refused: Record<string, number> = gatewayErrors ? { [GATEWAY_INTERNAL]: gatewayErrors } : {};
    const retry: Record<string, number[]> = {};
    const failed: Record<string, number> = {};
    const notTerminalByStatus: Record<string, number> = {};
    let noAnswer = 0;
    let lateAnswers = 0;
    for (const r of records) {
      if (r.answeredAt === undefined || r.answeredAt - r.sentAt > answerTimeoutMs) noAnswer++;
      if (r.answeredAt !== undefined && r.answeredAt - r.sentAt > answerTimeoutMs) lateAnswers++;
      if (r.refusedCode !== undefined && (r.ackAt === undefined || (r.refusedAt ?? Infinity) <= r.ackAt)) bump(refused, r.refusedCode);
      if (r.refusedCode !== undefined && r.retryAfterMs !== undefined) (retry[r.refusedCode] ??= []).push(r.retryAfterMs);
      if (r.terminalStatus === 'failed') bump(failed, r.failureCode ?? '?');
      if (r.ackAt !== undefined && r.terminalAt === undefined) bump(notTerminalByStatus, r.lastStatus ?? 'no frame');
    }
    const acked = records.filter((r) => r.ackAt !== undefined);
    const terminal = records.filter((r) => r.terminalAt !== undefined);
    const firstSend = records.length ? Math.min(...records.map((r) => r.sentAt)) : 0;
    const answers = records.filter((r) => r.answeredAt !== undefined).map((r) => (r.answeredAt as number) - firstSend);
    const terminals = terminal.map((r) => (r.terminalAt as number) - firstSend);
    return {
      sent: records.length,
      acked: acked.length,
      refused,
      noAnswer,
      lateAnswers,
      ackedAfterRefusal: acked.filter((r) => r.refusedAt !== undefined && r.refusedAt < (r.ackAt as number)).length,
      retryAfterMs: Object.fromEntries(Object.entries(retry).map(([code, v]) => [code, dist(v)])),
      ackMs: dist(acked.map((r) => (r.ackAt as number) - r.sentAt)),
      answerMs: dist(records.filter((r) => r.answeredAt !== undefined).map((r) => (r.answeredAt as number) - r.sentAt)),
      terminal: terminal.length,
      terminalOfAcked: acked.filter((r) => r.terminalAt !== undefined).length,
      confirmed: terminal.filter((r) => r.terminalStatus === 'confirmed').length,
      failed,
      notTerminalByStatus,
      e2eMs: dist(terminal.map((r) => (r.terminalAt as number) - r.sentAt)),
      landingMs: dist(terminal.filter((r) => r.submittedAt !== undefined).map((r) => (r.terminalAt as number) - (r.submittedAt as number))),
      queuedMs: dist(acked.filter((r) => r.routingAt !== undefined).map((r) => (r.routingAt as number) - (r.ackAt as number))),
      engineStagesMs: (() => {
        const span = (from: string, to: string) => dist(acked.flatMap((r) => {
          const a = from === 'sent' ? r.sentEpochMs : r.engineAt?.[from];
          const b = to === 'terminal' ? (r.engineAt?.confirmed ?? r.engineAt?.failed) : r.engineAt?.[to];
          return a !== undefined && b !== undefined ? [b - a] : [];
        }));
        return { 'sent -> pending': span('sent', 'pending'), 'pending -> routing': span('pending', 'routing'), 'routing -> submitted': span('routing', 'submitted'), 'submitted -> terminal': span('submitted', 'terminal') };
      })(),
      routedMs: dist(acked.filter((r) => r.routingAt !== undefined && r.submittedAt !== undefined).map((r) => (r.submittedAt as number) - (r.routingAt as number))),
      waves: (() => {
        const origin = Math.min(...records.flatMap((r) => (r.sentEpochMs === undefined ? [] : [r.sentEpochMs])));
        const at = (status: string) => acked.flatMap((r) => {
          const t = status === 'terminal' ? (r.engineAt?.confirmed ?? r.engineAt?.failed) : r.engineAt?.[status];
          return t === undefined ? [] : [t];
        });
        return { intervalMs: WAVE_INTERVAL_MS, acked: perInterval(at('pending'), origin, WAVE_INTERVAL_MS), takenUp: perInterval(at('routing'), origin, WAVE_INTERVAL_MS), terminal: perInterval(at('terminal'), origin, WAVE_INTERVAL_MS) };
      })(),
      expiredAttempts: records.reduce((sum, r) => sum + (r.expiredAttempts ?? 0), 0),
      meanFeesLamports: (() => {
        const fees = terminal.flatMap((r) => (r.feesLamports === undefined ? [] : [r.feesLamports]));
        return fees.length ? Math.round(fees.reduce((a, b) => a + b, 0) / fees.length) : null;
      })(),
      frames: seqFigures(records),
      lastAnswerMs: answers.length ? Math.round(Math.max(...answers)) : null,
      lastTerminalMs: terminals.length ? Math.round(Math.max(...terminals)) : null,
    };
  }

  frameCounts(): { received: number; errorFrames: number; gatewayErrors: number; unknown: number; unmatchedErrors: number; samples: string[] } {
    return {
      received: this.framesReceived,
      errorFrames: this.errorFrames,
      gatewayErrors: this.gatewayErrors,
      unknown: this.unknownFrames,
      unmatchedErrors: this.unmatchedErrors,
      samples: [...this.samples],
    };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const loopDelay = (h: ReturnType<typeof monitorEventLoopDelay>): { p50: number; p99: number; max: number } => ({
  p50: round2(h.percentile(50) / 1e6),
  p99: round2(h.percentile(99) / 1e6),
  max: round2(h.max / 1e6),
});

/** Frame counts of one burst (the tracker's are cumulative over the bursts on the same connections). */
const framesSince = (a: ReturnType<OrderTracker['frameCounts']>, b: ReturnType<OrderTracker['frameCounts']>): ReturnType<OrderTracker['frameCounts']> => ({
  received: b.received - a.received,
  errorFrames: b.errorFrames - a.errorFrames,
  gatewayErrors: b.gatewayErrors - a.gatewayErrors,
  unknown: b.unknown - a.unknown,
  unmatchedErrors: b.unmatchedErrors - a.unmatchedErrors,
  samples: b.samples.slice(a.samples.length),
});

export interface BurstConfig {
  wsUrl: string;
  /** API keys of the seeded accounts; connection i uses apiKeys[i % length]. */
  apiKeys: string[];
  connections: number;
  /** Orders per burst. */
  orders: number;
  /** How long a request's first answer (pending or error) is waited for. */
  answerTimeoutMs: number;
  /** After the burst is sent, how long acked orders are waited for (ends as soon as every order is settled). */
  drainMs: number;
  tag: string;
}

export interface BurstResult {
  burst: number;
  connectionsOpen: number;
  outcomes: Outcomes;
  /** First send -> last send of the burst (the client's synchronous send loop). */
  sendSpanMs: number;
  /** First send -> every order settled (terminal, refused, or unanswered past the timeout), or the drain's end. */
  settledMs: number;
  drainExpired: boolean;
  frames: ReturnType<OrderTracker['frameCounts']>;
  clientLoopDelayMs: { p50: number; p99: number; max: number };
  /**
   * Each order's first frame of each status, ms after the burst's first send, engine clock (`at`), as `sent` and the
   * statuses; for reading one burst order by order from the results file.
   */
  timeline: Array<{ clientOrderId: string } & Record<string, number | string>>;
}

export interface BurstClient {
  connectMs: Dist;
  connectFailures: number;
  connectionsOpen: number;
  /** Sends burst k (1-based): all `orders` at once, round-robin over the open connections, then drains. */
  burst(k: number): Promise<BurstResult>;
  close(): void;
}

const timelineOf = (records: TrackedOrder[]): BurstResult['timeline'] => {
  const origin = Math.min(...records.flatMap((r) => (r.sentEpochMs === undefined ? [] : [r.sentEpochMs])));
  return records.map((r) => ({
    clientOrderId: r.cid,
    ...(r.sentEpochMs === undefined ? {} : { sent: r.sentEpochMs - origin }),
    ...Object.fromEntries(Object.entries(r.engineAt ?? {}).map(([status, t]) => [status, t - origin])),
  }));
};

/** Opens the burst mode's connections and waits until all are open (or failed); the bursts reuse them. */
export const openBurstClient = async (cfg: BurstConfig): Promise<BurstClient> => {
  const { sockets, connectTimes, connectFailures } = await connectAll(cfg.wsUrl, cfg.apiKeys, cfg.connections);
  const open = sockets.map((ws, i) => ({ ws, i })).filter((x): x is { ws: WebSocket; i: number } => x.ws !== undefined);
  if (!open.length) throw new Error(`burst: none of the ${cfg.connections} connections opened`);
  const tracker = new OrderTracker();
  for (const { ws, i } of open) tracker.attach(ws, i);
  return {
    connectMs: dist(connectTimes),
    connectFailures,
    connectionsOpen: open.length,
    burst: async (k) => {
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const before = tracker.frameCounts();
      const records: TrackedOrder[] = [];
      for (let i = 0; i < cfg.orders; i++) {
        const { ws, i: conn } = open[i % open.length] as { ws: WebSocket; i: number };
        records.push(tracker.send(ws, conn, `${cfg.tag}-${k}-${i}`, i));
      }
      const first = (records[0] as TrackedOrder).sentAt;
      const sendSpanMs = round2((records.at(-1) as TrackedOrder).sentAt - first);
      const deadline = first + Math.max(cfg.drainMs, cfg.answerTimeoutMs);
      let now = performance.now();
      while (now < deadline && !records.every((r) => tracker.settled(r, cfg.answerTimeoutMs, now, true))) {
        await sleep(20);
        now = performance.now();
      }
      const settledMs = Math.round(now - first);
      const drainExpired = !records.every((r) => tracker.settled(r, cfg.answerTimeoutMs, now, true));
      await sleep(300); // late duplicate / out-of-order frames of terminal orders
      loop.disable();
      const frames = framesSince(before, tracker.frameCounts());
      return {
        burst: k,
        connectionsOpen: open.filter(({ ws }) => ws.readyState === WebSocket.OPEN).length,
        outcomes: tracker.outcomes(records, cfg.answerTimeoutMs, frames.gatewayErrors),
        sendSpanMs,
        settledMs,
        drainExpired,
        frames,
        clientLoopDelayMs: loopDelay(loop),
        timeline: timelineOf(records),
      };
    },
    close: () => {
      for (const { ws } of open) ws.terminate();
    },
  };
};

export interface FloodPhaseConfig {
  wsUrl: string;
  victimKey: string;
  /** Absent: the idle phase (the victim alone). */
  flood?: { apiKey: string; connections: number; ratePerSec: number };
  durationS: number;
  victimIntervalMs: number;
  answerTimeoutMs: number;
  /** After the phase: how long the victim's acked orders are waited for to be terminal (0: answers only). */
  victimDrainMs: number;
  tag: string;
}

export interface FloodPhaseResult {
  victim: Outcomes;
  flooder: (Outcomes & { connectionsOpen: number; sendWindowMs: number; offeredPerSec: number; sendLagMs: Dist }) | null;
  /** Phase start -> everything settled or the wait's end. */
  wallMs: number;
  victimFrames: ReturnType<OrderTracker['frameCounts']>;
  flooderFrames: ReturnType<OrderTracker['frameCounts']> | null;
  clientLoopDelayMs: { p50: number; p99: number; max: number };
}

/**
 * One phase of the flood mode: the victim sends one order every victimIntervalMs on its own connection for durationS;
 * with `flood`, another account offers ratePerSec `execute` messages over its connections at the same time, ignoring
 * every answer (no backoff on RATE_LIMITED: it is the abusive client). Then the answers are waited for (the flooder's
 * orders are not followed to terminal: without admission control they are a backlog of minutes).
 */
export const runFloodPhase = async (cfg: FloodPhaseConfig): Promise<FloodPhaseResult> => {
  const victimConn = await connectAll(cfg.wsUrl, [cfg.victimKey], 1);
  const victimWs = victimConn.sockets[0];
  if (!victimWs) throw new Error('flood: the victim connection did not open');
  const floodConn = cfg.flood ? await connectAll(cfg.wsUrl, [cfg.flood.apiKey], cfg.flood.connections) : undefined;
  const floodSockets = (floodConn?.sockets ?? []).map((ws, i) => ({ ws, i })).filter((x): x is { ws: WebSocket; i: number } => x.ws !== undefined);
  if (cfg.flood && !floodSockets.length) throw new Error('flood: none of the flooder connections opened');
  const victim = new OrderTracker();
  victim.attach(victimWs, 0);
  const flooder = new OrderTracker();
  for (const { ws, i } of floodSockets) flooder.attach(ws, i);

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const victimRecs: TrackedOrder[] = [];
  const floodRecs: TrackedOrder[] = [];
  const sendLag: number[] = [];
  const t0 = performance.now();
  const endAt = t0 + cfg.durationS * 1000;
  const victimTotal = Math.max(1, Math.floor((cfg.durationS * 1000) / cfg.victimIntervalMs));
  const floodTotal = cfg.flood ? Math.round(cfg.flood.ratePerSec * cfg.durationS) : 0;
  let v = 0;
  let f = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      // The victim first: its send time is its own, whatever the flooder has queued in this client.
      while (v < victimTotal && t0 + v * cfg.victimIntervalMs <= now) {
        if (victimWs.readyState === WebSocket.OPEN) victimRecs.push(victim.send(victimWs, 0, `${cfg.tag}-v${v}`, v));
        v++;
      }
      if (cfg.flood) {
        while (f < floodTotal && t0 + (f * 1000) / cfg.flood.ratePerSec <= now) {
          const { ws, i } = floodSockets[f % floodSockets.length] as { ws: WebSocket; i: number };
          sendLag.push(now - (t0 + (f * 1000) / cfg.flood.ratePerSec));
          if (ws.readyState === WebSocket.OPEN) floodRecs.push(flooder.send(ws, i, `${cfg.tag}-f${f}`, f));
          f++;
        }
      }
      if ((v >= victimTotal && f >= floodTotal) || now > endAt + 5_000) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 2);
  });
  const sendEnd = performance.now();
  const floodSends = floodRecs.map((r) => r.sentAt);
  const deadline = sendEnd + Math.max(cfg.answerTimeoutMs, cfg.victimDrainMs);
  const answerDeadline = sendEnd + cfg.answerTimeoutMs;
  let now = performance.now();
  const pending = (): boolean =>
    victimRecs.some((r) => !victim.settled(r, cfg.answerTimeoutMs, now, cfg.victimDrainMs > 0)) ||
    (now < answerDeadline && floodRecs.some((r) => !flooder.settled(r, cfg.answerTimeoutMs, now, false)));
  while (now < deadline && pending()) {
    await sleep(50);
    now = performance.now();
  }
  const wallMs = Math.round(now - t0);
  await sleep(300);
  loop.disable();
  victimWs.terminate();
  for (const { ws } of floodSockets) ws.terminate();
  const sendWindowMs = floodSends.length > 1 ? (floodSends.at(-1) as number) - (floodSends[0] as number) : 0;
  return {
    victim: victim.outcomes(victimRecs, cfg.answerTimeoutMs, victim.gatewayErrors),
    flooder: cfg.flood
      ? {
          ...flooder.outcomes(floodRecs, cfg.answerTimeoutMs, flooder.gatewayErrors),
          connectionsOpen: floodSockets.length,
          sendWindowMs: Math.round(sendWindowMs),
          offeredPerSec: sendWindowMs > 0 ? round2((floodRecs.length - 1) / (sendWindowMs / 1000)) : 0,
          sendLagMs: dist(sendLag),
        }
      : null,
    wallMs,
    victimFrames: victim.frameCounts(),
    flooderFrames: cfg.flood ? flooder.frameCounts() : null,
    clientLoopDelayMs: loopDelay(loop),
  };
};
