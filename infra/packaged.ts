import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { execFile } from 'node:child_process';
import { dummyCredentialEnv, repoRoot } from './env';
import { readZip } from './zip';

/** What `serverless package --package <dir>` wrote for one function, read from the files `serverless deploy` uploads. */
export interface PackagedFunction {
  /** The key in serverless.yml `functions`. */
  key: string;
  /** The deployed function name. */
  name: string;
  /** `functions/<dir>/handler.handler`. */
  handler: string;
  /** The function's zip in the package directory. */
  artifact: string;
  artifactBytes: number;
  /** The function's environment as the CloudFormation template declares it (its literal values). */
  environment: Record<string, string>;
  /** Variables whose value CloudFormation computes at deploy time (Ref, Fn::Join ...): not in `environment`. */
  deployTimeEnvironment: string[];
  memorySize: number;
  timeout: number;
  /** Folders the function carries beside its handler's (serverless.yml `package.patterns`). */
  extraFolders: string[];
}

/**
 * The folders a function's zip may carry besides its own handler folder: what its `package.patterns` in
 * serverless.yml adds (the package state does not record patterns). tests/template/artifacts.test.ts checks the zips.
 */
const EXTRA_FOLDERS: Record<string, string[]> = { web: ['web/dist'] };

export const TEMPLATE_FILE = 'cloudformation-template-update-stack.json';
const STATE_FILE = 'serverless-state.json';

interface StateFunction {
  name: string;
  handler: string;
  package?: { artifact?: string };
}
interface TemplateFunction {
  Type: string;
  Properties: { FunctionName?: string; Handler?: string; MemorySize?: number; Timeout?: number; Environment?: { Variables?: Record<string, unknown> } };
}

/** The functions of a package directory; fails when the package is not per function (`package.individually`). */
export const packagedFunctions = (dir: string): PackagedFunction[] => {
  const state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as { service: { functions: Record<string, StateFunction> } };
  const template = JSON.parse(readFileSync(join(dir, TEMPLATE_FILE), 'utf8')) as { Resources: Record<string, TemplateFunction> };
  const byName = new Map(
    Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => [r.Properties.FunctionName, r.Properties]),
  );
  return Object.entries(state.service.functions).map(([key, fn]) => {
    const declared = fn.package?.artifact;
    if (!declared) throw new Error(`${dir}: function ${key} has no artifact of its own: is package.individually set?`);
    const artifact = join(dir, basename(declared));
    const properties = byName.get(fn.name);
    if (!properties) throw new Error(`${dir}: the template declares no function named ${fn.name}`);
    const environment: Record<string, string> = {};
    const deployTimeEnvironment: string[] = [];
    for (const [k, v] of Object.entries(properties.Environment?.Variables ?? {})) {
      if (typeof v === 'string') environment[k] = v;
      else deployTimeEnvironment.push(k);
    }
    return {
      key,
      name: fn.name,
      handler: properties.Handler ?? fn.handler,
      artifact,
      artifactBytes: statSync(artifact).size,
      environment,
      deployTimeEnvironment,
      memorySize: properties.MemorySize ?? 1024,
      timeout: properties.Timeout ?? 6,
      extraFolders: EXTRA_FOLDERS[key] ?? [],
    };
  });
};

/** The folder a handler's module lives in (`functions/connect` for `functions/connect/handler.handler`). */
export const handlerDir = (handler: string): string => posix.dirname(handler);

/** The module file of a handler in an unpacked artifact (`functions/connect/handler.mjs`). */
export const handlerModule = (handler: string, files: string[]): string => {
  const stem = handler.slice(0, handler.lastIndexOf('.'));
  const found = ['.mjs', '.js', '.cjs'].map((ext) => stem + ext).find((candidate) => files.includes(candidate));
  if (!found) throw new Error(`no module for handler ${handler} among ${files.join(', ')}`);
  return found;
};

export interface UnpackedFunction extends PackagedFunction {
  /** The archive's files and their unpacked sizes. */
  files: Array<{ name: string; bytes: number }>;
  /** Path of the handler's module under the unpack root. */
  module: string;
}

/**
 * Unpacks every function's zip into `root` (one tree: each zip holds only its own handler folder, which is checked,
 * so they cannot collide), as Lambda unpacks an artifact into /var/task. Returns what each held.
 */
export const unpackFunctions = (dir: string, root: string): UnpackedFunction[] => {
  rmSync(root, { recursive: true, force: true });
  const written = new Map<string, string>();
  return packagedFunctions(dir).map((fn) => {
    const entries = readZip(fn.artifact);
    const own = [handlerDir(fn.handler), ...fn.extraFolders].map((folder) => `${folder}/`);
    const foreign = entries.filter((e) => !own.some((folder) => e.name.startsWith(folder))).map((e) => e.name);
    if (foreign.length > 0) throw new Error(`${basename(fn.artifact)} carries files outside ${own.join(', ')}: ${foreign.join(', ')}`);
    for (const entry of entries) {
      const previous = written.get(entry.name);
      if (previous) throw new Error(`${entry.name} is in both ${previous} and ${basename(fn.artifact)}`);
      written.set(entry.name, basename(fn.artifact));
      const target = join(root, entry.name);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, entry.data);
    }
    const names = entries.map((e) => e.name);
    return { ...fn, files: entries.map((e) => ({ name: e.name, bytes: e.data.length })), module: handlerModule(fn.handler, names) };
  });
};

/** `serverless package --stage <stage> --package <dir>` (osls, no network, dummy credentials), as .ci/run runs it. */
export const packageService = (stage: string, dir: string): Promise<void> =>
  new Promise((resolveDone, reject) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'node_modules', '.bin', 'serverless'), 'package', '--stage', stage, '--package', dir],
      {
        cwd: repoRoot,
        env: { ...process.env, ...dummyCredentialEnv(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 300_000,
      },
      (err, stdout, stderr) => (err ? reject(new Error(`serverless package failed: ${err.message}\n${stdout}\n${stderr}`)) : resolveDone()),
    );
  });

/** Whether `dir` holds a package (its template). */
export const isPackageDir = (dir: string): boolean => existsSync(join(dir, TEMPLATE_FILE)) && existsSync(join(dir, STATE_FILE));

/**
 * The packaged mode of the embedded stack (infra/start.ts --packaged <dir>): the artifacts of `<dir>` (packaged first,
 * for `stage`, when it holds none) unpacked into a fresh directory for serverless-offline's `location`, so the Lambda
 * host imports the very bundles `serverless deploy` would upload instead of the TypeScript sources. The directory
 * holds no .ts file: a handler missing from the package fails to load rather than fall back to its source.
 */
export const unpackForOffline = async (dir: string, stage: string, into: string): Promise<UnpackedFunction[]> => {
  if (!isPackageDir(dir)) await packageService(stage, dir);
  return unpackFunctions(dir, into);
};
