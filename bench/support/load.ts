/**
 * The bench's trading clients: C WebSocket connections (`ws`), closed-loop (each connection has one order in flight
 * and sends the next when the previous is terminal) or open-loop (a fixed arrival rate for a fixed time, spread
 * round-robin over the connections). Tracks every frame of every order by seq.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { dist, type Dist } from './stats';

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
  return JSON.stringify({ action: 'execute', ...pair, amount, slippage: 1, clientOrderId: cid });
};

const openSocket = (url: string, timeoutMs: number): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} on connect`)));
  });

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

  // Connect, 20 at a time ($connect is a Lambda with two DynamoDB calls).
  const sockets: Array<WebSocket | undefined> = new Array(cfg.connections);
  const connectTimes: number[] = [];
  let connectFailures = 0;
  let nextConn = 0;
  await Promise.all(
    Array.from({ length: Math.min(20, cfg.connections) }, async () => {
      while (nextConn < cfg.connections) {
        const i = nextConn++;
        const key = cfg.apiKeys[i % cfg.apiKeys.length] as string;
        const t = performance.now();
        try {
          const ws = await openSocket(`${cfg.wsUrl}?apiKey=${encodeURIComponent(key)}`, 15_000);
          connectTimes.push(performance.now() - t);
          sockets[i] = ws;
        } catch {
          connectFailures++;
        }
      }
    }),
  );

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
      // Attribute it to this connection's oldest order without an answer (closed loop: the one in flight).
      const rec = (perConn[conn] ?? []).find((r) => r.ackAt === undefined && r.rejected === undefined && r.terminalAt === undefined);
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

  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let ordersWithLoss = 0;
  for (const r of all) {
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
