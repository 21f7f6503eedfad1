/**
 * Pool launches on the mock chain: what snipers watch for (PROTOCOL.md v2 `launches`, `mockLaunch`, `meta.pool`).
 *
 * Two sources, one shape (LaunchSpec, lib/venues/launched.ts):
 * - the schedule: a few launches per hour, a pure function of the seed and the clock (`scheduledLaunches`), so every
 *   Lambda computes the same ones with nothing stored;
 * - `mockLaunch` (test hooks): one made on demand, stored (MockLaunchStore: an item of the chain ledger table) so that
 *   every Lambda sees it, read through a short per-process cache.
 *
 * Each launch is announced (listed by `launches`), then created by a transaction shaped like the real one (Raydium
 * AMM v4 `initialize2`, Meteora DLMM `initialize_customizable_permissionless_lb_pair` emitting `LbPairCreate`), then
 * opens at its open time; a swap landing before that fails as the program refuses it (lib/chain/landing.ts).
 *
 * The accessors (LaunchBook; `ctx.launches` in the engine context):
 *   launches(): Promise<LaunchSpec[]>                                   announced, pool scheduled or created recently
 *   launchFor(symbolOrMint: string): Promise<LaunchSpec | undefined>     any launch announced in the last 24 h
 *   tokenFor(symbolOrMint: string): Promise<LaunchedToken | undefined>   the same, as a token carrying its pool
 *   poolCreatedFor(tokenIn: string, tokenOut: string): Promise<PoolCreation | undefined>
 *                                                                       the creation event, once the pool exists
 *   mockLaunch(request: MockLaunchRequest): Promise<LaunchSpec>          test hooks only (the caller checks)
 *   creationOf(launch: LaunchSpec, atMs?: number): PoolCreation | undefined
 *                                                                       no I/O: for a stored order, whose request
 *                                                                       carries its `launch` (lib/aws/orders-table.ts)
 * and, for a launch, `openAtMs(launch)`: the first instant a swap on its pool lands without the program refusing it.
 * and the pure helpers `scheduledLaunches(seed, fromMs, toMs)`, `poolCreationOf(seed, launch)`, `launchEntry(launch, nowMs)`.
 */
import { createHash } from 'node:crypto';
import bs58 from 'bs58';
import { RequestError } from '../errors';
import { formatFixed, resolveToken, type Token } from '../tokens';
import { initialAmounts, isCreatedAt, LAUNCH_DEXES, programOfLaunch, tokenOfLaunch, type LaunchedToken, type LaunchSpec } from '../venues/launched';
import { RAYDIUM_AMM_V4_PROGRAM_ID } from '../venues/types';
import { slotAt } from './clock';
import { rngFor } from './rng';

export type LaunchDex = (typeof LAUNCH_DEXES)[number];

// ---------------------------------------------------------------------------------------------------------------
// The schedule (modelling assumptions: counts, delays, prices and depths are chosen, not measured).

const HOUR_MS = 3_600_000;
/** 2 to 4 launches in every hour of the clock. */
const MIN_PER_HOUR = 2;
const EXTRA_PER_HOUR = 3;
/** Announced 1 to 5 minutes before the pool is created; the pool opens 30 s to 3 min after its creation. */
const CREATE_AFTER_ANNOUNCE_MS = { min: 60_000, spread: 240_000 };
const OPEN_AFTER_CREATE_S = { min: 30, spread: 151 };
/** `launches` keeps listing a launch this long after its pool was created. */
export const LISTED_AFTER_CREATION_MS = 30 * 60_000;
/** A launched token stays resolvable (orders on its pair accepted) this long after its announcement. */
export const RESOLVABLE_FOR_MS = 24 * HOUR_MS;
/** Reference SOL price used only to set a SOL-quoted launch's price and depth in SOL terms. */
const SOL_IN_USD = 150;

const CONSONANTS = 'BCDFGHKLMNPRSTVZ';
const VOWELS = 'AEIOU';

const address = (...parts: (string | number)[]): string => bs58.encode(createHash('sha256').update(parts.join('\u001f')).digest());

/** A decimal string with `significant` digits, never exponent notation. */
export const decimalOf = (value: number, significant = 6): string => {
  const exponent = Math.floor(Math.log10(value));
  const decimals = Math.min(20, Math.max(0, significant - 1 - exponent));
  const scaled = BigInt(Math.round(value * 10 ** decimals));
  return formatFixed(scaled, decimals);
};

