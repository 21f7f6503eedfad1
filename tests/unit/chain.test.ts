import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import bs58 from 'bs58';
import { resolveToken, type Token } from '../../lib/tokens';
import { routeOrder } from '../../lib/routing';
import type { OrderSpec } from '../../lib/venues/route';
import { buildSignedTransaction, InMemoryLedger, MockCluster, statusOf, type ForcedFailure } from '../../lib/chain/cluster';
import type { SignedTransaction } from '../../lib/chain/port';
import { BLOCKHASH_VALID_BLOCKS, GENESIS_MS, SlotClock, slotAt, slotStartMs } from '../../lib/chain/clock';
import { mockProfile, quoteLatencyMs, sampleLatencyMs, drawVenue5xx } from '../../lib/chain/profile';
import { rngFor } from '../../lib/chain/rng';
import { blockhashForSlot, transactionSignature } from '../../lib/chain/signature';
import { ChainError } from '../../lib/errors';

const USDC = resolveToken('USDC') as Token;
const SOL = resolveToken('SOL') as Token;
const T0 = Date.UTC(2026, 10, 25, 10);

describe('signatures and blockhashes (dex-realism.md §4.1)', () => {
  it('are base58 of 64 / 32 bytes, deterministic, never hex', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 10 ** 9 }), (seed, orderId, attempt, slot) => {
        const bh = blockhashForSlot(seed, slot);
        expect(bs58.decode(bh)).toHaveLength(32);
        const sig = transactionSignature(seed, orderId, attempt, bh);
        expect(bs58.decode(sig)).toHaveLength(64);
        expect(sig.length).toBeGreaterThanOrEqual(86);
        expect(sig.length).toBeLessThanOrEqual(88);
        expect(sig.startsWith('0x')).toBe(false);
        expect(transactionSignature(seed, orderId, attempt, bh)).toBe(sig);
        expect(transactionSignature(seed, orderId, attempt, blockhashForSlot(seed, slot + 1))).not.toBe(sig);
      }),
      { numRuns: 200 },
    );
  });
});

