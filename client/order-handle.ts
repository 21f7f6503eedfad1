import type { OrderFrame } from '../lib/notify/frames';

/** Terminal statuses, v1 and v2 (PROTOCOL.md "Engine -> client frames", "New statuses"). */
const TERMINAL: ReadonlySet<string> = new Set(['confirmed', 'failed', 'cancelled', 'expired']);
export const isTerminalStatus = (status: string): boolean => TERMINAL.has(status);

/** Frames `from..to` (inclusive) never arrived: a later frame (`seq` = to + 1) did. */
export interface SeqGap {
  from: number;
  to: number;
}

export interface OrderHandle {
  /** The key the order was placed under (generated when the caller gave none); undefined for `subscribe`. */
  readonly clientOrderId: string | undefined;
  /** Resolves from the order's first frame (`pending` for a new order); rejects when the request is refused. */
  readonly orderId: Promise<string>;
  /**
   * The order's frames in `seq` order, each once, from the first one received; ends after the terminal frame. Every
   * iteration starts from the first frame. Throws what `done` rejects with.
   */
  readonly frames: AsyncIterable<OrderFrame>;
  /** The terminal frame (`confirmed`, `failed`, v2 `cancelled`/`expired`); rejects with EngineRequestError on refusal. */
  readonly done: Promise<OrderFrame>;
  /** The latest frame received, if any. */
  readonly last: OrderFrame | undefined;
  /** Missing `seq` ranges seen so far (frames are still delivered; a subscribe replay gives the current state). */
  readonly gaps: readonly SeqGap[];
  /** Called for every frame delivered (after de-duplication); returns an unsubscribe function. */
  onFrame(listener: (frame: OrderFrame) => void): () => void;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  settled: boolean;
}

const deferred = <T>(): Deferred<T> => {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A handle whose `done` nobody awaits must not crash the process with an unhandled rejection.
  promise.catch(() => undefined);
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve: (value) => {
      if (d.settled) return;
      d.settled = true;
      resolve(value);
    },
    reject: (error) => {
      if (d.settled) return;
      d.settled = true;
      reject(error);
    },
  };
  return d;
};
export { deferred, type Deferred };

/** The SDK's side of a handle: de-duplicates by `seq`, records gaps, feeds the iterators. */
export class OrderHandleState implements OrderHandle {
  readonly history: OrderFrame[] = [];
  readonly gaps: SeqGap[] = [];
  boundOrderId: string | undefined;
  /** The `execute` was re-sent by the SDK after a reconnect (its first answer never came). */
  resent = false;
  /** The `execute` went out at least once. */
  sent = false;
  finished = false;
  failure: unknown = undefined;
  private readonly orderIdDeferred = deferred<string>();
  private readonly doneDeferred = deferred<OrderFrame>();
  private readonly wakers = new Set<() => void>();
  private readonly listeners = new Set<(frame: OrderFrame) => void>();

  constructor(
    readonly clientOrderId: string | undefined,
    /** The `execute` message to (re)send until the order is known, or undefined for a subscription. */
    readonly executeMessage: Record<string, unknown> | undefined,
  ) {}

  get orderId(): Promise<string> {
    return this.orderIdDeferred.promise;
  }

  get done(): Promise<OrderFrame> {
    return this.doneDeferred.promise;
  }

  get last(): OrderFrame | undefined {
    return this.history[this.history.length - 1];
  }

  get lastSeq(): number {
    return this.last?.seq ?? 0;
  }

  bind(orderId: string): void {
    if (this.boundOrderId) return;
    this.boundOrderId = orderId;
    this.orderIdDeferred.resolve(orderId);
  }

  /** Delivers a frame unless it is a duplicate (seq <= last seen). Returns whether it was delivered. */
  accept(frame: OrderFrame): boolean {
    if (this.finished) return false;
    const last = this.lastSeq;
    if (frame.seq <= last) return false;
    if (last > 0 && frame.seq > last + 1) this.gaps.push({ from: last + 1, to: frame.seq - 1 });
    this.bind(frame.orderId);
    this.history.push(frame);
    for (const listener of this.listeners) {
      try {
        listener(frame);
      } catch {
        // A listener's bug is the listener's: it must not stop the delivery to the others.
      }
    }
    if (isTerminalStatus(frame.status)) {
      this.finished = true;
      this.doneDeferred.resolve(frame);
    }
    this.wake();
    return true;
  }

  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = error;
    this.orderIdDeferred.reject(error);
    this.doneDeferred.reject(error);
    this.wake();
  }

  onFrame(listener: (frame: OrderFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private wake(): void {
    for (const wake of [...this.wakers]) wake();
  }

  get frames(): AsyncIterable<OrderFrame> {
    return {
      [Symbol.asyncIterator]: () => {
        let index = 0;
        return {
          next: async (): Promise<IteratorResult<OrderFrame>> => {
            for (;;) {
              const frame = this.history[index];
              if (frame) {
                index += 1;
                return { value: frame, done: false };
              }
              if (this.finished) {
                if (this.failure !== undefined) throw this.failure;
                return { value: undefined, done: true };
              }
              await new Promise<void>((resolve) => {
                const wake = () => {
                  this.wakers.delete(wake);
                  resolve();
                };
                this.wakers.add(wake);
              });
            }
          },
          return: async (): Promise<IteratorResult<OrderFrame>> => ({ value: undefined, done: true }),
        };
      },
    };
  }
}
