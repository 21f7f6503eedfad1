/**
 * The shared mock market. Every price here is a PURE function of (seed, pairId, time): two Lambda instances on two hosts
 * that never talk to each other compute the same pools, so a quote taken in one process and a landing re-priced in
 * another agree. Floats are used only for the price process (V8's Math.log/exp are fdlibm ports, identical on every
 * host running the same Node major); every amount derived from it is rounded once into bigint base units.
 */
import { createHash } from 'node:crypto';
import bs58 from 'bs58';
import { resolveToken, type Token } from '../tokens';
import { type AmmV4Pool } from './raydium-amm-v4';
import { CPMM_DEFAULT_CONFIG, type CpmmPool } from './raydium-cpmm';
import { binPriceQ64, DLMM_DEFAULT_PARAMS, type DlmmParams, type DlmmPool } from './meteora-dlmm';

export type RaydiumPool = AmmV4Pool | CpmmPool;
export type VenuePool = AmmV4Pool | CpmmPool | DlmmPool;
export type Dex = 'raydium' | 'meteora';

// ---------------------------------------------------------------------------------------------------------------
// Fast deterministic hashing (not crypto: this runs ~20 times per price evaluation).

function mix32(x: number): number {
  // murmur3 fmix32 finalizer.
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

export function hashString32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** Uniform in [-1, 1] from (key, level, cell); cell may exceed 2^32 so it is folded in as two words. */
function lattice(key: number, level: number, cell: number): number {
  const lo = cell >>> 0;
  const hi = Math.floor(cell / 4294967296) >>> 0;
  const h = mix32(mix32(mix32(key ^ Math.imul(level + 1, 0x9e3779b9)) ^ lo) ^ Math.imul(hi, 0x27d4eb2f));
  return h / 2147483647.5 - 1;
}

/**
 * Multi-scale value noise: sum over levels j of amp_j x smoothstep-interpolated lattice values with period 2^j
 * seconds (starting at periodScale). With amp_j proportional to sqrt(period_j) the increments scale like sqrt(dt) at every
 * horizon between the shortest and the longest period, i.e. a random walk, at O(levels) cost and with no memory.
 */
function valueNoise(key: number, tSec: number, levels: number, ampPerSqrtSec: number, periodScale = 1): number {
  let sum = 0;
  let period = periodScale;
  for (let j = 0; j < levels; j++) {
    const x = tSec / period;
    const cell = Math.floor(x);
    const f = x - cell;
    const s = f * f * (3 - 2 * f);
    const a = lattice(key, j, cell);
    const b = lattice(key, j, cell + 1);
    sum += ampPerSqrtSec * Math.sqrt(period) * (a + (b - a) * s);
    period *= 2;
  }
  return sum;
}

/** 17 levels, 1 s .. 2^16 s (~18 h): random-walk-like behaviour up to ~18 h (dex-realism.md §7.2 drift, assumption). */
const REFERENCE_LEVELS = 17;
/**
 * Converts a target volatility per sqrt(second) into the lattice amplitude (§7.2 σ assumption). Measured once over
 * 200k samples: std of log-returns / sqrt(dt) for valueNoise(amp=1) is 1.06 at dt = 1 s and ~1.26 from 10 s to 1 h
 * (0.77 at 0.4 s, where the finest level is still smooth), so amplitude = σ x 0.94 matches σ at the 1 s horizon.
 */
const NOISE_CALIBRATION = 0.94;

// ---------------------------------------------------------------------------------------------------------------
// Pair configuration (depths are modelling assumptions, dex-realism.md §7.2 / §5.2).

export interface RaydiumConfig {
  kind: 'raydium-amm-v4' | 'raydium-cpmm';
  poolId: string;
  /** Base-token reserve at the initial price; the quote reserve follows from the price (k is kept constant). */
  baseReserveUi: number;
  /** CPMM trade fee rate over 1e6 (dex-realism.md §1.3); ignored for AMM v4 (fixed 25/10000, §1.2). */
  tradeFeeRate?: bigint;
}

export interface MeteoraConfig {
  poolId: string;
  params: DlmmParams;
  /** Total value of the pool in UI units of the quote token. */
  tvlQuoteUi: number;
  /** Bins on each side of the active bin that hold liquidity (±100 for SOL/USDC, §7.2). */
  halfWidthBins: number;
  /** Standard deviation of the bell ("curve") distribution, in bins. */
  sigmaBins: number;
}

export interface PairConfig {
  id: string;
  base: string;
  quote: string;
  /** UI price (quote per base) at the start of the process. */
  initialPrice: number;
  /** Log-price volatility per sqrt(second). */
  volPerSqrtSec: number;
  /** Pairs sharing a process key share the same underlying move (SOL/USDC and SOL/USDT do not diverge). */
  processKey: string;
  raydium: RaydiumConfig;
  meteora: MeteoraConfig;
}

/** Pool accounts are base58 32-byte pubkeys (dex-realism.md §7.1); the mock ones are derived from a name. */
function mockPoolAddress(name: string): string {
  return bs58.encode(createHash('sha256').update(`mock-pool|${name}`).digest());
}

/** Venue lag behind the reference (arbitrage delay) and venue-specific noise: modelling assumptions (§7.2 "price drift"). */
export const VENUE_LAG_MS: Record<Dex, number> = { raydium: 2_000, meteora: 5_000 };
// dex-realism.md §7.2 (assumption): venue noise ~0.004%/sqrt(s), periods 2-32 s, small against the 0.1% DLMM bin step.
const VENUE_NOISE_PER_SQRT_SEC = 0.00004;
const VENUE_NOISE_LEVELS = 5;

/** SOL/USDC σ ≈ 0.03%/sqrt(s), inside the 0.02–0.05%/s band of dex-realism.md §7.2 (assumption). */
export const PAIRS: readonly PairConfig[] = Object.freeze([
  {
    id: 'SOL/USDC',
    base: 'SOL',
    quote: 'USDC',
    initialPrice: 150,
    volPerSqrtSec: 0.0003,
    processKey: 'SOL/USD',
    // dex-realism.md §7.2: 20,000 SOL / 3,000,000 USDC at P=150; the id is Raydium's real SOL/USDC AMM v4 pool (§5.2).
    raydium: { kind: 'raydium-amm-v4', poolId: '58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2', baseReserveUi: 20_000 },
    // dex-realism.md §7.2: binStep 10, ~$1.6M over ±100 bins, bell shape; §5.2 $1.63M TVL example.
    meteora: { poolId: mockPoolAddress('dlmm-SOL-USDC'), params: { ...DLMM_DEFAULT_PARAMS, binStep: 10 }, tvlQuoteUi: 1_600_000, halfWidthBins: 100, sigmaBins: 35 },
  },
  {
    id: 'SOL/USDT',
    base: 'SOL',
    quote: 'USDT',
    initialPrice: 150.05,
    volPerSqrtSec: 0.0003,
    processKey: 'SOL/USD',
    // Assumption: a thinner CPMM pool at the 0.25% config (dex-realism.md §1.3 AmmConfig[0]).
    raydium: { kind: 'raydium-cpmm', poolId: mockPoolAddress('cpmm-SOL-USDT'), baseReserveUi: 6_000, tradeFeeRate: CPMM_DEFAULT_CONFIG.tradeFeeRate },
    meteora: { poolId: mockPoolAddress('dlmm-SOL-USDT'), params: { ...DLMM_DEFAULT_PARAMS, binStep: 5, baseFactor: 20_000 }, tvlQuoteUi: 500_000, halfWidthBins: 100, sigmaBins: 35 },
  },
  {
    id: 'JUP/USDC',
    base: 'JUP',
    quote: 'USDC',
    initialPrice: 0.9,
    volPerSqrtSec: 0.0006,
    processKey: 'JUP/USD',
    raydium: { kind: 'raydium-amm-v4', poolId: mockPoolAddress('amm-JUP-USDC'), baseReserveUi: 2_000_000 },
    meteora: { poolId: mockPoolAddress('dlmm-JUP-USDC'), params: { ...DLMM_DEFAULT_PARAMS, binStep: 20 }, tvlQuoteUi: 400_000, halfWidthBins: 80, sigmaBins: 30 },
  },
  {
    id: 'BONK/USDC',
    base: 'BONK',
    quote: 'USDC',
    initialPrice: 0.00002,
    volPerSqrtSec: 0.0008,
    processKey: 'BONK/USD',
    // 1% CPMM tier for a volatile meme token (dex-realism.md §1.3 tiers 0.01/0.25/1%).
    raydium: { kind: 'raydium-cpmm', poolId: mockPoolAddress('cpmm-BONK-USDC'), baseReserveUi: 40_000_000_000, tradeFeeRate: 10_000n },
    meteora: { poolId: mockPoolAddress('dlmm-BONK-USDC'), params: { ...DLMM_DEFAULT_PARAMS, binStep: 50 }, tvlQuoteUi: 300_000, halfWidthBins: 60, sigmaBins: 20 },
  },
  {
    id: 'RAY/USDC',
    base: 'RAY',
    quote: 'USDC',
    initialPrice: 2.5,
    volPerSqrtSec: 0.0005,
    processKey: 'RAY/USD',
    raydium: { kind: 'raydium-amm-v4', poolId: mockPoolAddress('amm-RAY-USDC'), baseReserveUi: 400_000 },
    meteora: { poolId: mockPoolAddress('dlmm-RAY-USDC'), params: { ...DLMM_DEFAULT_PARAMS, binStep: 20 }, tvlQuoteUi: 200_000, halfWidthBins: 80, sigmaBins: 30 },
  },
]);

/** Finds the pool pair for an order in either direction: selling base gives quote (baseToQuote) and vice versa. */
const pairById = new Map(PAIRS.map((p) => [p.id, p]));

export function findPair(tokenIn: Token, tokenOut: Token): { pair: PairConfig; direction: 'baseToQuote' | 'quoteToBase' } | undefined {
  for (const pair of PAIRS) {
    if (pair.base === tokenIn.symbol && pair.quote === tokenOut.symbol) return { pair, direction: 'baseToQuote' };
    if (pair.quote === tokenIn.symbol && pair.base === tokenOut.symbol) return { pair, direction: 'quoteToBase' };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------

/** Pool state changes per slot on chain; caching by 400 ms slot keeps poolsAt cheap (dex-realism.md §4.2 slot time). */
export const MARKET_TICK_MS = 400;
// Not a market parameter: bounds memory (~10 minutes of slots for every pair).
const CACHE_LIMIT = 4096;
export const DEFAULT_MARKET_SEED = 'solana-mock-market-v1';

interface PreparedPair {
  config: PairConfig;
  baseToken: Token;
  quoteToken: Token;
  processHash: number;
  raydiumNoiseHash: number;
  meteoraNoiseHash: number;
  logP0Raw: number;
  /** Constant product in base units (float: deterministic, only the rounded reserves matter). */
  k: number;
  /** Quote-token value per bin offset -half..+half, base units, bell shaped. */
  binValues: bigint[];
  dlmmLogStep: number;
}

export interface PoolsSnapshot {
  pairId: string;
  tickMs: number;
  raydium: RaydiumPool;
  meteora: DlmmPool;
}

export class Market {
  readonly seed: string;
  private readonly prepared = new Map<string, PreparedPair>();
  private readonly cache = new Map<string, PoolsSnapshot>();

  constructor(seed: string = DEFAULT_MARKET_SEED) {
    this.seed = seed;
  }

  private prepare(pairId: string): PreparedPair | undefined {
    const hit = this.prepared.get(pairId);
    if (hit) return hit;
    const config = pairById.get(pairId);
    if (!config) return undefined;
    const baseToken = resolveToken(config.base);
    const quoteToken = resolveToken(config.quote);
    if (!baseToken || !quoteToken) throw new Error(`pair ${pairId} names an unknown token`);
    const rawScale = 10 ** (quoteToken.decimals - baseToken.decimals);
    const p0Raw = config.initialPrice * rawScale;
    const baseReserve = config.raydium.baseReserveUi * 10 ** baseToken.decimals;
    const m = config.meteora;
    const weights: number[] = [];
    let total = 0;
    for (let d = -m.halfWidthBins; d <= m.halfWidthBins; d++) {
      const w = Math.exp(-(d * d) / (2 * m.sigmaBins * m.sigmaBins));
      weights.push(w);
      total += w;
    }
    const tvlBase = m.tvlQuoteUi * 10 ** quoteToken.decimals;
    const prepared: PreparedPair = {
      config,
      baseToken,
      quoteToken,
      processHash: hashString32(`${this.seed}|ref|${config.processKey}`),
      raydiumNoiseHash: hashString32(`${this.seed}|venue|raydium|${pairId}`),
      meteoraNoiseHash: hashString32(`${this.seed}|venue|meteora|${pairId}`),
      logP0Raw: Math.log(p0Raw),
      k: baseReserve * baseReserve * p0Raw,
      binValues: weights.map((w) => BigInt(Math.floor((tvlBase * w) / total))),
      dlmmLogStep: Math.log(1 + m.params.binStep / 10_000),
    };
    this.prepared.set(pairId, prepared);
    return prepared;
  }

  private logRawPrice(p: PreparedPair, tMs: number): number {
    const tSec = tMs / 1000;
    const amp = p.config.volPerSqrtSec * NOISE_CALIBRATION;
    return p.logP0Raw + valueNoise(p.processHash, tSec, REFERENCE_LEVELS, amp);
  }

  /** Reference UI price (quote per base) at tMs: the "true" market every venue chases. */
  referencePrice(pairId: string, tMs: number): number {
    const p = this.prepare(pairId);
    if (!p) throw new Error(`unknown pair ${pairId}`);
    return Math.exp(this.logRawPrice(p, tMs)) * 10 ** (p.baseToken.decimals - p.quoteToken.decimals);
  }

  private venueLogRawPrice(p: PreparedPair, dex: Dex, tMs: number): number {
    const noiseKey = dex === 'raydium' ? p.raydiumNoiseHash : p.meteoraNoiseHash;
    const noise = valueNoise(noiseKey, tMs / 1000, VENUE_NOISE_LEVELS, VENUE_NOISE_PER_SQRT_SEC * NOISE_CALIBRATION, 2);
    return this.logRawPrice(p, tMs - VENUE_LAG_MS[dex]) + noise;
  }

  /** UI price a venue shows at tMs (lagged reference + venue noise). */
  venuePrice(pairId: string, dex: Dex, tMs: number): number {
    const p = this.prepare(pairId);
    if (!p) throw new Error(`unknown pair ${pairId}`);
    return Math.exp(this.venueLogRawPrice(p, dex, tMs)) * 10 ** (p.baseToken.decimals - p.quoteToken.decimals);
  }

  /** Every venue's pool for the pair at tMs (state of the slot containing tMs), or undefined for an unknown pair. */
  poolsAt(pairId: string, tMs: number): PoolsSnapshot | undefined {
    const tickMs = Math.floor(tMs / MARKET_TICK_MS) * MARKET_TICK_MS;
    const key = `${pairId}|${tickMs}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const p = this.prepare(pairId);
    if (!p) return undefined;
    const snapshot: PoolsSnapshot = {
      pairId,
      tickMs,
      raydium: this.raydiumAt(p, tickMs),
      meteora: this.meteoraAt(p, tickMs),
    };
    if (this.cache.size >= CACHE_LIMIT) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, snapshot);
    return snapshot;
  }

  private raydiumAt(p: PreparedPair, tickMs: number): RaydiumPool {
    // Arbitrage keeps k and moves reserves until reserveQuote/reserveBase equals the venue price.
    const price = Math.exp(this.venueLogRawPrice(p, 'raydium', tickMs));
    const baseReserve = BigInt(Math.round(Math.sqrt(p.k / price)));
    const quoteReserve = BigInt(Math.round(Math.sqrt(p.k * price)));
    const r = p.config.raydium;
    if (r.kind === 'raydium-amm-v4') {
      return { kind: 'raydium-amm-v4', id: r.poolId, coinReserve: baseReserve, pcReserve: quoteReserve, status: 6, openTime: 0 };
    }
    return {
      kind: 'raydium-cpmm',
      id: r.poolId,
      reserve0: baseReserve,
      reserve1: quoteReserve,
      tradeFeeRate: r.tradeFeeRate ?? CPMM_DEFAULT_CONFIG.tradeFeeRate,
      protocolFeeRate: CPMM_DEFAULT_CONFIG.protocolFeeRate,
      fundFeeRate: CPMM_DEFAULT_CONFIG.fundFeeRate,
      openTime: 0,
    };
  }

  private activeIdAt(p: PreparedPair, tMs: number): { id: number; frac: number } {
    const x = this.venueLogRawPrice(p, 'meteora', tMs) / p.dlmmLogStep;
    const id = Math.floor(x);
    return { id, frac: x - id };
  }

  private meteoraAt(p: PreparedPair, tickMs: number): DlmmPool {
    const m = p.config.meteora;
    const { id: activeId, frac } = this.activeIdAt(p, tickMs);
    const half = m.halfWidthBins;
    const width = 2 * half + 1;
    const binX = new Array<bigint>(width);
    const binY = new Array<bigint>(width);
    const binStep = m.params.binStep;
    for (let i = 0; i < width; i++) {
      const d = i - half;
      const value = p.binValues[i] as bigint;
      if (d < 0) {
        binX[i] = 0n;
        binY[i] = value;
      } else if (d > 0) {
        binX[i] = (value << 64n) / binPriceQ64(binStep, activeId + d);
        binY[i] = 0n;
      } else {
        // Where the price sits inside the active bin decides its mix: near the bottom it was just sold into (mostly X).
        const yShare = BigInt(Math.floor(frac * 1000));
        const y = (value * yShare) / 1000n;
        binY[i] = y;
        binX[i] = ((value - y) << 64n) / binPriceQ64(binStep, activeId);
      }
    }
    // Recent bin movement sets the volatility state: the reference index is where the price was one filter period ago.
    const previous = this.activeIdAt(p, tickMs - m.params.filterPeriod * 1000).id;
    const va = Math.min(Math.abs(previous - activeId) * 10_000, m.params.maxVolatilityAccumulator);
    return {
      kind: 'meteora-dlmm',
      id: m.poolId,
      params: m.params,
      activeId,
      minBinId: activeId - half,
      binX,
      binY,
      v: { volatilityAccumulator: va, volatilityReference: 0, indexReference: previous, lastUpdateTimestamp: Math.floor(tickMs / 1000) },
    };
  }
}

const markets = new Map<string, Market>();

/** One Market (and its pool cache) per seed, so records carrying their market seed re-price without re-preparing. */
export function marketFor(seed: string): Market {
  let m = markets.get(seed);
  if (!m) {
    m = new Market(seed);
    markets.set(seed, m);
  }
  return m;
}

let defaultMarket = marketFor(DEFAULT_MARKET_SEED);

export function getMarket(): Market {
  return defaultMarket;
}

/** The lead wires the configured seed here at cold start; all processes must use the same seed. */
export function setMarketSeed(seed: string): Market {
  if (seed !== defaultMarket.seed) defaultMarket = marketFor(seed);
  return defaultMarket;
}

export function referencePrice(pairId: string, tMs: number): number {
  return defaultMarket.referencePrice(pairId, tMs);
}

