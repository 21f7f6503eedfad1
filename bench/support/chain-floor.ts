/**
 * What the mock chain's own latencies allow a batch of N orders before the engine spends any time of its own: each
 * order alone on an idle engine, on the profile's simulated clock (no acknowledgement, no queue, no CPU), through the
 * cluster code the engine calls: the venues' quotes, the fee query, build and sign, the send, and rebroadcasts on the
 * engine's interval, each beside the wait, until the outcome. A batch completes when its slowest order does, so
 * N / (that time) is the most completed orders/s a batch of N can reach on this profile, however fast the engine.
 */
import { InMemoryLedger, MockCluster } from '../../lib/chain/cluster';
import { quoteLatencyMs, type MockProfile } from '../../lib/chain/profile';
import { rngFor } from '../../lib/chain/rng';
import { routeOrder } from '../../lib/routing';
import { resolveToken, type Token } from '../../lib/tokens';
import type { OrderSpec } from '../../lib/venues/route';
import { confirmationDeadline, nextRebroadcastAt } from '../../lib/orders/patience';
import { priorityFeeBid } from '../../lib/orders/priority-fee';
import type { PriorityFeePolicy } from '../../lib/orders/request';
import { dist, type Dist } from './stats';

export interface ChainFloor {
  /** Each batch's slowest order, ms from its first quote to its outcome. */
  slowestMs: Dist;
  /** Every order's time, ms. */
  orderMs: Dist;
  /** Orders whose first signature expired (the engine would retry with a new one; counted here at the expiry). */
  expired: number;
}

export interface ChainFloorOptions {
  profile: MockProfile;
  orders: number;
  batches: number;
  priorityFee: PriorityFeePolicy;
  percentile: number;
  maxLamports: number;
  seed?: string;
}

const token = (symbol: string): Token => resolveToken(symbol) as Token;

/** One order on its own simulated clock: ms from its first quote to its outcome and to its landing, and whether it expired. */
export const orderAlone = async (opts: ChainFloorOptions, startMs: number, orderId: string): Promise<{ ms: number; landedMs: number | null; expired: boolean }> => {
  const seed = opts.seed ?? 'chain-floor';
  const clock = { now: startMs };
  const ledger = new InMemoryLedger();
  const cluster = new MockCluster({ ledger, profile: opts.profile, seed, now: () => clock.now, sleep: async (ms) => void (clock.now += ms) });
  const spec: OrderSpec = { side: 'buy', tokenIn: token('USDC'), tokenOut: token('SOL'), amountIn: 100_000_000n, slippageBps: 100 };
  clock.now += quoteLatencyMs(opts.profile, rngFor(seed, 'quote', orderId));
  const { route } = routeOrder(spec, clock.now);
  const recent = opts.priorityFee === 'none' ? [] : (await cluster.getRecentPrioritizationFees()).fees;
  const priorityFee = priorityFeeBid(opts.priorityFee, recent, { percentile: opts.percentile, maxLamports: opts.maxLamports });
  let built;
  let sent;
  for (let attempt = 1; !sent; attempt++) {
    built = await cluster.buildTransaction({ orderId, attempt, order: spec, route, priorityFee });
    // A send that never reached the leader is retried at once as a new attempt: a lower bound of the engine's backoff.
    sent = await cluster.sendTransaction(built.transaction).catch(() => undefined);
  }
  const { transaction, signature } = built as NonNullable<typeof built>;
  const hints = cluster.confirmation;
  const giveUpAtMs = confirmationDeadline(hints, { expiresAtMs: sent.expiresAtMs });
  let nextSendMs = nextRebroadcastAt(hints, sent.sentAtMs);
  let outcome = await cluster.awaitOutcome(signature, Math.min(giveUpAtMs, nextSendMs));
  while (outcome.state === 'pending' && clock.now < giveUpAtMs) {
    if (clock.now >= nextSendMs) {
      // Beside the wait, as the engine's Rebroadcaster: the send reaches the cluster after its round trip, and the
      // wait goes on from now rather than from the send's answer.
      const at = clock.now;
      await cluster.sendTransaction(transaction).catch(() => undefined);
      clock.now = at;
      nextSendMs = nextRebroadcastAt(hints, at);
    }
    outcome = await cluster.awaitOutcome(signature, Math.min(giveUpAtMs, nextSendMs));
  }
  const landsAtMs = (await ledger.get(signature))?.landsAtMs ?? null;
  return { ms: (outcome.state === 'pending' ? clock.now : outcome.atMs) - startMs, landedMs: landsAtMs === null ? null : landsAtMs - startMs, expired: outcome.state === 'expired' };
};

export async function chainFloor(opts: ChainFloorOptions): Promise<ChainFloor> {
  const slowest: number[] = [];
  const all: number[] = [];
  let expired = 0;
  // Batches start a minute apart on the simulated clock, so they meet different slots' fees and congestion waves.
  const t0 = Date.UTC(2026, 0, 1);
  for (let b = 0; b < opts.batches; b++) {
    let max = 0;
    for (let i = 0; i < opts.orders; i++) {
      const order = await orderAlone(opts, t0 + b * 60_000, `floor-${b}-${i}`);
      all.push(order.ms);
      if (order.expired) expired++;
      max = Math.max(max, order.ms);
    }
    slowest.push(max);
  }
  return { slowestMs: dist(slowest), orderMs: dist(all), expired };
}
