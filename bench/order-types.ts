/**
 * Latencies of the resting order types (issue 13), on a fresh embedded stack with test hooks on:
 * - limit trigger latency: the seeded market reaches a limit (computed by the bench from the same seed, sampled every
 *   250 ms) -> the order's `routing` frame (its `at`);
 * - expiry lag: `expiresAt` -> the `expired` frame;
 * - cancel round trip: `cancel` sent -> the `cancelled` frame received (client clock);
 * - snipe: the launch's open time -> `routing`, and -> `confirmed`.
 *
 *   npm run bench:order-types -- [--profile realistic] [--limits 8] [--expiries 10] [--cancels 20] [--snipes 3]
 *
 * Everything talks to 127.0.0.1 and stops by itself (bounded: about three minutes).
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startStack } from './support/stack';
import { dist, fmt, table } from './support/stats';
import { DEFAULT_MOCK_SEED } from '../lib/config';
import { setMarketSeed } from '../lib/venues/market';
import { planCrossing, type CrossingCandidate } from '../tests/support/market-crossing';

const { values: args } = parseArgs({
  options: {
    profile: { type: 'string' },
    limits: { type: 'string' },
    expiries: { type: 'string' },
    cancels: { type: 'string' },
    snipes: { type: 'string' },
    verbose: { type: 'boolean' },
  },
  strict: true,
});
const profile = args.profile ?? 'realistic';
const counts = { limits: Number(args.limits ?? 8), expiries: Number(args.expiries ?? 10), cancels: Number(args.cancels ?? 20), snipes: Number(args.snipes ?? 3) };
const log = (line: string): void => void process.stdout.write(`${line}\n`);

type Frame = { type: string; [key: string]: unknown };

/** One WebSocket client that keeps every frame and lets a caller wait for one. */
class Client {
  private readonly frames: Array<Frame & { receivedAt: number }> = [];
  private readonly waiters = new Set<() => void>();
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push({ ...(JSON.parse(String(data)) as Frame), receivedAt: Date.now() });
      for (const wake of [...this.waiters]) wake();
    });
  }
  static open(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }
  send(message: Record<string, unknown>): number {
    this.socket.send(JSON.stringify(message));
    return Date.now();
  }
  async next(match: (f: Frame) => boolean, timeoutMs: number): Promise<Frame & { receivedAt: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(1, deadline - Date.now()));
        this.waiters.add(wake);
      });
    }
  }
  close(): void {
    this.socket.close();
  }
}

const orderFrame = (orderId: string, status: string) => (f: Frame): boolean => f.type === 'order' && f.orderId === orderId && f.status === status;
const placed = (clientOrderId: string) => (f: Frame): boolean => f.type === 'order' && f.clientOrderId === clientOrderId && f.status === 'pending';
let counter = 0;
const nextId = (tag: string): string => `bench-${tag}-${Date.now().toString(36)}-${counter++}`;

