import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { handlerDir, packagedFunctions } from '../../infra/packaged';
import { readZip } from '../../infra/zip';
import { loadTemplate, ofType } from './support/template';

/** The deployment artifacts beside the template: one zip per function, each with only its own code. */
describe('function artifacts', () => {
  const { dir } = inject('packagedTemplate');
  const functions = packagedFunctions(dir);

  it('every function deploys a zip of its own (package.individually)', () => {
    const { template } = loadTemplate();
    const keys = ofType(template, 'AWS::Lambda::Function').map(([, r]) => basename(String((r.Properties?.Code as { S3Key: unknown }).S3Key)));
    expect(keys.length).toBe(functions.length);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(functions.map((fn) => basename(fn.artifact)).sort());
  });

  it.each(functions.map((fn) => [fn.key, fn] as const))('%s carries only its handler: one minified ES module bundle and its source map', (_key, fn) => {
    // The web function also carries the files it serves (web/dist, built before packaging); nothing else does.
    const all = readZip(fn.artifact);
    const assets = all.filter((e) => e.name.startsWith('web/dist/')).map((e) => e.name).sort();
    expect(assets).toEqual(fn.key === 'web' ? ['web/dist/asyncapi.json', 'web/dist/index.html', 'web/dist/openapi.json', 'web/dist/ticket.js'] : []);
    expect(fn.extraFolders).toEqual(fn.key === 'web' ? ['web/dist'] : []);
    const entries = all.filter((e) => !e.name.startsWith('web/dist/'));
    const stem = fn.handler.slice(0, fn.handler.lastIndexOf('.'));
    expect(entries.map((e) => e.name).sort()).toEqual([`${stem}.mjs`, `${stem}.mjs.map`]);
    expect(entries.every((e) => e.name.startsWith(`${handlerDir(fn.handler)}/`))).toBe(true);
    const bundle = (entries.find((e) => e.name === `${stem}.mjs`)?.data ?? Buffer.alloc(0)).toString('utf8');
    // Linked, not inlined: the bundle names its map, which holds positions and names but not the sources.
    expect(bundle.trimEnd().endsWith(`//# sourceMappingURL=${basename(stem)}.mjs.map`)).toBe(true);
    const map = JSON.parse((entries.find((e) => e.name === `${stem}.mjs.map`)?.data ?? Buffer.alloc(0)).toString('utf8')) as { sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
    // Minified: a readable bundle has a line per statement, this one a handful of very long ones.
    const lines = bundle.split('\n');
    expect(bundle.length / lines.length).toBeGreaterThan(2_000);
    // Stack traces read from the map on Lambda.
    expect(fn.environment.NODE_OPTIONS).toContain('--enable-source-maps');
  });
});
