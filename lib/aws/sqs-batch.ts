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
    failures.push({ itemIdentifier: record.messageId });
    return { visibilitySeconds };
  };

  if (!options.fifo) {
    await runLimited(records, options.concurrency, async (record) => {
      await settle(record);
    });
    return { batchItemFailures: failures };
  }

  const groups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? '';
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  await runLimited([...groups.values()], options.concurrency, async (group) => {
    for (const [index, record] of group.entries()) {
      const settled = await settle(record);
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
