/**
 * Routing throughput on one core: quotes from both venues + the 10%-step split search + formatting, for SOL/USDC.
 * Run: npm run bench:routing
 */
import { performance } from 'node:perf_hooks';
import { parseUiAmount, resolveToken, type Token } from '../lib/tokens';
import { routeOrder } from '../lib/routing';
import type { OrderSpec } from '../lib/venues/route';
import { Market } from '../lib/venues/market';
import { quote as dlmmQuote, type DlmmPool } from '../lib/venues/meteora-dlmm';

const SOL = resolveToken('SOL') as Token;
const USDC = resolveToken('USDC') as Token;
const T0 = Date.UTC(2026, 10, 25, 12);
const MIN_MS = 1_000;

function measure(fn: (i: number) => void): { opsPerSec: number; usPerOp: number } {
  for (let i = 0; i < 2_000; i++) fn(i); // warm-up (JIT, pool cache)
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_MS) {
    for (let j = 0; j < 1_000; j++) fn(n++);
    elapsed = performance.now() - start;
  }
  return { opsPerSec: (n / elapsed) * 1000, usPerOp: (elapsed * 1000) / n };
}

const rows: { case: string; 'ops/s': string; 'µs/op': string }[] = [];
const add = (name: string, r: { opsPerSec: number; usPerOp: number }): void => {
  rows.push({ case: name, 'ops/s': Math.round(r.opsPerSec).toLocaleString('en-US'), 'µs/op': r.usPerOp.toFixed(2) });
};

const market = new Market('bench');
for (const ui of ['1', '100', '10000']) {
  const buy: OrderSpec = { side: 'buy', tokenIn: USDC, tokenOut: SOL, amountIn: parseUiAmount(ui, USDC), slippageBps: 100 };
  // Same slot: the pool snapshot is cached, as for a burst of orders in one 400 ms slot.
  add(`route buy ${ui} USDC->SOL (same slot)`, measure(() => routeOrder(buy, T0, market)));
  // A new slot every 64 orders: includes rebuilding pool snapshots (201 DLMM bins) as the market moves.
  add(`route buy ${ui} USDC->SOL (new slot / 64 orders)`, measure((i) => routeOrder(buy, T0 + Math.floor(i / 64) * 400, market)));
}
const sell: OrderSpec = { side: 'sell', tokenIn: SOL, tokenOut: USDC, amountIn: parseUiAmount('66.5', SOL), slippageBps: 100 };
add('route sell 66.5 SOL->USDC (same slot)', measure(() => routeOrder(sell, T0, market)));
add('pool snapshot build (cache miss)', measure((i) => market.poolsAt('SOL/USDC', T0 + 10_000_000 + i * 400)));

// A 100-bin DLMM walk: a pool with 1 unit of value per bin so a large swap must cross exactly 100 bins.
const snap = market.poolsAt('SOL/USDC', T0);
if (!snap) throw new Error('no SOL/USDC pool');
const pool: DlmmPool = snap.meteora;
// Smallest input that reaches the 100th bin (binary search over the walk), so the walk crosses exactly 100 bins.
const nowSec = Math.floor(T0 / 1000);
const binsFor = (amount: bigint): number => {
  try {
    return dlmmQuote(pool, amount, 'baseToQuote', nowSec).fills.length;
  } catch {
    return Infinity;
  }
};
let lo = 1n;
let hi = 10n ** 18n;
while (lo < hi) {
  const mid = (lo + hi) / 2n;
  if (binsFor(mid) >= 100) hi = mid;
  else lo = mid + 1n;
}
const walkIn = lo;
const probe = dlmmQuote(pool, walkIn, 'baseToQuote', Math.floor(T0 / 1000));
add(`DLMM walk, ${probe.fills.length} bins (SOL->USDC ${(Number(walkIn) / 1e9).toFixed(0)} SOL)`, measure(() => dlmmQuote(pool, walkIn, 'baseToQuote', Math.floor(T0 / 1000))));

console.log(`node ${process.version}, single thread, ${MIN_MS} ms per case`);
console.table(rows);
