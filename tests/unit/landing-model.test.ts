import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { resolveToken, type Token } from '../../lib/tokens';
import { routeOrder } from '../../lib/routing';
import type { OrderSpec } from '../../lib/venues/route';
import { InMemoryLedger, MockCluster } from '../../lib/chain/cluster';
import { mockProfile, sampleLatencyMs, type MockProfile } from '../../lib/chain/profile';
import { rngFor } from '../../lib/chain/rng';
import { SLOT_MS, slotAt, slotStartMs } from '../../lib/chain/clock';
import {
  BASE_FEE_LAMPORTS,
  blockVoteDelayMs,
  computeUnitLimitFor,
  confirmationAt,
  feePercentileOf,
  priorityFeeLamports,
  recentPrioritizationFees,
  sendFate,
  type SendDraws,
  type SendFate,
} from '../../lib/chain/landing-model';
import { feeAtPercentile, priorityFeeBid } from '../../lib/orders/priority-fee';

const T0 = Date.UTC(2026, 10, 25, 10);
const USDC = resolveToken('USDC') as Token;
const SOL = resolveToken('SOL') as Token;
const order: OrderSpec = { side: 'buy', tokenIn: USDC, tokenOut: SOL, amountIn: 100_000_000n, slippageBps: 100 };

const drawsArb = fc.record({
  uDrop: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  uLateOffset: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  uSlow: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  landingMs: fc.integer({ min: 0, max: 10_000 }),
});
const percentileArb = fc.double({ min: 0, max: 1, noNaN: true });

/** Outcomes ordered from worst to best for the sender. */
const rank = (fate: SendFate): number => (fate.kind === 'dropped' ? 0 : fate.kind === 'late' ? 1 : 2);

describe('the landing model of one send', () => {
  for (const name of ['realistic', 'congested'] as const) {
    it(`${name}: more fee never lowers the landing chance, and never lands later (same draws)`, () => {
      const profile = mockProfile(name);
      fc.assert(
        fc.property(drawsArb, percentileArb, percentileArb, fc.double({ min: 2 / 3, max: 4 / 3, noNaN: true }), (draws, a, b, congestion) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const cheap = sendFate(profile, draws, low, congestion);
          const dear = sendFate(profile, draws, high, congestion);
          expect(rank(dear)).toBeGreaterThanOrEqual(rank(cheap));
          if (cheap.kind === 'lands' && dear.kind === 'lands') expect(dear.delayMs).toBeLessThanOrEqual(cheap.delayMs);
        }),
      );
    });
  }

  const sendOnceRates = (profile: MockProfile, percentile: number, n = 40_000): { dropped: number; late: number; medianDelayMs: number } => {
    let dropped = 0;
    let late = 0;
    const delays: number[] = [];
    for (let i = 0; i < n; i++) {
      const rng = rngFor('rates', profile.name, i);
      const draws: SendDraws = { uDrop: rng.next(), uLateOffset: rng.next(), uSlow: rng.next(), landingMs: sampleLatencyMs(profile, 'landing', rng) };
      const fate = sendFate(profile, draws, percentile);
      if (fate.kind === 'dropped') dropped++;
      else if (fate.kind === 'late') late++;
      else delays.push(fate.delayMs);
    }
    delays.sort((x, y) => x - y);
    return { dropped: dropped / n, late: late / n, medianDelayMs: delays[Math.floor(delays.length / 2)] as number };
  };

  it('realistic, sent once with no fee: the rates of a sender that never rebroadcasts (1 % + half of 0.3 % never land, 0.15 % late)', () => {
    const rates = sendOnceRates(mockProfile('realistic'), 0);
    expect(rates.dropped).toBeGreaterThan(0.0115 - 0.002);
    expect(rates.dropped).toBeLessThan(0.0115 + 0.002);
    expect(rates.late).toBeGreaterThan(0.0015 - 0.001);
    expect(rates.late).toBeLessThan(0.0015 + 0.001);
    expect(rates.medianDelayMs).toBeGreaterThan(300);
    expect(rates.medianDelayMs).toBeLessThan(500);
  });

  it('congested: no fee drops about 30 % and lands 5-20x slower; a bid above the median of recent fees lands at the calm pace', () => {
    const profile = mockProfile('congested');
    const none = sendOnceRates(profile, 0);
    const above = sendOnceRates(profile, 0.75);
    expect(none.dropped).toBeGreaterThan(0.25);
    expect(none.dropped).toBeLessThan(0.35);
    expect(none.medianDelayMs).toBeGreaterThan(5 * 400 * 0.8);
    expect(none.medianDelayMs).toBeLessThan(20 * 400);
    expect(above.dropped).toBeLessThan(none.dropped / 5);
    expect(above.medianDelayMs).toBeLessThan(500);
  });
});

