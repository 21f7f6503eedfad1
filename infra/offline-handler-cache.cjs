/*
 * Required into serverless-offline's process (infra/offline.ts, `--require`) before serverless-offline loads.
 *
 * Its in-process runner calls the Lambda runtime's load() on every invocation (serverless-offline 14.8.2,
 * src/lambda/handler-runner/in-process-runner/InProcessRunner.js, run()): existsSync for each extension, a read of
 * package.json per directory up to the project's, and an import() whose resolution goes through tsx's loader
 * thread. AWS loads a function's handler once per execution environment and reuses it for every invocation
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html, "Init phase"); ESM's module cache
 * already made every later load() return the very same function, so remembering it per handler changes nothing but
 * the cost. Measured with a CPU profile of serverless-offline under `npm run bench -- --mode flood` (500 messages/s):
 * load() was 16 % of that process's CPU.
 *
 * The runtime's module is CommonJS and is imported by the runner (an ES module) after this file runs: the import
 * takes the exports of the module already in require's cache, so it gets the remembering load below.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- node --require loads this file as CommonJS, and the module it patches is CommonJS. */
/* global __dirname */
'use strict';

const { existsSync } = require('node:fs');
const { join } = require('node:path');

const userFunction = join(__dirname, '..', 'node_modules', 'serverless-offline', 'src', 'lambda', 'handler-runner', 'in-process-runner', 'aws-lambda-ric', 'UserFunction.js');

if (!existsSync(userFunction)) {
  // Another serverless-offline layout: the stack works as before, each invocation paying for its load.
  process.stderr.write(`offline-handler-cache: warning: ${userFunction} not found; handlers are loaded on every invocation\n`);
} else {
  const runtime = require(userFunction);
  const loadEveryTime = runtime.load;
  /** Handler string (with its root) -> the promise of its function. */
  const loaded = new Map();
  runtime.load = function loadOnce(appRoot, fullHandlerString) {
    const key = `${appRoot}\0${fullHandlerString}`;
    let handler = loaded.get(key);
    if (handler === undefined) {
      handler = loadEveryTime(appRoot, fullHandlerString);
      loaded.set(key, handler);
      // A handler that failed to load (a syntax error mid-edit, a missing export) is loaded again next time.
      handler.catch(() => loaded.delete(key));
    }
    return handler;
  };
}
