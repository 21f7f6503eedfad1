import { describe, expect, it } from 'vitest';
import { processBatch } from '../../lib/aws/sqs-batch';
import { sqsRecord } from '../support/factories';

describe('partial batch processing', () => {
  it('reports only the records that failed or asked for a retry, and applies their backoff', async () => {
    const records = [sqsRecord('ok'), sqsRecord('retry'), sqsRecord('throw')];
    const backoffs: number[] = [];
    const response = await processBatch(
      records,
      async (record) => {
        if (record.body === 'throw') throw new Error('boom');
        return record.body === 'retry' ? { kind: 'retry', visibilitySeconds: 4 } : { kind: 'done' };
      },
      { concurrency: 10, onRetry: async (_record, seconds) => void backoffs.push(seconds) },
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([records[1]!.messageId, records[2]!.messageId].sort());
    expect(backoffs).toEqual([4]);
  });

  it('runs standard-queue records concurrently up to the limit', async () => {
    let running = 0;
    let peak = 0;
    const records = Array.from({ length: 20 }, (_, i) => sqsRecord(String(i)));
    await processBatch(
      records,
      async () => {
        peak = Math.max(peak, ++running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return { kind: 'done' };
      },
      { concurrency: 7 },
    );
    expect(peak).toBe(7);
  });

  it('FIFO: a failure fails the rest of its group but not other groups, and order holds within a group', async () => {
    const a = [sqsRecord('a1', { groupId: 'A' }), sqsRecord('a2', { groupId: 'A' }), sqsRecord('a3', { groupId: 'A' })];
    const b = [sqsRecord('b1', { groupId: 'B' }), sqsRecord('b2', { groupId: 'B' })];
    const seen: string[] = [];
    const response = await processBatch(
      [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!],
      async (record) => {
        seen.push(record.body);
        if (record.body === 'a2') throw new Error('post failed');
        return { kind: 'done' };
      },
      { concurrency: 10, fifo: true },
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([a[1]!.messageId, a[2]!.messageId]);
    expect(seen.filter((body) => body.startsWith('a'))).toEqual(['a1', 'a2']);
    expect(seen.filter((body) => body.startsWith('b'))).toEqual(['b1', 'b2']);
  });

  it('FIFO: the rest of a failed group goes back on the failed record\'s schedule (an in-flight message holds its group)', async () => {
    const a = [sqsRecord('a1', { groupId: 'A' }), sqsRecord('a2', { groupId: 'A' }), sqsRecord('a3', { groupId: 'A' })];
    const backoffs: [string, number][] = [];
    const response = await processBatch(
      a,
      async (record) => (record.body === 'a2' ? { kind: 'retry', visibilitySeconds: 1 } : { kind: 'done' }),
      { concurrency: 10, fifo: true, onRetry: async (record, seconds) => void backoffs.push([record.body, seconds]) },
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([a[1]!.messageId, a[2]!.messageId]);
    expect(backoffs).toEqual([
      ['a2', 1],
      ['a3', 1],
    ]);
  });
});
