/**
 * The priority-fee trade-off (issue 12): one burst of N market orders per policy, each on a fresh embedded stack with
 * the congested chain, and a table of what each policy bought: landing p50/p99, expiries, end-to-end p99, and the
 * mean fee paid per order.
 *
 *   npm run bench:fees -- [--orders 100] [--connections 20] [--profile congested]
 *
 * Policies: `none` (priorityFee "none"), `auto p50` and `auto p75` (priorityFee "auto" with PRIORITY_FEE_PERCENTILE
 * 50 / 75), `max` ("auto" at the 100th percentile: the highest recent fee, still under PRIORITY_FEE_MAX_LAMPORTS).
 * Each run is `npm run bench -- --mode burst` (bench/pipeline.ts) in a child process; its results file is read back.
 * Everything talks to 127.0.0.1 and stops by itself.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: { orders: { type: 'string' }, connections: { type: 'string' }, profile: { type: 'string' } },
  strict: true,
});
const orders = Number(args.orders ?? 100);
const connections = Number(args.connections ?? 20);
const profile = args.profile ?? 'congested';

interface Policy {
  name: string;
  env: Record<string, string>;
}
const POLICIES: Policy[] = [
  { name: 'none', env: { BENCH_PRIORITY_FEE: 'none' } },
  { name: 'auto p50', env: { BENCH_PRIORITY_FEE: 'auto', PRIORITY_FEE_PERCENTILE: '50' } },
  { name: 'auto p75', env: { BENCH_PRIORITY_FEE: 'auto', PRIORITY_FEE_PERCENTILE: '75' } },
  { name: 'max', env: { BENCH_PRIORITY_FEE: 'auto', PRIORITY_FEE_PERCENTILE: '100' } },
];

interface Dist {
  p50: number | null;
  p99: number | null;
}
interface Outcomes {
  sent: number;
  terminal: number;
  confirmed: number;
  failed: Record<string, number>;
  e2eMs: Dist;
  landingMs: Dist;
  expiredAttempts: number;
  meanFeesLamports: number | null;
  lastTerminalMs: number | null;
}

const runBurst = (policy: Policy): Promise<Outcomes> =>
  new Promise((resolve, reject) => {
    const argv = ['--import', 'tsx', 'bench/pipeline.ts', '--mode', 'burst', '--profile', profile, '--orders', String(orders), '--connections', String(connections), '--warmup', '1'];
    process.stdout.write(`\n--- ${policy.name}: npm run bench -- ${argv.slice(3).join(' ')} (${Object.entries(policy.env).map(([k, v]) => `${k}=${v}`).join(' ')})\n`);
    const child = spawn(process.execPath, argv, { cwd: repoRoot, env: { ...process.env, ...policy.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const file = /results: (\S+\.json)/.exec(output)?.[1];
      if (code !== 0 || !file) return reject(new Error(`${policy.name}: bench exited ${code} without a results file`));
      const results = JSON.parse(readFileSync(file, 'utf8')) as { runs: Array<{ result: { outcomes: Outcomes } }> };
      const outcomes = results.runs[0]?.result.outcomes;
      if (!outcomes) return reject(new Error(`${policy.name}: no burst in ${file}`));
      resolve(outcomes);
    });
  });

const ms = (value: number | null): string => (value === null ? '-' : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);

const main = async (): Promise<void> => {
  const rows: string[][] = [];
  for (const policy of POLICIES) {
    const o = await runBurst(policy);
    const failed = Object.entries(o.failed).map(([code, n]) => `${code} ${n}`).join(', ');
    rows.push([
      policy.name,
      `${o.confirmed} of ${o.sent}${failed ? ` (failed: ${failed})` : ''}`,
      ms(o.landingMs.p50),
      ms(o.landingMs.p99),
      String(o.expiredAttempts),
      ms(o.e2eMs.p99),
      o.meanFeesLamports === null ? '-' : String(o.meanFeesLamports),
    ]);
  }
  const header = ['policy', 'confirmed', 'landing p50', 'landing p99', 'expired attempts', 'e2e p99', 'mean fee paid (lamports)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  process.stdout.write(
    `\n=== priority-fee policies, profile ${profile}, ${orders} orders at once over ${connections} connections (landing: first submitted -> terminal)\n` +
      `${[line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')}\n`,
  );
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
