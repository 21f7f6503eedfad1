import { describe, expect, it } from 'vitest';
import type { SentTransaction, SignedTransaction } from '../../lib/chain/port';
import { Rebroadcaster } from '../../lib/orders/rebroadcaster';

/** A chain whose sends answer only when the test says so. */
const heldChain = () => {
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  return {
    pending,
    sendTransaction: () =>
      new Promise<SentTransaction>((resolve, reject) => {
        pending.push({ resolve: () => resolve({ signature: 'sig', sentAtMs: 0, expiresAtMs: 1, ackMs: 0, alreadyProcessed: false, rebroadcast: true }), reject });
      }),
  };
};
const transaction = { orderId: 'o-1' } as unknown as SignedTransaction;

describe('Rebroadcaster', () => {
  it('starts a send without waiting for its answer, and skips a send due while the last is still out', () => {
    const chain = heldChain();
    const rebroadcaster = new Rebroadcaster(chain, transaction, () => undefined);
    expect(rebroadcaster.send()).toBe(true);
    expect(rebroadcaster.send()).toBe(false);
    expect(chain.pending).toHaveLength(1);
    expect(rebroadcaster.started).toBe(1);
  });

  it('settles only once the last send has its answer, then sends again', async () => {
    const chain = heldChain();
    const rebroadcaster = new Rebroadcaster(chain, transaction, () => undefined);
    rebroadcaster.send();
    let settled = false;
    const done = rebroadcaster.settled().then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    chain.pending[0]!.resolve();
    await done;
    expect(settled).toBe(true);
    expect(rebroadcaster.send()).toBe(true);
    expect(chain.pending).toHaveLength(2);
  });

  it('a refused send goes to onRefused and does not reject settled()', async () => {
    const chain = heldChain();
    const refused: unknown[] = [];
    const rebroadcaster = new Rebroadcaster(chain, transaction, (error) => refused.push(error));
    rebroadcaster.send();
    chain.pending[0]!.reject(new Error('BlockhashNotFound'));
    await expect(rebroadcaster.settled()).resolves.toBeUndefined();
    expect(refused).toEqual([new Error('BlockhashNotFound')]);
    expect(rebroadcaster.send()).toBe(true);
  });
});
