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

  describe('taking more records while there is room (standard queues)', () => {
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

    it('works taken records beside its own, never beyond its concurrency; removes the done ones and reports none of them', async () => {
      const own = [sqsRecord('own-slow')];
      const waiting = Array.from({ length: 6 }, (_, i) => sqsRecord(`taken-${i}`));
      const asked: number[] = [];
      const finished: string[] = [];
      let running = 0;
      let peak = 0;
      const response = await processBatch(
        own,
        async (record) => {
          peak = Math.max(peak, ++running);
          await sleep(record.body === 'own-slow' ? 300 : 10);
          running--;
          return record.body === 'taken-1' ? { kind: 'retry', visibilitySeconds: 2 } : { kind: 'done' };
        },
        {
          concurrency: 3,
          takeMore: {
            everyMs: 5,
            take: async (room) => {
              asked.push(room);
              return waiting.splice(0, room);
            },
            finish: async (record) => void finished.push(record.body),
          },
        },
      );
      expect(waiting).toEqual([]);
      expect(Math.max(...asked)).toBeLessThanOrEqual(2);
      expect(peak).toBeLessThanOrEqual(3);
      expect(peak).toBeGreaterThan(1);
      // taken-1 asked for a retry: it stays in the queue (not removed) and, unknown to the event source mapping, unreported.
      expect(finished.sort()).toEqual(['taken-0', 'taken-2', 'taken-3', 'taken-4', 'taken-5']);
      expect(response.batchItemFailures).toEqual([]);
    });

    it('returns as soon as the last record in progress ends, not a take interval later, and takes nothing after', async () => {
      let takes = 0;
      const started = performance.now();
      await processBatch([sqsRecord('own')], async () => (await sleep(20), { kind: 'done' }), {
        concurrency: 10,
        takeMore: { everyMs: 1_000, take: async () => (takes++, []), finish: async () => undefined },
      });
      expect(performance.now() - started).toBeLessThan(500);
      expect(takes).toBe(0);
    });

    it('a failing take keeps working the records in hand', async () => {
      const done: string[] = [];
      const response = await processBatch(
        [sqsRecord('own')],
        async (record) => {
          await sleep(30);
          done.push(record.body);
          return { kind: 'done' };
        },
        {
          concurrency: 10,
          takeMore: {
            everyMs: 5,
            take: async () => {
              throw new Error('queue unreachable');
            },
            finish: async () => undefined,
          },
        },
      );
      expect(done).toEqual(['own']);
      expect(response.batchItemFailures).toEqual([]);
    });
  });
});

