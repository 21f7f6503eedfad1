import type { ChainPort, SignedTransaction } from '../chain/port';

/**
 * Re-sends one signed transaction beside the wait for its outcome, as the unawaited `sendRawTransaction` of a
 * rebroadcast loop does (https://solana.com/developers/cookbook/transactions/retry): the caller never waits for a
 * send's round trip. At most one send is in flight; a send due while the last is still out is skipped, since the
 * same bytes are on their way. A refused send changes nothing (the transaction is still followed) and goes to
 * `onRefused`.
 */
export class Rebroadcaster {
  private last: Promise<void> = Promise.resolve();
  private inFlight = false;
  private sends = 0;

  constructor(
    private readonly chain: Pick<ChainPort, 'sendTransaction'>,
    private readonly transaction: SignedTransaction,
    private readonly onRefused: (error: unknown) => void,
  ) {}

  /** Starts a rebroadcast unless one is in flight; returns whether it did. */
  send(): boolean {
    if (this.inFlight) return false;
    this.inFlight = true;
    this.sends++;
    this.last = this.chain
      .sendTransaction(this.transaction)
      .then(
        () => undefined,
        (error: unknown) => {
          this.onRefused(error);
        },
      )
      .finally(() => {
        this.inFlight = false;
      });
    return true;
  }

  /** How many rebroadcasts were started. */
  get started(): number {
    return this.sends;
  }

  /** Resolves once the last rebroadcast has had its answer, so none outlives the caller. */
  settled(): Promise<void> {
    return this.last;
  }
}
