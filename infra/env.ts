import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (infra/..). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Dummy credentials for the emulators (embedded-stack.md P18): serverless-offline injects none and the SDK would
 * otherwise throw CredentialsProviderError. Never real keys.
 */
export const dummyCredentials = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export const dummyCredentialEnv = (): Record<string, string> => ({
  AWS_ACCESS_KEY_ID: dummyCredentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: dummyCredentials.secretAccessKey,
});

export interface Ports {
  /** The WebSocket edge clients connect to (infra/ws-edge.ts). */
  ws: number;
  /** serverless-offline's own WebSocket and Management API port, behind the edge. */
  offlineWs: number;
  http: number;
  lambda: number;
  sqs: number;
  dynamodb: number;
}

const intFromEnv = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got '${raw}'`);
  return n;
};

/** Ports from env (serverless.yml reads HTTP_PORT, LAMBDA_PORT and OFFLINE_WS_PORT through ${env:...}). */
export const portsFromEnv = (env: NodeJS.ProcessEnv = process.env): Ports => ({
  ws: intFromEnv(env, 'WS_PORT', 3001),
  offlineWs: intFromEnv(env, 'OFFLINE_WS_PORT', 3003),
  http: intFromEnv(env, 'HTTP_PORT', 3000),
  lambda: intFromEnv(env, 'LAMBDA_PORT', 3002),
  sqs: intFromEnv(env, 'SQS_PORT', 9324),
  dynamodb: intFromEnv(env, 'DYNAMODB_PORT', 8000),
});

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves true once host:port accepts a TCP connection, false after timeoutMs. */
export const waitForTcp = async (port: number, timeoutMs: number, host = '127.0.0.1'): Promise<boolean> => {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((r) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        r(true);
      });
      socket.once('error', () => {
        socket.destroy();
        r(false);
      });
    });
    if (ok) return true;
    await sleep(50);
  }
  return false;
};