function symbolFrom(rng: ReturnType<typeof rngFor>): string {
  let symbol = '';
  for (let i = 0; i < 2; i++) symbol += (CONSONANTS[rng.int(CONSONANTS.length)] as string) + (VOWELS[rng.int(VOWELS.length)] as string);
  return resolveToken(symbol) ? `${symbol}X` : symbol;
}

const hourCache = new Map<string, LaunchSpec[]>();
const HOUR_CACHE_LIMIT = 512;

/** The launches announced in one hour of the clock: a pure function of (seed, hour). */
export function launchesOfHour(seed: string, hour: number): LaunchSpec[] {
  const key = `${seed}|${hour}`;
  const hit = hourCache.get(key);
  if (hit) return hit;
  const rng = rngFor(seed, 'launch-schedule', hour);
  const count = MIN_PER_HOUR + rng.int(EXTRA_PER_HOUR);
  const launches: LaunchSpec[] = [];
  for (let i = 0; i < count; i++) {
    const announcedAtMs = hour * HOUR_MS + rng.int(HOUR_MS);
    const createdAtMs = announcedAtMs + CREATE_AFTER_ANNOUNCE_MS.min + rng.int(CREATE_AFTER_ANNOUNCE_MS.spread);
    const openTime = Math.ceil(createdAtMs / 1000) + OPEN_AFTER_CREATE_S.min + rng.int(OPEN_AFTER_CREATE_S.spread);
    const symbol = symbolFrom(rng);
    const dex: LaunchDex = rng.chance(0.5) ? 'raydium' : 'meteora';
    const quote = resolveToken(rng.chance(0.6) ? 'SOL' : 'USDC') as Token;
    const decimals = rng.chance(0.7) ? 6 : 9;
    // Price log-uniform between 0.00001 and 0.01 USD; the quote side holds 5,000 to 50,000 USD.
    const usdPrice = 10 ** (-5 + 3 * rng.next());
    const usdDepth = 5_000 + rng.int(45_000);
    const inQuote = quote.symbol === 'SOL' ? 1 / SOL_IN_USD : 1;
    const price = decimalOf(usdPrice * inQuote);
    launches.push({
      symbol,
      mint: address('launch-mint', seed, hour, i),
      decimals,
      dex,
      quoteToken: quote.symbol,
      poolId: address('launch-pool', seed, hour, i),
      announcedAtMs,
      createdAtMs,
      openTime,
      price,
      ...initialAmounts({ dex, price, decimals, quote, quoteDepthUi: usdDepth * inQuote }),
      source: 'schedule',
    });
  }
  if (hourCache.size >= HOUR_CACHE_LIMIT) hourCache.delete(hourCache.keys().next().value as string);
  hourCache.set(key, launches);
  return launches;
}

/** Scheduled launches announced in [fromMs, toMs), by announcement time. */
export function scheduledLaunches(seed: string, fromMs: number, toMs: number): LaunchSpec[] {
  const out: LaunchSpec[] = [];
  for (let hour = Math.floor(fromMs / HOUR_MS); hour * HOUR_MS < toMs; hour++) {
    for (const launch of launchesOfHour(seed, hour)) if (launch.announcedAtMs >= fromMs && launch.announcedAtMs < toMs) out.push(launch);
  }
  return out.sort((a, b) => a.announcedAtMs - b.announcedAtMs);
}

// ---------------------------------------------------------------------------------------------------------------
// The creation event

/** PROTOCOL.md v2 `meta.pool`, plus the instruction's arguments and the program's logs as an RPC client sees them. */
export interface PoolCreation {
  dex: LaunchDex;
  program: string;
  instruction: 'initialize2' | 'initialize_customizable_permissionless_lb_pair';
  /** Anchor event the DLMM instruction emits. */
  event?: { name: 'LbPairCreate'; lb_pair: string; bin_step: number; token_x: string; token_y: string };
  signature: string;
  slot: number;
  poolId: string;
  /** [launched token, quote token]: AMM v4 coin and pc mints, DLMM token_x and token_y. */
  mints: [string, string];
  /** ISO 8601: the AMM v4 open_time / DLMM activation_point (unix seconds). */
  openTime: string;
  args: Record<string, string | number | boolean>;
  logs: string[];
}

const u64le = (value: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return b;
};

