/** Small numeric helpers for the pipeline bench. */

export interface Dist {
  n: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** Nearest-rank percentile of an ascending array. */
const rank = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;

export const dist = (values: number[]): Dist => {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { n: 0, mean: null, p50: null, p95: null, p99: null, max: null };
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    n: v.length,
    mean: round(v.reduce((a, b) => a + b, 0) / v.length),
    p50: round(rank(v, 50)),
    p95: round(rank(v, 95)),
    p99: round(rank(v, 99)),
    max: round(v[v.length - 1] as number),
  };
};

export const fmt = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));

/** A left-aligned text table. */
export const table = (header: string[], rows: Array<Array<string | number>>): string => {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
};

/**
 * How many of `times` fall in each `intervalMs` from `originMs` (the first interval also takes any earlier time), up to
 * the last one: a burst's waves, e.g. how many orders an execution took up in each half second.
 */
export const perInterval = (times: number[], originMs: number, intervalMs: number): number[] => {
  const finite = times.filter((t) => Number.isFinite(t));
  if (!finite.length) return [];
  const counts = new Array<number>(Math.floor(Math.max(0, Math.max(...finite) - originMs) / intervalMs) + 1).fill(0);
  for (const t of finite) {
    const i = Math.floor(Math.max(0, t - originMs) / intervalMs);
    counts[i] = (counts[i] as number) + 1;
  }
  return counts;
};
