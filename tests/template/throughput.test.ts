import { describe, expect, it } from 'vitest';
import { loadTemplate, ofType } from './support/template';

describe('throughput', () => {
  const { template } = loadTemplate();
  const queues = ofType(template, 'AWS::SQS::Queue');

  // A plain FIFO queue takes 300 sends a second; at ~3.3 frames per order that capped the engine near 90 orders/s
  // (bench/PERFORMANCE.md, issue 15). High-throughput mode makes the quota per message group: per order here.
  it('every FIFO work queue (not a dead-letter queue) is high-throughput, its quota and deduplication per message group', () => {
    const fifoWork = queues.filter(([, q]) => q.Properties?.FifoQueue === true && !/-dlq\.fifo$/.test(String(q.Properties?.QueueName)));
    expect(fifoWork.length).toBeGreaterThanOrEqual(1);
    for (const [id, q] of fifoWork) {
      expect(q.Properties, id).toMatchObject({ DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
    }
  });
});