/**
 * The `ray_log` of initialize2: bincode (little-endian, fixed width) of InitLog {log_type 0, time (= open_time),
 * pc_decimals, coin_decimals, pc_lot_size 0, coin_lot_size 0, pc_amount, coin_amount, market}, base64; per
 * raydium-io/raydium-amm program/src/log.rs (InitLog, encode_ray_log) and program/src/processor.rs process_initialize2.
 */
function rayInitLog(launch: LaunchSpec, quote: Token, market: string): string {
  const bytes = Buffer.concat([
    Buffer.from([0]),
    u64le(BigInt(launch.openTime)),
    Buffer.from([quote.decimals, launch.decimals]),
    u64le(0n),
    u64le(0n),
    u64le(BigInt(launch.quoteAmount)),
    u64le(BigInt(launch.baseAmount)),
    Buffer.from(bs58.decode(market)),
  ]);
  return bytes.toString('base64');
}

/**
 * Anchor's event log ("Program data: " + base64 of the 8-byte discriminator and the Borsh fields) of
 * LbPairCreate {lb_pair: pubkey, bin_step: u16, token_x: pubkey, token_y: pubkey}, discriminator and fields from
 * MeteoraAg/dlmm-sdk idls/dlmm.json (events, types).
 */
const LB_PAIR_CREATE_DISCRIMINATOR = [185, 74, 252, 125, 27, 215, 188, 111];
function lbPairCreateData(poolId: string, binStep: number, tokenX: string, tokenY: string): string {
  const step = Buffer.alloc(2);
  step.writeUInt16LE(binStep);
  return Buffer.concat([Buffer.from(LB_PAIR_CREATE_DISCRIMINATOR), Buffer.from(bs58.decode(poolId)), step, Buffer.from(bs58.decode(tokenX)), Buffer.from(bs58.decode(tokenY))]).toString(
    'base64',
  );
}

/** The transaction that created the launch's pool: a pure function of (seed, launch). */
export function poolCreationOf(seed: string, launch: LaunchSpec): PoolCreation {
  const quote = resolveToken(launch.quoteToken) as Token;
  const signature = bs58.encode(createHash('sha512').update(`pool-creation\u001f${seed}\u001f${launch.mint}\u001f${launch.createdAtMs}`).digest());
  const program = programOfLaunch(launch);
  const common = {
    dex: launch.dex,
    program,
    signature,
    slot: slotAt(launch.createdAtMs),
    poolId: launch.poolId,
    mints: [launch.mint, quote.mint] as [string, string],
    openTime: new Date(launch.openTime * 1000).toISOString(),
  };
  if (launch.dex === 'raydium') {
    // raydium-io/raydium-amm program/src/instruction.rs InitializeInstruction2 {nonce, open_time, init_pc_amount, init_coin_amount}.
    const nonce = 255 - (createHash('sha256').update(launch.poolId).digest()[0] as number) % 8;
    const args = { nonce, open_time: launch.openTime, init_pc_amount: launch.quoteAmount, init_coin_amount: launch.baseAmount };
    const market = address('launch-market', seed, launch.mint);
    return {
      ...common,
      instruction: 'initialize2',
      args,
      logs: [
        `Program ${RAYDIUM_AMM_V4_PROGRAM_ID} invoke [1]`,
        `Program log: initialize2: InitializeInstruction2 { nonce: ${nonce}, open_time: ${launch.openTime}, init_pc_amount: ${launch.quoteAmount}, init_coin_amount: ${launch.baseAmount} }`,
        `Program log: ray_log: ${rayInitLog(launch, quote, market)}`,
        `Program ${RAYDIUM_AMM_V4_PROGRAM_ID} success`,
      ],
    };
  }
  const binStep = launch.binStep ?? 0;
  // MeteoraAg/dlmm-sdk idls/dlmm.json CustomizableParams: activation_type 1 = timestamp, activation_point in its unit.
  const args = { active_id: launch.activeId ?? 0, bin_step: binStep, activation_type: 1, activation_point: launch.openTime, has_alpha_vault: false };
  return {
    ...common,
    instruction: 'initialize_customizable_permissionless_lb_pair',
    event: { name: 'LbPairCreate', lb_pair: launch.poolId, bin_step: binStep, token_x: launch.mint, token_y: quote.mint },
    args,
    logs: [
      `Program ${program} invoke [1]`,
      'Program log: Instruction: InitializeCustomizablePermissionlessLbPair',
      `Program data: ${lbPairCreateData(launch.poolId, binStep, launch.mint, quote.mint)}`,
      `Program ${program} success`,
    ],
  };
}

