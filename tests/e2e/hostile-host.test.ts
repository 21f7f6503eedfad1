import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { OrderFrame } from '../../lib/notify/frames';
import { spawnStack, type RunningStack } from './support/spawn-stack';
import { TestClient } from './support/ws-client';
import { connectionRow, e2e, useStack } from './support/stack';
import { isLoopback, listeningSocketsOf } from './support/listening-sockets';

/*
 * The embedded host against clients that would take it down for everyone, on a stack of its own with a small send
 * buffer per client at the edge (64 KB). Bounded: at most 16 MB of frames to one client, on 127.0.0.1.
 */
const SEND_BUFFER_BYTES = 64 * 1024;
let running: RunningStack;
const stderr: string[] = [];

beforeAll(async () => {
  running = await spawnStack(
    'hostile',
    { EDGE_SEND_BUFFER_BYTES: String(SEND_BUFFER_BYTES) },
    { onStderrLine: (line) => stderr.push(line) },
  );
  useStack(running.stack);
}, 90_000);

afterAll(async () => {
  useStack(undefined);
  await running?.stop();
}, 60_000);

const stackPids = (): number[] => {
  const state = running.process.readState();
  return [state.pid, state.offlinePid, state.dynamoPid].filter((pid): pid is number => typeof pid === 'number');
};

/** The Management API, on serverless-offline's own port behind the edge, as the routes reach it. */
const postToConnection = async (connectionId: string, body: string): Promise<number> => {
  const state = JSON.parse(readFileSync(e2e().stateFile, 'utf8')) as { ports: { offlineWs: number } };
  const response = await fetch(`http://127.0.0.1:${state.ports.offlineWs}/@connections/${encodeURIComponent(connectionId)}`, { method: 'POST', body });
  return response.status;
};

describe('a client that stops reading', () => {
  /*
   * Large answers to a client that reads nothing (the report: 30 KB messages answered by 60 KB frames filled the
   * host's heap after about 1,700 of them). The frames are posted the way a route posts them, 64 KB each, up to
   * 16 MB in all: past the kernel's socket buffers (up to 4 MB on the sending side here) they wait in the edge.
   */
  it('is cut off at its send buffer; the Lambda host survives and another account is served meanwhile', async () => {
    const offlinePidBefore = running.process.readState().offlinePid as number;
    const slow = new WebSocket(`${e2e().wsUrl}?apiKey=${encodeURIComponent(e2e().keys.alice as string)}`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      slow.once('open', () => resolve());
      slow.once('error', reject);
    });
    slow.pause(); // reads nothing from now on
    let closed = false;
    slow.once('close', () => (closed = true));
    slow.on('error', () => undefined);
    const [row] = await connectionRow((item) => item.owner === 'alice');
    const connectionId = row?.connectionId as string;
    expect(connectionId).toBeTruthy();

    const victim = await TestClient.connect(e2e().wsUrl, e2e().keys.bob);
    const clientOrderId = `victim-${Date.now()}`;
    victim.send({ action: 'execute', side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amount: '5', clientOrderId });

    const largeAnswer = JSON.stringify({ type: 'error', code: 'VALIDATION_FAILED', message: 'x'.repeat(64 * 1024) });
    const cutLine = (): boolean => stderr.some((line) => line.includes('cut a client that stopped reading'));
    let posted = 0;
    while (!cutLine() && posted < 256) {
      const status = await postToConnection(connectionId, largeAnswer);
      if (status === 410) break; // gone: cut, and the line is on its way
      expect(status).toBe(204);
      posted++;
    }
    const deadline = Date.now() + 10_000;
    while (!cutLine() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stderr.filter((line) => line.includes('cut a client that stopped reading'))).toHaveLength(1);
    expect(posted).toBeGreaterThan(16); // more than the edge's bound got through to the kernel before the cut

    const pending = (await victim.next((f) => f.clientOrderId === clientOrderId)) as unknown as OrderFrame;
    expect((await victim.orderFrames(pending.orderId)).at(-1)?.status).toBe('confirmed');
    slow.resume();
    const closeDeadline = Date.now() + 10_000;
    while (!closed && Date.now() < closeDeadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(true);
    // The connection is gone for the engine too: posting to it is now 410 Gone.
    expect(await postToConnection(connectionId, '{}')).toBe(410);
    expect(running.process.readState().offlinePid).toBe(offlinePidBefore);
    process.kill(offlinePidBefore, 0); // the same process, still alive
    await victim.close();
  }, 90_000);
});

describe('what the stack exposes', () => {
  it('listens on loopback only: the WebSocket edge, serverless-offline, the Lambda port and DynamoDB Local', () => {
    const sockets = listeningSocketsOf(stackPids());
    const ports = new Set(sockets.map((socket) => socket.port));
    // Every port the stack serves is found (the HTTP port only listens once serverless.yml declares HTTP events).
    const state = JSON.parse(readFileSync(e2e().stateFile, 'utf8')) as { ports: Record<string, number> };
    for (const name of ['ws', 'offlineWs', 'lambda', 'sqs', 'dynamodb']) expect(ports, `${name} port ${state.ports[name]}`).toContain(state.ports[name]);
    expect(sockets.filter((socket) => !isLoopback(socket.address))).toEqual([]);
  });
});

describe('shutdown', () => {
  it('closes client sockets with 1001 (going away), not 1006', async () => {
    const sockets = await Promise.all(
      ['carol', 'dave'].map(
        (account) =>
          new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(`${e2e().wsUrl}?apiKey=${encodeURIComponent(e2e().keys[account] as string)}`);
            socket.once('open', () => resolve(socket));
            socket.once('error', reject);
          }),
      ),
    );
    const codes = sockets.map((socket) => new Promise<number>((resolve) => socket.once('close', (code) => resolve(code))));
    const stopped = running.process.stop();
    expect(await Promise.all(codes)).toEqual([1001, 1001]);
    expect((await stopped).forced).toBe(false);
  }, 60_000);
});