/** Pairs and sides to plan limit crossings on: each order gets its own. */
const CROSSING_CANDIDATES: CrossingCandidate[][] = [
  [{ side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '25' }],
  [{ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDC', amount: '0.2' }],
  [{ side: 'buy', tokenIn: 'USDC', tokenOut: 'JUP', amount: '20' }],
  [{ side: 'sell', tokenIn: 'JUP', tokenOut: 'USDC', amount: '20' }],
  [{ side: 'buy', tokenIn: 'USDC', tokenOut: 'RAY', amount: '20' }],
  [{ side: 'sell', tokenIn: 'RAY', tokenOut: 'USDC', amount: '8' }],
  [{ side: 'buy', tokenIn: 'USDT', tokenOut: 'SOL', amount: '25' }],
  [{ side: 'sell', tokenIn: 'SOL', tokenOut: 'USDT', amount: '0.2' }],
  [{ side: 'buy', tokenIn: 'USDC', tokenOut: 'BONK', amount: '20' }],
  [{ side: 'sell', tokenIn: 'BONK', tokenOut: 'USDC', amount: '1000000' }],
];

const limitTriggers = async (client: Client): Promise<number[]> => {
  // From now: the market must not be at a limit when its order is placed (that order would fill at once, not trigger).
  const fromMs = Date.now();
  const plans = CROSSING_CANDIDATES.map((candidates) => planCrossing(fromMs, { horizonMs: 120_000, candidates })).filter((p) => p !== undefined).slice(0, counts.limits);
  log(`limit: ${plans.length} orders whose price the market reaches within two minutes`);
  const latencies = await Promise.all(
    plans.map(async (plan) => {
      const clientOrderId = nextId('limit');
      client.send({ action: 'execute', type: 'limit', slippage: 1, clientOrderId, ...plan.order });
      const pending = await client.next(placed(clientOrderId), 20_000);
      const routing = await client.next(orderFrame(String(pending.orderId), 'routing'), plan.crossesAtMs - Date.now() + 30_000);
      await client.next((f) => f.type === 'order' && f.orderId === pending.orderId && ['confirmed', 'failed', 'open'].includes(String(f.status)) && f !== routing && Number(f.seq) > Number(routing.seq), 90_000);
      return Date.parse(String(routing.at)) - plan.crossesAtMs;
    }),
  );
  return latencies;
};

const expiries = async (client: Client): Promise<number[]> =>
  Promise.all(
    Array.from({ length: counts.expiries }, async (_, i) => {
      const clientOrderId = nextId('expiry');
      const expiresAtMs = Date.now() + 3_000 + i * 300;
      client.send({ action: 'execute', type: 'limit', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '5', limitPrice: '1', expiresAt: new Date(expiresAtMs).toISOString(), clientOrderId });
      const pending = await client.next(placed(clientOrderId), 20_000);
      const expired = await client.next(orderFrame(String(pending.orderId), 'expired'), 30_000);
      return Date.parse(String(expired.at)) - expiresAtMs;
    }),
  );

const cancels = async (client: Client): Promise<number[]> => {
  const orderIds = await Promise.all(
    Array.from({ length: counts.cancels }, async () => {
      const clientOrderId = nextId('cancel');
      client.send({ action: 'execute', type: 'limit', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '5', limitPrice: '1', clientOrderId });
      const pending = await client.next(placed(clientOrderId), 20_000);
      await client.next(orderFrame(String(pending.orderId), 'open'), 20_000);
      return String(pending.orderId);
    }),
  );
  const roundTrips: number[] = [];
  // One at a time: the round trip of a cancel, not of a burst of them.
  for (const orderId of orderIds) {
    const sentAt = client.send({ action: 'cancel', orderId });
    const cancelled = await client.next(orderFrame(orderId, 'cancelled'), 20_000);
    roundTrips.push(cancelled.receivedAt - sentAt);
  }
  return roundTrips;
};

const snipes = async (client: Client): Promise<{ toRouting: number[]; toConfirmed: number[] }> => {
  const results = await Promise.all(
    Array.from({ length: counts.snipes }, async (_, i) => {
      const symbol = `B${Date.now().toString(36).slice(-4).toUpperCase()}${i}`;
      client.send({ action: 'mockLaunch', symbol, dex: i % 2 ? 'meteora' : 'raydium', quoteToken: 'USDC', price: '0.001', openInSeconds: 8 + i });
      const launches = await client.next((f) => f.type === 'launches' && (f.launches as Array<{ symbol: string }>).some((l) => l.symbol === symbol), 20_000);
      const openMs = Date.parse((launches.launches as Array<{ symbol: string; openTime: string }>).find((l) => l.symbol === symbol)?.openTime ?? '');
      const clientOrderId = nextId('snipe');
      client.send({ action: 'execute', type: 'snipe', side: 'buy', tokenIn: 'USDC', tokenOut: symbol, amount: '5', slippage: 5, clientOrderId });
      const pending = await client.next(placed(clientOrderId), 20_000);
      const routing = await client.next(orderFrame(String(pending.orderId), 'routing'), 60_000);
      const confirmed = await client.next(orderFrame(String(pending.orderId), 'confirmed'), 60_000);
      return { toRouting: Date.parse(String(routing.at)) - openMs, toConfirmed: Date.parse(String(confirmed.at)) - openMs };
    }),
  );
  return { toRouting: results.map((r) => r.toRouting), toConfirmed: results.map((r) => r.toConfirmed) };
};

const main = async (): Promise<void> => {
  setMarketSeed(DEFAULT_MOCK_SEED);
  log(`starting the embedded stack (MOCK_PROFILE=${profile}, MOCK_TEST_HOOKS=true)`);
  const stack = await startStack({ profile, accounts: ['limits', 'expiries', 'cancels', 'snipes'], env: { MOCK_TEST_HOOKS: 'true', LOG_LEVEL: 'warn' }, readyTimeoutMs: 90_000, echo: args.verbose ?? false });
  const url = (account: string): string => `${stack.wsUrl}?apiKey=${stack.keys[account]}`;
  const clients = await Promise.all(['limits', 'expiries', 'cancels', 'snipes'].map((account) => Client.open(url(account))));
  try {
    const [limit, expiry, cancel, snipe] = await Promise.all([
      limitTriggers(clients[0] as Client),
      expiries(clients[1] as Client),
      cancels(clients[2] as Client),
      snipes(clients[3] as Client),
    ]);
    const row = (name: string, values: number[], bound: string): Array<string | number> => {
      const d = dist(values);
      return [name, d.n, fmt(d.p50, 0), fmt(d.p95, 0), fmt(d.max, 0), bound];
    };
    log('');
    log(`resting order types, MOCK_PROFILE=${profile} (ms)`);
    log(
      table(
        ['measure', 'n', 'p50', 'p95', 'max', 'bound by design'],
        [
          row('limit: price reached -> routing', limit, 'watcher tick 1 s + queue + quote'),
          row('expiry: expiresAt -> expired', expiry, 'watcher tick 1 s'),
          row('cancel: sent -> cancelled frame', cancel, 'two DynamoDB round trips'),
          row('snipe: open time -> routing', snipe.toRouting, 'first slot at or after the open'),
          row('snipe: open time -> confirmed', snipe.toConfirmed, '+ the landing'),
        ],
      ),
    );
  } finally {
    for (const client of clients) client.close();
    await stack.stop();
  }
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
