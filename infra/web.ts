import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { PAIRS } from '../lib/venues/market';
import { repoRoot } from './env';
import { buildAsyncApi } from './asyncapi';
import { buildOpenApi } from './openapi';

/**
 * Builds the web order ticket (web/index.html and web/ticket.ts, which bundles the client SDK) into `outDir`:
 * `index.html` and `ticket.js`, what functions/web serves, and the contracts: `asyncapi.json` (WebSocket API) and
 * `openapi.json` (HTTP API). The
 * engine's pairs are written into the bundle from lib/venues/market.ts (that module hashes with node:crypto, so the
 * page cannot import it).
 */
export const buildWebTicket = async (outDir: string): Promise<void> => {
  await mkdir(outDir, { recursive: true });
  await Promise.all([
    build({
      entryPoints: [join(repoRoot, 'web', 'ticket.ts')],
      outfile: join(outDir, 'ticket.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      sourcemap: false,
      // The SDK's Node default; the page passes the browser's WebSocket, so it is never loaded.
      external: ['ws'],
      define: { __ENGINE_PAIRS__: JSON.stringify(PAIRS.map((pair) => ({ base: pair.base, quote: pair.quote }))) },
      logLevel: 'silent',
    }),
    copyFile(join(repoRoot, 'web', 'index.html'), join(outDir, 'index.html')),
    writeFile(join(outDir, 'asyncapi.json'), `${JSON.stringify(buildAsyncApi(), null, 2)}\n`),
    writeFile(join(outDir, 'openapi.json'), `${JSON.stringify(buildOpenApi(), null, 2)}\n`),
  ]);
};

// `node --import tsx infra/web.ts <dir>`: build once (for a look at the page without a stack, or for packaging).
if (import.meta.url === `file://${process.argv[1]}`) {
  await buildWebTicket(process.argv[2] ?? join(repoRoot, 'web', 'dist'));
}