/**
 * The first instant a swap on the launch's pool is not refused: the program compares the clock's unix_timestamp (whole
 * seconds) with open_time / activation_point, so from openTime x 1000 ms on (the slot containing it included).
 */
export const openAtMs = (launch: Pick<LaunchSpec, 'openTime'>): number => launch.openTime * 1000;

/** PROTOCOL.md v2 `launches` entry. */
export interface LaunchEntry {
  symbol: string;
  mint: string;
  decimals: number;
  dex: LaunchDex;
  quoteToken: string;
  openTime: string;
  poolId: string | null;
}

export const launchEntry = (launch: LaunchSpec, nowMs: number): LaunchEntry => ({
  symbol: launch.symbol,
  mint: launch.mint,
  decimals: launch.decimals,
  dex: launch.dex,
  quoteToken: launch.quoteToken,
  openTime: new Date(launch.openTime * 1000).toISOString(),
  poolId: isCreatedAt(launch, nowMs) ? launch.poolId : null,
});

// ---------------------------------------------------------------------------------------------------------------
// Launches made on demand (test hooks), and the book that joins both sources.

export interface MockLaunchStore {
  /** false: a launch with this symbol (case-insensitive) is stored already; nothing written. */
  putIfAbsent(launch: LaunchSpec): Promise<boolean>;
  list(): Promise<LaunchSpec[]>;
}

export class InMemoryLaunchStore implements MockLaunchStore {
  private readonly launches = new Map<string, string>();

  async putIfAbsent(launch: LaunchSpec): Promise<boolean> {
    const key = launch.symbol.toUpperCase();
    if (this.launches.has(key)) return false;
    this.launches.set(key, JSON.stringify(launch));
    return true;
  }

  async list(): Promise<LaunchSpec[]> {
    return [...this.launches.values()].map((raw) => JSON.parse(raw) as LaunchSpec);
  }
}

export interface MockLaunchRequest {
  symbol: string;
  dex: LaunchDex;
  quoteToken: string;
  /** UI price, quote token per launched token (decimal string). */
  price: string;
  openInSeconds: number;
  /** Quote-token depth of the pool's quote side (UI units); default 10,000 USDC or 50 SOL. */
  liquidity?: string | undefined;
  /** Default 6. */
  decimals?: number | undefined;
}

const DEFAULT_DEPTH: Record<string, number> = { USDC: 10_000, SOL: 50 };
/** Re-read the stored launches at most this often when a name is not found (a launch made by another Lambda). */
const MISS_REFRESH_MS = 250;

export interface LaunchBookOptions {
  seed: string;
  store: MockLaunchStore;
  now?: () => number;
  /** How long a read of the stored launches is reused. */
  cacheMs?: number;
}

export class LaunchBook {
  private readonly seed: string;
  private readonly store: MockLaunchStore;
  private readonly now: () => number;
  private readonly cacheMs: number;
  private cached: { atMs: number; launches: Promise<LaunchSpec[]> } | undefined;

  constructor(opts: LaunchBookOptions) {
    this.seed = opts.seed;
    this.store = opts.store;
    this.now = opts.now ?? Date.now;
    this.cacheMs = opts.cacheMs ?? 1_000;
  }

  private stored(maxAgeMs = this.cacheMs): Promise<LaunchSpec[]> {
    const nowMs = this.now();
    if (!this.cached || nowMs - this.cached.atMs >= maxAgeMs) {
      const launches = this.store.list();
      this.cached = { atMs: nowMs, launches };
      // A failed read is not kept: the next call reads again.
      launches.catch(() => {
        if (this.cached?.launches === launches) this.cached = undefined;
      });
    }
    return this.cached.launches;
  }

  private async all(nowMs: number, maxAgeMs?: number): Promise<LaunchSpec[]> {
    const stored = (await this.stored(maxAgeMs)).filter((l) => l.announcedAtMs <= nowMs && l.announcedAtMs > nowMs - RESOLVABLE_FOR_MS);
    return [...stored, ...scheduledLaunches(this.seed, nowMs - RESOLVABLE_FOR_MS, nowMs + 1)];
  }