describe('confirmation, a block at a time', () => {
  it('every transaction processed in one slot waits the same for its block to be confirmed', () => {
    const profile = mockProfile('realistic');
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.nat(SLOT_MS - 1), fc.nat(SLOT_MS - 1), (slotIndex, a, b) => {
        const slotStart = slotStartMs(slotAt(T0) + slotIndex);
        expect(confirmationAt(profile, 'seed', slotStart + a) - (slotStart + a)).toBe(confirmationAt(profile, 'seed', slotStart + b) - (slotStart + b));
      }),
    );
  });

  it("each transaction's wait keeps the profile's processed -> confirmed latency (realistic: median 0.8 s, p95 2 s); blocks differ", () => {
    const profile = mockProfile('realistic');
    const first = slotAt(T0);
    const delays = Array.from({ length: 20_000 }, (_, i) => blockVoteDelayMs(profile, 'seed', first + i)).sort((x, y) => x - y);
    const at = (q: number): number => delays[Math.floor(q * delays.length)] as number;
    expect(at(0.5)).toBeGreaterThan(700);
    expect(at(0.5)).toBeLessThan(900);
    expect(at(0.95)).toBeGreaterThan(1_700);
    expect(at(0.95)).toBeLessThan(2_300);
    // Blocks wait differently; every process draws the same wait for a slot of one cluster, another cluster its own.
    expect(new Set(delays).size).toBeGreaterThan(1_000);
    const waits = (seed: string): number[] => Array.from({ length: 20 }, (_, i) => blockVoteDelayMs(profile, seed, first + i));
    expect(waits('seed')).toEqual(waits('seed'));
    expect(waits('other')).not.toEqual(waits('seed'));
  });
});

describe('the fee market', () => {
  it('getRecentPrioritizationFees: 150 slots, oldest first, the same in every process; congested fees are higher', () => {
    const calm = recentPrioritizationFees(mockProfile('realistic'), 'seed', T0);
    expect(calm).toHaveLength(150);
    expect(calm.map((entry) => entry.slot)).toEqual([...calm.map((entry) => entry.slot)].sort((a, b) => a - b));
    expect(recentPrioritizationFees(mockProfile('realistic'), 'seed', T0)).toEqual(calm);
    const congested = recentPrioritizationFees(mockProfile('congested'), 'seed', T0);
    expect(feeAtPercentile(congested, 50)).toBeGreaterThan(feeAtPercentile(calm, 50));
    // A bid at the 75th percentile stands above most recent slots; no bid stands above none.
    expect(feePercentileOf(feeAtPercentile(congested, 75), congested)).toBeGreaterThan(0.6);
    expect(feePercentileOf(0, congested)).toBe(0);
  });

  it('fees as Solana charges them: 5,000 lamports per signature plus ceil(price x limit / 10^6)', () => {
    expect(BASE_FEE_LAMPORTS).toBe(5_000);
    expect(priorityFeeLamports(289_137, 600_000)).toBe(Math.ceil((289_137 * 600_000) / 1_000_000));
    expect(priorityFeeLamports(1, 1)).toBe(1);
    expect(priorityFeeLamports(0, 1_400_000)).toBe(0);
    // A split route asks for both legs' units, with the margin; never more than Solana's per-transaction ceiling.
    expect(computeUnitLimitFor(['raydium', 'meteora'])).toBeGreaterThan(computeUnitLimitFor(['meteora']));
    expect(computeUnitLimitFor(Array.from({ length: 20 }, () => 'meteora'))).toBe(1_400_000);
  });

  it('the policy: none bids 0; auto the configured percentile under the engine cap; maxLamports the order\'s own cap', () => {
    const recent = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90].map((prioritizationFee, slot) => ({ slot, prioritizationFee }));
    expect(feeAtPercentile(recent, 75)).toBe(70);
    expect(feeAtPercentile(recent, 100)).toBe(90);
    expect(feeAtPercentile([], 75)).toBe(0);
    const settings = { percentile: 50, maxLamports: 100_000 };
    expect(priorityFeeBid('none', recent, settings)).toEqual({ microLamportsPerCu: 0 });
    expect(priorityFeeBid('auto', recent, settings)).toEqual({ microLamportsPerCu: 40, maxLamports: 100_000 });
    expect(priorityFeeBid(undefined, recent, settings)).toEqual({ microLamportsPerCu: 40, maxLamports: 100_000 });
    expect(priorityFeeBid({ maxLamports: 7 }, recent, settings)).toEqual({ microLamportsPerCu: 40, maxLamports: 7 });
  });
});

