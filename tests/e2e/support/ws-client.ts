import WebSocket from 'ws';
import type { OrderFrame } from '../../../lib/notify/frames';
import { contractViolation } from './contract';

export type AnyFrame = { type: string; [key: string]: unknown };

export class ConnectRefused extends Error {
  constructor(readonly status: number) {
    super(`connection refused with HTTP ${status}`);
  }
}

/**
 * A WebSocket client that buffers every frame: nothing is lost between "arrived" and "awaited", and a test can end
 * by asserting that no frame it did not ask for is left (serverless-offline's WebSocketTester does the same).
 */
export class TestClient {
  private readonly buffer: AnyFrame[] = [];
  private readonly waiters = new Set<() => void>();
  readonly received: AnyFrame[] = [];
  closed = false;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as AnyFrame;
      this.buffer.push(frame);
      this.received.push(frame);
      // A frame the AsyncAPI document does not describe leaves a frame no test asks for: the stray-frame checks fail on it.
      const violation = contractViolation(frame);
      if (violation) this.buffer.push({ type: 'contract-violation', violation, frame });
      for (const wake of this.waiters) wake();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const wake of this.waiters) wake();
    });
  }

  static connect(baseUrl: string, apiKey: string | undefined, options: { viaHeader?: boolean } = {}): Promise<TestClient> {
    const url = apiKey && !options.viaHeader ? `${baseUrl}?apiKey=${encodeURIComponent(apiKey)}` : baseUrl;
    const socket = new WebSocket(url, { headers: apiKey && options.viaHeader ? { 'x-api-key': apiKey } : {} });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('unexpected-response', (_request, response) => reject(new ConnectRefused(response.statusCode ?? 0)));
      socket.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first buffered frame matching `match`, removed from the buffer; waits for it up to timeoutMs. */
  async next(match: (frame: AnyFrame) => boolean = () => true, timeoutMs = 10_000): Promise<AnyFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.buffer.findIndex(match);
      if (index >= 0) return this.buffer.splice(index, 1)[0] as AnyFrame;
      if (this.closed) throw new Error('socket closed while waiting for a frame');
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; buffered: ${JSON.stringify(this.buffer).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, remaining);
        this.waiters.add(wake);
      });
    }
  }

  nextError(timeoutMs?: number): Promise<AnyFrame> {
    return this.next((frame) => frame.type === 'error', timeoutMs);
  }

  /** Every frame of one order up to and including its terminal frame, in arrival order. */
  async orderFrames(orderId: string, timeoutMs = 30_000): Promise<OrderFrame[]> {
    const frames: OrderFrame[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = (await this.next((f) => f.type === 'order' && f.orderId === orderId, Math.max(1, deadline - Date.now()))) as unknown as OrderFrame;
      frames.push(frame);
      if (['confirmed', 'failed', 'cancelled', 'expired'].includes(frame.status)) return frames;
    }
  }

  /** Waits until the socket has been quiet for quietMs, then returns what is still unclaimed. */
  async strayFrames(quietMs = 300): Promise<AnyFrame[]> {
    let count = -1;
    while (count !== this.received.length) {
      count = this.received.length;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    }
    return [...this.buffer];
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/** Per PROTOCOL.md: one order's frames carry seq 1..n, each exactly once, in order. */
export const seqs = (frames: OrderFrame[]): number[] => frames.map((frame) => frame.seq);
export const statuses = (frames: OrderFrame[]): string[] => frames.map((frame) => frame.status);
