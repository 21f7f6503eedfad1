import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '../../infra/env';
import { PACKAGED_STAGE, TEMPLATE_FILE } from './support/packaged';

const packageInto = (dir: string): Promise<void> =>
  new Promise((done, fail) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'node_modules', '.bin', 'serverless'), 'package', '--stage', PACKAGED_STAGE, '--package', dir],
      { cwd: repoRoot, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? fail(new Error(`serverless package failed: ${err.message}\n${stdout}\n${stderr}`)) : done()),
    );
  });

/**
 * The packaged template: `.serverless-ci/` when PACKAGED_TEMPLATE_DIR names it (.ci/run packages once for cfn-lint and
 * for these tests), otherwise a fresh `serverless package` into a temporary directory, removed afterwards. Test files
 * read it through `inject('packagedTemplate')` (tests/template/support/template.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuse = process.env.PACKAGED_TEMPLATE_DIR;
  if (reuse) {
    const dir = resolve(repoRoot, reuse);
    if (!existsSync(join(dir, TEMPLATE_FILE))) throw new Error(`PACKAGED_TEMPLATE_DIR=${reuse} holds no ${TEMPLATE_FILE}`);
    project.provide('packagedTemplate', { dir, stage: PACKAGED_STAGE });
    return async () => {};
  }
  const dir = await mkdtemp(join(tmpdir(), 'soe-template-'));
  try {
    await packageInto(dir);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  project.provide('packagedTemplate', { dir, stage: PACKAGED_STAGE });
  return () => rm(dir, { recursive: true, force: true });
}
