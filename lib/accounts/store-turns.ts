import { UnavailableError } from '../errors';

/*
 * Fair turns at the store for the requests of one host process. At most `capacity` requests do their store work at
 * once; when all turns are taken, the others wait here, having written nothing, one queue per account, and each turn
 * that frees up goes to the next account in round-robin order (first come, first served within an account). A request
 * keeps its turn until its work is done: an order's placement holds it through the ack post and the enqueue too, not
 * only its writes. The host's sockets to the Management API and the queue are first come, first served as well: with the
 * turn given back once the order was recorded, one account's hundreds of recorded orders queued their acks ahead of
 * another account's, whose ack post took p99 0.9-1.8 s during a flood; with the whole placement in the turn, the other
 * account's ack p99 during `npm run bench -- --mode flood` went from 1.9-2.8 s to 0.57-0.77 s (3 runs each, alternated),
 * for a 500-order burst's ack tail about 13 % longer. Turns on the answer path alone, separate from the store's, did
 * not do it (p99 1.2-2.4 s): what helps is fewer placements at once in the host's one event loop.
 *
 * Why: a host that serves many requests at once (serverless-offline runs every invocation in one process; so would a
 * container) sends all their writes to one store, whose queue is first come, first served. One account flooding within
 * its token bucket (a burst of 200, then 50/s) put hundreds of writes ahead of every other account's one, and
 * everybody's writes outlasted the route's budget alike: measured with `npm run bench -- --mode flood` at the default
 * limits, 1753 `execute` invocations at once and the other account's orders answered UNAVAILABLE, 70 of 100. With
 * turns, another account waits for one turn to free up, then has at most `capacity` writes ahead of it. An account
 * alone has every turn, and throughput is not lost: the store serialises its writes anyway, so `capacity` writes in
 * flight keep it as busy as hundreds do.
 *
 * On AWS each Lambda instance serves one request at a time, so its one request always has a turn: this changes nothing
 * there, and needs nothing shared. A request that waits longer than `waitBudgetMs` (or finds `maxWaiting` of its
 * account ahead of it) is answered UNAVAILABLE with `retryAfterMs`, nothing recorded.
 */

export interface StoreTurnsOptions {
  /** Requests doing their store work at once, all accounts together. */
  capacity: number;
  /** How long a request may wait for its turn before it is answered UNAVAILABLE. */
  waitBudgetMs: number;
  /** Requests of one account that may wait at once; more are answered UNAVAILABLE at once. */
  maxWaiting: number;
}

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout;
}

export class StoreTurns {
  private running = 0;
  /** Waiting requests per account, and the accounts with any, in the order they are served. */
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly ring: string[] = [];

  constructor(private readonly options: StoreTurnsOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new Error(`capacity must be an integer >= 1, got ${options.capacity}`);
  }

  /**
   * Runs `work` in a turn of `account`: at once if a turn is free, else when the round-robin comes to the account.
   * `beforeWaiting` is called when the request must wait: it may refuse it (by throwing), and what it returns is called
   * when the wait ends, whichever way. The turn is given back when `work` ends, whichever way.
   */
  async run<T>(account: string, work: () => Promise<T>, options: { beforeWaiting?: () => () => void } = {}): Promise<T> {
    await this.take(account, options.beforeWaiting);
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** Requests running, and waiting per account (for tests and logs). */
  load(): { running: number; waiting: Record<string, number> } {
    return { running: this.running, waiting: Object.fromEntries([...this.waiting].map(([account, queue]) => [account, queue.length])) };
  }

  private take(account: string, beforeWaiting: (() => () => void) | undefined): Promise<void> {
    if (this.running < this.options.capacity) {
      this.running++;
      return Promise.resolve();
    }
    const queue = this.waiting.get(account) ?? [];
    if (queue.length >= this.options.maxWaiting) return Promise.reject(this.busy(queue.length));
    let waited: () => void;
    try {
      waited = beforeWaiting?.() ?? (() => undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    if (queue.length === 0) {
      this.waiting.set(account, queue);
      this.ring.push(account);
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          waited();
          resolve();
        },
        timer: setTimeout(() => {
          this.remove(account, waiter);
          waited();
          reject(this.busy(queue.length + 1));
        }, this.options.waitBudgetMs),
      };
      queue.push(waiter);
    });
  }

  /** A turn is given back: it passes to the next account in the ring, if any waits (`running` then stays as it is). */
  private release(): void {
    const account = this.ring.shift();
    if (account === undefined) {
      this.running--;
      return;
    }
    const queue = this.waiting.get(account) as Waiter[];
    const next = queue.shift() as Waiter;
    if (queue.length > 0) this.ring.push(account);
    else this.waiting.delete(account);
    clearTimeout(next.timer);
    next.start();
  }

  private remove(account: string, waiter: Waiter): void {
    const queue = this.waiting.get(account);
    if (!queue) return;
    const at = queue.indexOf(waiter);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) {
      this.waiting.delete(account);
      const inRing = this.ring.indexOf(account);
      if (inRing >= 0) this.ring.splice(inRing, 1);
    }
  }

  private busy(waiting: number): UnavailableError {
    return new UnavailableError(
      `the engine is busy: this account has ${waiting} requests waiting for the store here; nothing was recorded`,
      { retryAfterMs: RETRY_AFTER_MS, recorded: 'no' },
    );
  }
}

/** What a refused request is told to wait: about the time the store takes to serve a full set of turns under load. */
const RETRY_AFTER_MS = 500;
