import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { dummyCredentialEnv, repoRoot } from './env';

/** The parts of `serverless print --format json` the local runtime uses. */
export type CfnValue = unknown;

export interface CfnResource {
  Type: string;
  Properties?: Record<string, CfnValue>;
  DependsOn?: string | string[];
}

export interface SqsEventConfig {
  arn: CfnValue;
  batchSize?: number | string;
  functionResponseType?: string;
  maximumConcurrency?: number | string;
  maximumBatchingWindow?: number | string;
  enabled?: boolean;
}

export interface FunctionConfig {
  handler: string;
  name: string;
  timeout?: number;
  reservedConcurrency?: number | string;
  events?: Array<{ sqs?: SqsEventConfig | string; websocket?: unknown; [k: string]: unknown }>;
  [k: string]: unknown;
}

export interface ServerlessConfig {
  service: string;
  provider: {
    name: string;
    stage: string;
    region: string;
    environment?: Record<string, string>;
    [k: string]: unknown;
  };
  custom?: Record<string, unknown>;
  functions: Record<string, FunctionConfig>;
  resources?: { Resources?: Record<string, CfnResource> };
}

/**
 * Runs `serverless print --format json` (osls, no network, dummy credentials). This is the only source of table,
 * queue and function definitions for the local runtime.
 */
export const loadServerlessConfig = ({
  stage,
  env = {},
}: {
  stage: string;
  env?: Record<string, string | undefined>;
}): Promise<ServerlessConfig> =>
  new Promise((resolveConfig, reject) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'node_modules', '.bin', 'serverless'), 'print', '--format', 'json', '--stage', stage],
      {
        cwd: repoRoot,
        env: { ...process.env, ...dummyCredentialEnv(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
        maxBuffer: 32 * 1024 * 1024,
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`serverless print failed: ${err.message}\n${stderr}`));
          return;
        }
        try {
          resolveConfig(JSON.parse(stdout) as ServerlessConfig);
        } catch (parseErr) {
          reject(new Error(`serverless print returned no JSON: ${String(parseErr)}\n${stdout.slice(0, 500)}\n${stderr}`));
        }
      },
    );
  });
