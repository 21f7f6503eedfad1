import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

/*
 * infra/offline-handler-cache.cjs, as serverless-offline's process runs it: required first, then the Lambda runtime's
 * load() that serverless-offline's in-process runner calls on every invocation.
 */
const require = createRequire(import.meta.url);
const fs = require('node:fs') as typeof import('node:fs');
require('../../infra/offline-handler-cache.cjs');
const runtime = require('../../node_modules/serverless-offline/src/lambda/handler-runner/in-process-runner/aws-lambda-ric/UserFunction.js') as {
  load: (appRoot: string, handler: string) => Promise<(event: unknown) => unknown>;
};

const appRoot = mkdtempSync(join(tmpdir(), 'offline-handler-cache-'));
afterAll(() => rmSync(appRoot, { recursive: true, force: true }));

describe("serverless-offline's handler load, remembered per handler", () => {
  it('a second invocation gets the same function without looking at the filesystem again', async () => {
    writeFileSync(join(appRoot, 'echo.mjs'), 'export const handler = (event) => ({ echoed: event });\n');
    const first = await runtime.load(appRoot, 'echo.handler');
    expect(first({ n: 1 })).toEqual({ echoed: { n: 1 } });
    const looks = vi.spyOn(fs, 'existsSync');
    try {
      const second = await runtime.load(appRoot, 'echo.handler');
      expect(second).toBe(first);
      expect(looks).not.toHaveBeenCalled();
    } finally {
      looks.mockRestore();
    }
  });

  it('each handler string is its own entry', async () => {
    writeFileSync(join(appRoot, 'two.mjs'), 'export const one = () => 1;\nexport const two = () => 2;\n');
    const [one, two] = await Promise.all([runtime.load(appRoot, 'two.one'), runtime.load(appRoot, 'two.two')]);
    expect([one(undefined), two(undefined)]).toEqual([1, 2]);
  });

  it('a handler that failed to load is loaded again on the next invocation', async () => {
    await expect(runtime.load(appRoot, 'later.handler')).rejects.toThrow();
    writeFileSync(join(appRoot, 'later.mjs'), 'export const handler = () => "here now";\n');
    const handler = await runtime.load(appRoot, 'later.handler');
    expect(handler(undefined)).toBe('here now');
  });
});