describe('slot clock', () => {
  const clock = new SlotClock('clock-seed');
  it('ticks every 400 ms and block height trails slot with ~5% skipped slots', () => {
    expect(slotAt(GENESIS_MS + 400) - slotAt(GENESIS_MS)).toBe(1);
    const s0 = slotAt(T0);
    const h0 = clock.blockHeightAtSlot(s0);
    const h1 = clock.blockHeightAtSlot(s0 + 10_000);
    expect(h0).toBeLessThan(s0);
    expect(Math.abs(h1 - h0 - 9_500)).toBeLessThanOrEqual(1);
    let skipped = 0;
    for (let s = s0; s < s0 + 1000; s++) skipped += clock.isSkipped(s) ? 1 : 0;
    expect(skipped).toBe(50);
  });

  it('inverts heights and reports time until a height', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 8 }), (dt) => {
        const t = T0 + dt;
        const h = clock.blockHeightAt(t);
        const slot = clock.slotOfBlockHeight(h + 150);
        expect(clock.blockHeightAtSlot(slot)).toBe(h + 150);
        expect(clock.blockHeightAtSlot(slot - 1)).toBe(h + 149);
        const wait = clock.msUntilBlockHeight(h + 150, t);
        expect(wait).toBeGreaterThan(150 * 400 - 400);
        expect(wait).toBeLessThan(160 * 400);
        expect(clock.msUntilBlockHeight(h, t)).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('profiles and rng', () => {
  it('realistic matches §7.5/§7.6; overrides apply; unknown names fail', () => {
    const p = mockProfile('realistic', { failureRates: { blockhashExpired: 0.5 } });
    expect(p.latencies.quoteRaydium).toEqual({ medianMs: 80, p95Ms: 300 });
    expect(p.failureRates).toEqual({ venue5xx: 0.002, rpcTimeout: 0.002, blockhashExpired: 0.5, ambiguousTimeout: 0.003 });
    expect(mockProfile('fast').failureRates.blockhashExpired).toBe(0);
    expect(() => mockProfile('slow')).toThrow();
    expect(() => mockProfile('fast', { failureRates: { nope: 1 } as never })).toThrow();
  });

  it('lognormal latency hits the configured median and p95', () => {
    const p = mockProfile('realistic');
    const rng = rngFor('lat', 1);
    const xs = Array.from({ length: 20_000 }, () => sampleLatencyMs(p, 'landing', rng)).sort((a, b) => a - b);
    expect(xs[10_000]).toBeGreaterThan(370);
    expect(xs[10_000]).toBeLessThan(430);
    expect(xs[19_000]).toBeGreaterThan(2_100);
    expect(xs[19_000]).toBeLessThan(2_700);
    expect(sampleLatencyMs(mockProfile('zero'), 'landing', rng)).toBe(0);
    expect(quoteLatencyMs(mockProfile('zero'), rng)).toBe(0);
    expect(rngFor('a', 'b').next()).toBe(rngFor('a', 'b').next());
    expect(drawVenue5xx(mockProfile('fast'), rng)).toBeUndefined();
    expect(drawVenue5xx(mockProfile('fast'), rng, true)).toMatchObject({ code: 'VENUE_UNAVAILABLE', retryable: true });
  });
});

describe('MockCluster', () => {
  const order: OrderSpec = { side: 'buy', tokenIn: USDC, tokenOut: SOL, amountIn: 100_000_000n, slippageBps: 100 };

  function setup(profileName: 'fast' | 'realistic' = 'fast', startMs = T0) {
    let now = startMs;
    const ledger = new InMemoryLedger();
    const profile = mockProfile(profileName);
    // The fake clock stands still while the mock waits out its simulated latencies.
    const cluster = new MockCluster({ ledger, profile, seed: 'chain-test', now: () => now, sleep: async () => {} });
    const request = (attempt = 1, forcedFailure?: ForcedFailure): SignedTransaction => {
      const { route } = routeOrder(order, now);
      return buildSignedTransaction({ orderId: 'order-1', attempt, order, route, blockhash: cluster.getLatestBlockhash(), ...(forcedFailure ? { forcedFailure } : {}) });
    };
    return { ledger, cluster, profile, request, advance: (ms: number) => (now += ms), at: () => now };
  }

  it('getLatestBlockhash: 32-byte base58, lastValidBlockHeight = height + 150', () => {
    const { cluster } = setup();
    const bh = cluster.getLatestBlockhash();
    expect(bs58.decode(bh.blockhash)).toHaveLength(32);
    expect(bh.lastValidBlockHeight).toBe(cluster.clock.blockHeightAtSlot(bh.slot) + BLOCKHASH_VALID_BLOCKS);
    expect(cluster.clock.isSkipped(bh.slot)).toBe(false);
  });

  it('sending the same signed transaction twice records one transaction', async () => {
    const { cluster, ledger, request } = setup();
    const tx = request();
    const first = await cluster.sendTransaction(tx);
    const second = await cluster.sendTransaction(JSON.parse(JSON.stringify(tx)) as SignedTransaction);
    expect(first).toMatchObject({ alreadyProcessed: false, rebroadcast: false });
    // Sent again before it landed: a rebroadcast of the same transaction, not a second one.
    expect(second).toMatchObject({ signature: first.signature, alreadyProcessed: false, rebroadcast: true });
    expect(ledger.size).toBe(1);
    const retry = await cluster.sendTransaction({ ...tx, attempt: 2 });
    expect(retry.signature).not.toBe(first.signature);
  });

  it('a first send costs one conditional write and no read; a send of what another process recorded is a rebroadcast', async () => {
    const { cluster, ledger, request, advance } = setup();
    const reads = vi.spyOn(ledger, 'get');
    const writes = vi.spyOn(ledger, 'putIfAbsent');
    const tx = request();
    const first = await cluster.sendTransaction(tx);
    expect(first).toMatchObject({ alreadyProcessed: false, rebroadcast: false });
    expect(writes).toHaveBeenCalledTimes(1);
    expect(reads).not.toHaveBeenCalled();

    // Another process (a fresh cluster on the same ledger) knows nothing of it: its send is refused by the ledger, then
    // answered from the record, even once the blockhash is past (a landed transaction is not refused as expired).
    const other = new MockCluster({ ledger, profile: mockProfile('fast'), seed: 'chain-test', now: () => first.sentAtMs + 4_000, sleep: async () => {} });
    advance(4_000);
    const again = await other.sendTransaction(JSON.parse(JSON.stringify(tx)) as SignedTransaction);
    expect(again).toMatchObject({ signature: first.signature, rebroadcast: true, alreadyProcessed: true });
    expect(ledger.size).toBe(1);
  });

  it('lands, is processed, then confirms with the re-priced amount', async () => {
    const { cluster, request, advance } = setup();
    const { signature } = await cluster.sendTransaction(request());
    advance(5_000);
    const status = await cluster.getSignatureStatus(signature);
    expect(status.state).toBe('confirmed');
    if (status.state === 'confirmed') {
      expect(status.amountOut > 0n).toBe(true);
      expect(status.feeLamports).toBe(5_000);
      expect(Number(status.executedPrice)).toBeGreaterThan(50);
    }
    expect((await cluster.getSignatureStatus('unknown-signature')).state).toBe('unknown');
  });

  it('forced BLOCKHASH_EXPIRED: recorded, never lands, expired after the blockhash lifetime', async () => {
    const { cluster, request, advance } = setup();
    const tx = request(1, 'BLOCKHASH_EXPIRED');
    const { signature } = await cluster.sendTransaction(tx);
    expect((await cluster.getSignatureStatus(signature)).state).toBe('unknown');
    advance(3_000); // past the fast profile's 2.5 s blockhash lifetime
    expect(await cluster.getSignatureStatus(signature)).toEqual({ state: 'expired' });
    // A stale blockhash is refused at send time.
    await expect(cluster.sendTransaction({ ...tx, attempt: 2, forcedFailure: undefined } as SignedTransaction)).rejects.toMatchObject({ code: 'BLOCKHASH_EXPIRED', retryable: true });
  });

  it('realistic profile: expiry follows block height (150 blocks ≈ 60 s)', async () => {
    const { cluster, request, advance, at } = setup('realistic');
    const tx = request(1, 'BLOCKHASH_EXPIRED');
    const { signature } = await cluster.sendTransaction(tx);
    const record = await cluster.ledger.get(signature);
    const lifetime = (record?.expiresAtMs ?? 0) - at();
    expect(lifetime).toBeGreaterThan(58_000);
    expect(lifetime).toBeLessThan(64_000);
    advance(lifetime - 1);
    expect((await cluster.getSignatureStatus(signature)).state).toBe('unknown');
    advance(1);
    expect((await cluster.getSignatureStatus(signature)).state).toBe('expired');
    expect(cluster.clock.blockHeightAt(at())).toBe(tx.lastValidBlockHeight + 1);
  });

  it('forced RPC_TIMEOUT throws retryable and records nothing; VENUE_5XX is a retryable venue error', async () => {
    const { cluster, ledger, request } = setup();
    await expect(cluster.sendTransaction(request(1, 'RPC_TIMEOUT'))).rejects.toMatchObject({ code: 'RPC_TIMEOUT', retryable: true });
    await expect(cluster.sendTransaction(request(1, 'VENUE_5XX'))).rejects.toMatchObject({ code: 'VENUE_UNAVAILABLE', retryable: true });
    expect(ledger.size).toBe(0);
  });

  it('forced SLIPPAGE_EXCEEDED lands and fails with the venue program error, fee charged', async () => {
    const { cluster, request, advance } = setup();
    const { signature } = await cluster.sendTransaction(request(1, 'SLIPPAGE_EXCEEDED'));
    advance(5_000);
    const status = await cluster.getSignatureStatus(signature);
    expect(status.state).toBe('failed');
    if (status.state === 'failed') {
      expect(status.error).toBeInstanceOf(ChainError);
      expect(status.error.code).toBe('SLIPPAGE_EXCEEDED');
      expect(status.error.retryable).toBe(false);
      expect(status.error.details).toMatchObject({ customCode: 6003, hex: '0x1773' });
      expect(status.feeLamports).toBe(5_000);
    }
  });

  it('forced AMBIGUOUS_TIMEOUT lands only after the confirmation wait', async () => {
    const { cluster, profile, request, advance } = setup();
    const { signature } = await cluster.sendTransaction(request(1, 'AMBIGUOUS_TIMEOUT'));
    advance(profile.confirmTimeoutMs);
    expect((await cluster.getSignatureStatus(signature)).state).toBe('unknown');
    advance(2_000);
    expect(['confirmed', 'failed']).toContain((await cluster.getSignatureStatus(signature)).state);
  });

  it('status is a pure function of the record: two clusters sharing a ledger agree at every time', async () => {
    const { ledger, cluster, request, at } = setup('realistic');
    const signatures: string[] = [];
    for (let attempt = 1; attempt <= 20; attempt++) signatures.push((await cluster.sendTransaction(request(attempt))).signature);
    const start = at();
    for (const dt of [0, 300, 1_000, 2_500, 10_000, 70_000]) {
      const a = new MockCluster({ ledger, profile: mockProfile('realistic'), seed: 'chain-test', now: () => start + dt });
      const b = new MockCluster({ ledger, profile: mockProfile('realistic'), seed: 'chain-test', now: () => start + dt });
      for (const sig of signatures) {
        const [sa, sb] = [await a.getSignatureStatus(sig), await b.getSignatureStatus(sig)];
        expect(sa).toEqual(sb);
        const record = await ledger.get(sig);
        expect(statusOf(record!, start + dt)).toEqual(sa);
      }
    }
  });

  it('as the chain port: awaitOutcome sleeps to each change of the signature (no polling), pending at its deadline, then the outcome at the chain\'s own time', async () => {
    let now = T0;
    const sleeps: number[] = [];
    const ledger = new InMemoryLedger();
    const cluster = new MockCluster({ ledger, profile: mockProfile('realistic'), seed: 'port-test', now: () => now, sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    } });
    const { route } = routeOrder(order, now);
    const built = await cluster.buildTransaction({ orderId: 'order-port', attempt: 1, order, route });
    expect(built.signature).toBe(cluster.signatureFor(built.transaction));
    expect(built.chainMs).toBe(sleeps.reduce((a, b) => a + b, 0));
    const sent = await cluster.sendTransaction(built.transaction);
    expect(sent).toMatchObject({ signature: built.signature, alreadyProcessed: false, sentAtMs: now, ackMs: sleeps.at(-1) });
    const record = (await ledger.get(sent.signature))!;
    expect(await cluster.findTransaction(sent.signature)).toEqual({ signature: sent.signature, alreadyProcessed: false, rebroadcast: true, sentAtMs: sent.sentAtMs, expiresAtMs: record.expiresAtMs, ackMs: sent.ackMs });
    expect(await cluster.findTransaction('never-sent')).toBeUndefined();

    // A deadline before anything happens: pending, woken once, at the deadline.
    sleeps.length = 0;
    expect(await cluster.awaitOutcome(sent.signature, now + 1)).toEqual({ state: 'pending' });
    expect(sleeps).toEqual([1]);
    // Then the outcome, at the record's own instant, after at most one sleep per change (landing, confirmation, expiry).
    sleeps.length = 0;
    const outcome = await cluster.awaitOutcome(sent.signature, now + 600_000);
    const expectedAt = record.landsAtMs === null ? record.expiresAtMs : (record.confirmAtMs as number);
    expect(outcome).toMatchObject({ state: record.landsAtMs === null ? 'expired' : expect.stringMatching(/^(confirmed|failed)$/), atMs: expectedAt });
    expect(now).toBe(expectedAt);
    expect(sleeps.length).toBeLessThanOrEqual(2);
  });

  it('realistic fates: most land within seconds, ~1% dropped (statistical)', async () => {
    const { cluster, request, at } = setup('realistic');
    let dropped = 0;
    let landed = 0;
    const n = 600;
    const tx = request();
    for (let i = 0; i < n; i++) {
      try {
        const { signature } = await cluster.sendTransaction({ ...tx, orderId: `o-${i}` });
        const record = await cluster.ledger.get(signature);
        if (record?.landsAtMs === null) dropped++;
        else if ((record?.landsAtMs ?? 0) - at() < 10_000) landed++;
      } catch {
        // rpc timeout draws
      }
    }
    expect(dropped).toBeLessThan(n * 0.05);
    expect(landed).toBeGreaterThan(n * 0.9);
  });
});

it('slotStartMs inverts slotAt', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10 ** 11 }), (dt) => {
      const start = slotStartMs(slotAt(GENESIS_MS + dt));
      expect(start <= GENESIS_MS + dt && GENESIS_MS + dt < start + 400).toBe(true);
    }),
  );
});