  /** Announced launches whose pool is scheduled or was created in the last LISTED_AFTER_CREATION_MS, by open time. */
  async launches(): Promise<LaunchSpec[]> {
    const nowMs = this.now();
    return (await this.all(nowMs)).filter((l) => l.createdAtMs > nowMs - LISTED_AFTER_CREATION_MS).sort((a, b) => a.openTime - b.openTime || a.symbol.localeCompare(b.symbol));
  }

  /** The launch a symbol (case-insensitive) or mint names; the latest announced wins a symbol shared over the day. */
  async launchFor(symbolOrMint: string): Promise<LaunchSpec | undefined> {
    const nowMs = this.now();
    const find = (launches: LaunchSpec[]) => {
      const upper = symbolOrMint.toUpperCase();
      let best: LaunchSpec | undefined;
      for (const l of launches) {
        if ((l.mint === symbolOrMint || l.symbol.toUpperCase() === upper) && (!best || l.announcedAtMs > best.announcedAtMs)) best = l;
      }
      return best;
    };
    return find(await this.all(nowMs)) ?? find(await this.all(nowMs, MISS_REFRESH_MS));
  }

  async tokenFor(symbolOrMint: string): Promise<LaunchedToken | undefined> {
    const launch = await this.launchFor(symbolOrMint);
    return launch ? tokenOfLaunch(launch) : undefined;
  }

  /** The creation event of the pool trading tokenIn against tokenOut (symbols or mints), once it exists. */
  async poolCreatedFor(tokenIn: string, tokenOut: string): Promise<PoolCreation | undefined> {
    const nowMs = this.now();
    for (const [launched, other] of [
      [tokenOut, tokenIn],
      [tokenIn, tokenOut],
    ] as const) {
      if (resolveToken(launched)) continue;
      const launch = await this.launchFor(launched);
      const quote = resolveToken(other);
      if (launch && quote && quote.symbol === launch.quoteToken && isCreatedAt(launch, nowMs)) return poolCreationOf(this.seed, launch);
    }
    return undefined;
  }

  /** The creation event of a launch's pool if it exists at atMs (default now): pure, for orders that carry their launch. */
  creationOf(launch: LaunchSpec, atMs: number = this.now()): PoolCreation | undefined {
    return isCreatedAt(launch, atMs) ? poolCreationOf(this.seed, launch) : undefined;
  }

  /** A launch now: announced and its pool created at once, opening `openInSeconds` later. */
  async mockLaunch(request: MockLaunchRequest): Promise<LaunchSpec> {
    const nowMs = this.now();
    const quote = resolveToken(request.quoteToken);
    if (!quote || !(quote.symbol in DEFAULT_DEPTH)) {
      throw new RequestError('VALIDATION_FAILED', 'quoteToken: must be USDC or SOL', [{ path: 'quoteToken', message: 'must be USDC or SOL' }]);
    }
    if (resolveToken(request.symbol) || (await this.launchFor(request.symbol))) {
      throw new RequestError('VALIDATION_FAILED', `symbol: ${request.symbol} is already a token or a launch`, [{ path: 'symbol', message: 'already a token or a launch' }]);
    }
    const decimals = request.decimals ?? 6;
    const depth = request.liquidity !== undefined ? Number(request.liquidity) : (DEFAULT_DEPTH[quote.symbol] as number);
    const launch: LaunchSpec = {
      symbol: request.symbol,
      mint: address('mock-launch-mint', this.seed, request.symbol.toUpperCase(), nowMs),
      decimals,
      dex: request.dex,
      quoteToken: quote.symbol,
      poolId: address('mock-launch-pool', this.seed, request.symbol.toUpperCase(), nowMs),
      announcedAtMs: nowMs,
      createdAtMs: nowMs,
      openTime: Math.ceil((nowMs + request.openInSeconds * 1000) / 1000),
      price: request.price,
      ...initialAmounts({ dex: request.dex, price: request.price, decimals, quote, quoteDepthUi: depth }),
      source: 'mockLaunch',
    };
    if (!(await this.store.putIfAbsent(launch))) {
      throw new RequestError('VALIDATION_FAILED', `symbol: ${request.symbol} is already a launch`, [{ path: 'symbol', message: 'already a launch' }]);
    }
    // This process sees its own launch at once; others within their cache time.
    this.cached = undefined;
    return launch;
  }
}