describe('sends and rebroadcasts on the mock cluster', () => {
  const setup = (profile: MockProfile, ledger = new InMemoryLedger()) => {
    const clock = { now: T0 };
    // The mock's simulated waits move this clock instead of the real one.
    const cluster = new MockCluster({ ledger, profile, seed: 'landing-test', now: () => clock.now, sleep: async (ms) => void (clock.now += ms) });
    return { cluster, ledger, clock };
  };
  const build = async (cluster: MockCluster, orderId: string, priorityFee?: { microLamportsPerCu: number; maxLamports?: number }) => {
    const { route } = routeOrder(order, T0);
    return cluster.buildTransaction({ orderId, attempt: 1, order, route, ...(priorityFee ? { priorityFee } : {}) });
  };

  it('a transaction lands at most once, never after its expiry; rebroadcasts only ever bring its landing and its confirmation earlier', async () => {
    // No RPC timeouts: a send that never reaches the leader records nothing, so it has no landing to check (0.2 % of
    // realistic first sends, drawn per signature: a generated id hit one in CI).
    const profile = mockProfile('realistic', { failureRates: { blockhashExpired: 0.5, rpcTimeout: 0 } });
    await fc.assert(
      fc.asyncProperty(fc.nat(1_000_000), fc.array(fc.integer({ min: 1, max: 5_000 }), { minLength: 1, maxLength: 12 }), async (id, gaps) => {
        const { cluster, ledger, clock } = setup(profile);
        const { transaction, signature } = await build(cluster, `order-${id}`);
        const first = await cluster.sendTransaction(transaction);
        let landsAtMs = first.record.landsAtMs;
        let confirmAtMs = first.record.confirmAtMs;
        for (const gap of gaps) {
          clock.now += gap;
          const again = await cluster.sendTransaction(transaction);
          const record = (await ledger.get(signature))!;
          expect(again.signature).toBe(signature);
          if (landsAtMs !== null && landsAtMs <= clock.now) {
            // Landed already: the send changes nothing (AlreadyProcessed).
            expect(again.alreadyProcessed).toBe(true);
            expect(record.landsAtMs).toBe(landsAtMs);
          } else if (record.landsAtMs !== null) {
            expect(record.landsAtMs).toBeGreaterThanOrEqual(clock.now);
            if (landsAtMs !== null) expect(record.landsAtMs).toBeLessThanOrEqual(landsAtMs);
          }
          if (record.landsAtMs !== null) expect(record.landsAtMs).toBeLessThan(record.expiresAtMs);
          // An earlier block is confirmed no later than a later one of the same fork would have been.
          if (confirmAtMs !== null) expect(record.confirmAtMs).toBeLessThanOrEqual(confirmAtMs);
          if (record.landsAtMs !== null) expect(record.confirmAtMs).toBeGreaterThanOrEqual(record.landsAtMs);
          landsAtMs = record.landsAtMs;
          confirmAtMs = record.confirmAtMs;
        }
        expect(ledger.size).toBe(1);
      }),
      { numRuns: 60 },
    );
  });

  it('a send after the blockhash expired never lands it; the expiry verdict seals it against a racing rebroadcast', async () => {
    const profile = mockProfile('fast', { failureRates: { blockhashExpired: 1 } });
    const { cluster, ledger, clock } = setup(profile);
    const { transaction, signature } = await build(cluster, 'order-expired');
    const sent = await cluster.sendTransaction(transaction);
    expect(sent.record.landsAtMs).toBeNull();
    clock.now = sent.expiresAtMs;
    await cluster.sendTransaction(transaction);
    expect((await ledger.get(signature))?.landsAtMs).toBeNull();
    expect(await cluster.awaitOutcome(signature, clock.now + 10_000)).toEqual({ state: 'expired', atMs: sent.expiresAtMs });
    expect((await ledger.get(signature))?.sealed).toBe(true);
    // A rebroadcast that drew a landing before the expiry but wrote after the verdict is refused.
    expect(await ledger.improveLanding(signature, { landsAtMs: sent.expiresAtMs - 1, confirmAtMs: sent.expiresAtMs, feeLamports: 5_000, fate: 'lands' }, null)).toBe(false);
  });

  it('a landing recorded by another process is found at the expiry verdict, not missed', async () => {
    const profile = mockProfile('fast', { failureRates: { blockhashExpired: 1 } });
    const ledger = new InMemoryLedger();
    const follower = setup(profile, ledger);
    const { transaction, signature } = await build(follower.cluster, 'order-two-processes');
    const sent = await follower.cluster.sendTransaction(transaction);
    expect(sent.record.landsAtMs).toBeNull();
    // Another process's rebroadcast landed it (written straight to the shared ledger; the follower's copy is stale).
    expect(await ledger.improveLanding(signature, { landsAtMs: sent.sentAtMs + 100, confirmAtMs: sent.sentAtMs + 200, feeLamports: 5_000, fate: 'lands' }, null)).toBe(true);
    follower.clock.now = sent.expiresAtMs;
    const outcome = await follower.cluster.awaitOutcome(signature, follower.clock.now + 10_000);
    expect(['confirmed', 'failed']).toContain(outcome.state);
  });

  it('a first send that was dropped lands on a rebroadcast within seconds (realistic)', async () => {
    const profile = mockProfile('realistic');
    let found = 0;
    for (let id = 0; id < 3_000 && found < 3; id++) {
      const { cluster, clock } = setup(profile);
      const { transaction, signature } = await build(cluster, `order-dropped-${id}`);
      let sent;
      try {
        sent = await cluster.sendTransaction(transaction);
      } catch {
        continue; // an RPC timeout draw: nothing recorded
      }
      if (sent.record.landsAtMs !== null) continue;
      found++;
      // The same signed transaction again on the profile's interval, as the engine does.
      for (let n = 0; n < 20; n++) {
        clock.now += profile.rebroadcastMs;
        const again = await cluster.sendTransaction(transaction);
        if (again.record.landsAtMs !== null) break;
      }
      const outcome = await cluster.awaitOutcome(signature, clock.now + 30_000);
      expect(['confirmed', 'failed']).toContain(outcome.state);
      expect((outcome as { atMs: number }).atMs - sent.sentAtMs).toBeLessThan(15_000);
    }
    expect(found).toBe(3);
  });

  it('the fee charged is the base fee plus the bid price times the unit limit, capped by maxLamports', async () => {
    const profile = mockProfile('zero');
    const { cluster, clock } = setup(profile);
    const capped = await build(cluster, 'order-fee', { microLamportsPerCu: 1_000_000, maxLamports: 50_000 });
    const limit = capped.transaction.computeUnitLimit as number;
    expect(priorityFeeLamports(capped.transaction.microLamportsPerCu as number, limit)).toBeLessThanOrEqual(50_000);
    await cluster.sendTransaction(capped.transaction);
    clock.now += 10_000;
    const outcome = await cluster.awaitOutcome(capped.signature, clock.now);
    if (outcome.state !== 'confirmed' && outcome.state !== 'failed') throw new Error(`unexpected ${outcome.state}`);
    expect(outcome.fees).toEqual({ baseLamports: 5_000, priorityLamports: priorityFeeLamports(capped.transaction.microLamportsPerCu as number, limit), computeUnits: limit });
    expect(outcome.feeLamports).toBe(outcome.fees.baseLamports + outcome.fees.priorityLamports);
  });
});
