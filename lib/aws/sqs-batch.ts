import type { SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { log } from '../log';

/** What a record handler decides: done (delete it), or retry it (optionally after a backoff, in seconds). */
export type RecordOutcome = { kind: 'done' } | { kind: 'retry'; visibilitySeconds?: number };

export interface BatchOptions {
  concurrency: number;
  /** FIFO: records of one message group run in order, and a failure fails the rest of its group (AWS semantics). */
  fifo?: boolean;
  /** Applies a retry's backoff (ChangeMessageVisibility) before the record is reported failed. */
  onRetry?: (record: SQSRecord, visibilitySeconds: number) => Promise<void>;
  /** Standard queues only: records the invocation takes from its queue itself while it has room (TakeMore). */
  takeMore?: TakeMore;
}

/**
 * More records for an invocation that has room: while any of its records is unfinished, every `everyMs` it asks
 * `take` for up to as many records as it has room for (concurrency minus records in progress) and works them as its
 * own. The event source mapping knows nothing of them, so they are never reported in the batch response: one that is
 * done is removed with `finish` (DeleteMessage), one that is retried stays in the queue (its backoff already applied
 * through `onRetry`), as a failed record of the batch would.
 */
export interface TakeMore {
  everyMs: number;
  take: (room: number) => Promise<SQSRecord[]>;
  finish: (record: SQSRecord) => Promise<void>;
}

const runLimited = async <T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> => {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
};

/**
 * Partial batch response: each record succeeds or fails on its own and only failures return to the queue. Records
 * of a standard queue run concurrently (one slow order does not hold up the rest of its batch).
 */
export const processBatch = async (
  records: SQSRecord[],
  handleRecord: (record: SQSRecord) => Promise<RecordOutcome>,
  options: BatchOptions,
): Promise<SQSBatchResponse> => {
  const failures: SQSBatchItemFailure[] = [];
  const backOff = async (record: SQSRecord, visibilitySeconds: number | undefined): Promise<void> => {
    if (visibilitySeconds === undefined || !options.onRetry) return;
    await options.onRetry(record, visibilitySeconds).catch((error: unknown) =>
      log.warn('could not set retry backoff; the queue default applies', { messageId: record.messageId, error }),
    );
  };
  /** true when the record is done; otherwise the backoff it asked for (undefined: the queue's default). */
  const settle = async (record: SQSRecord): Promise<true | { visibilitySeconds: number | undefined }> => {
    let visibilitySeconds: number | undefined;
    try {
      const outcome = await handleRecord(record);
      if (outcome.kind === 'done') return true;
      visibilitySeconds = outcome.visibilitySeconds;
      await backOff(record, visibilitySeconds);
    } catch (error) {
      log.error('record failed', { messageId: record.messageId, error });
    }
    return { visibilitySeconds };
  };
  /** A record of the batch: one that is not done is reported failed, so the queue gives it back. */
  const settleOwn = async (record: SQSRecord): Promise<true | { visibilitySeconds: number | undefined }> => {
    const settled = await settle(record);
    if (settled !== true) failures.push({ itemIdentifier: record.messageId });
    return settled;
  };

  if (!options.fifo) {
    const takeMore = options.takeMore;
    let inProgress = 0;
    let ownUnfinished = true;
    // Wakes the taker early when the last record in progress ends, so the invocation returns at once.
    let wakeTaker: (() => void) | undefined;
    const ended = (): void => {
      inProgress--;
      if (inProgress === 0 && !ownUnfinished) wakeTaker?.();
    };
    const own = runLimited(records, options.concurrency, async (record) => {
      inProgress++;
      await settleOwn(record).finally(ended);
    }).finally(() => {
      ownUnfinished = false;
      if (inProgress === 0) wakeTaker?.();
    });
    const taken: Promise<void>[] = [];
    while (takeMore && (ownUnfinished || inProgress > 0)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, takeMore.everyMs);
        wakeTaker = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeTaker = undefined;
      const room = options.concurrency - inProgress;
      if (room <= 0 || (!ownUnfinished && inProgress === 0)) continue;
      const more = await takeMore.take(room).catch((error: unknown) => {
        log.warn('could not take more records; working those in hand', { error });
        return [];
      });
      for (const record of more) {
        inProgress++;
        taken.push(
          settle(record)
            .then((settled) => (settled === true ? takeMore.finish(record) : undefined))
            .catch((error: unknown) => log.warn('could not remove a record taken and done; it comes back after its visibility timeout', { messageId: record.messageId, error }))
            .finally(ended),
        );
      }
    }
    await Promise.all([own, ...taken]);
    return { batchItemFailures: failures };
  }

  const groups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? '';
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  await runLimited([...groups.values()], options.concurrency, async (group) => {
    for (const [index, record] of group.entries()) {
      const settled = await settleOwn(record);
      if (settled !== true) {
        // The rest of the group goes back unprocessed and on the same schedule: an in-flight message holds its group.
        for (const later of group.slice(index + 1)) {
          failures.push({ itemIdentifier: later.messageId });
          await backOff(later, settled.visibilitySeconds);
        }
        return;
      }
    }
  });
  return { batchItemFailures: failures };
};
