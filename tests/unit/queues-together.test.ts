import { describe, expect, it } from 'vitest';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { EntriesRefusedError, Queues } from '../../lib/aws/queues';
import { isTransient } from '../../lib/aws/transient';

/*
 * Queues.sendTogether / deleteTogether against a recording SQS client: the calls made in one event-loop turn share
 * batch calls within SQS's limits, each caller's messages stay together and in order, and each caller learns its own
 * outcome.
 */
interface Sent {
  command: string;
  entries: Array<{ Id?: string; MessageBody?: string; MessageGroupId?: string; ReceiptHandle?: string }>;
}

const recordingClient = (refuse: (entry: { MessageBody?: string; ReceiptHandle?: string }) => boolean = () => false, failCall = false) => {
  const sent: Sent[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      if (name === 'GetQueueUrlCommand') return { QueueUrl: `http://127.0.0.1/queue/${String(command.input.QueueName)}` };
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (failCall) throw new Error('ECONNRESET');
      const input = command.input as { Entries?: Sent['entries']; MessageBody?: string; MessageGroupId?: string; ReceiptHandle?: string };
      const entries = input.Entries ?? [{ MessageBody: input.MessageBody, MessageGroupId: input.MessageGroupId, ReceiptHandle: input.ReceiptHandle }];
      sent.push({ command: name, entries });
      const failed = (input.Entries ?? []).filter((entry) => refuse(entry)).map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false }));
      const fault = (input.Entries ?? []).filter((entry) => entry.MessageBody === '"malformed"').map((entry) => ({ Id: entry.Id, Code: 'InvalidMessageContents', SenderFault: true }));
      failed.push(...fault);
      return { Failed: failed };
    },
  };
  return { queues: new Queues(() => client as unknown as SQSClient), sent };
};

const frames = (orderId: string, ...seqs: number[]) => seqs.map((seq) => ({ body: { orderId, seq }, fifo: { groupId: orderId, deduplicationId: `${orderId}:${seq}` } }));
const bodiesOf = (call: Sent) => call.entries.map((entry) => entry.MessageBody);

describe('Queues.sendTogether', () => {
  it('sends the messages of one turn in one batch call, in call order', async () => {
    const { queues, sent } = recordingClient();
    await Promise.all([queues.sendTogether('status.fifo', frames('o1', 2, 3)), queues.sendTogether('status.fifo', frames('o2', 2)), queues.sendTogether('status.fifo', frames('o3', 4))]);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.command).toBe('SendMessageBatchCommand');
    expect(bodiesOf(sent[0] as Sent)).toEqual(['{"orderId":"o1","seq":2}', '{"orderId":"o1","seq":3}', '{"orderId":"o2","seq":2}', '{"orderId":"o3","seq":4}']);
    expect(sent[0]?.entries.map((entry) => entry.MessageGroupId)).toEqual(['o1', 'o1', 'o2', 'o3']);
  });

  it('a message alone in its turn goes as a plain SendMessage, and calls of different turns do not wait for each other', async () => {
    const { queues, sent } = recordingClient();
    await queues.sendTogether('status.fifo', frames('o1', 2));
    await queues.sendTogether('status.fifo', frames('o1', 3));
    expect(sent.map((call) => call.command)).toEqual(['SendMessageCommand', 'SendMessageCommand']);
    expect(sent.flatMap(bodiesOf)).toEqual(['{"orderId":"o1","seq":2}', '{"orderId":"o1","seq":3}']);
  });

  it('more than 10 messages in a turn go in batches of at most 10, one after another, never splitting a caller', async () => {
    const { queues, sent } = recordingClient();
    const orders = Array.from({ length: 7 }, (_, i) => `o${i}`);
    await Promise.all(orders.map((orderId) => queues.sendTogether('status.fifo', frames(orderId, 1, 2))));
    expect(sent.map((call) => call.entries.length)).toEqual([10, 4]);
    expect(sent.flatMap(bodiesOf)).toEqual(orders.flatMap((orderId) => [`{"orderId":"${orderId}","seq":1}`, `{"orderId":"${orderId}","seq":2}`]));
  });

  it('keeps a batch under 256 KiB of bodies', async () => {
    const { queues, sent } = recordingClient();
    const big = 'x'.repeat(100 * 1024);
    await Promise.all([1, 2, 3].map((n) => queues.sendTogether('orders', [{ body: { n, big } }])));
    expect(sent.map((call) => call.entries.length)).toEqual([2, 1]);
  });

  it('an entry SQS refused fails only the caller it belongs to, judged transient as the single call\'s failure would be', async () => {
    const { queues } = recordingClient((entry) => entry.MessageBody === '{"orderId":"o2","seq":3}');
    const outcomes = await Promise.allSettled([
      queues.sendTogether('status.fifo', frames('o1', 2)),
      queues.sendTogether('status.fifo', frames('o2', 2, 3)),
      queues.sendTogether('status.fifo', frames('o3', 2)),
      queues.sendTogether('status.fifo', [{ body: 'malformed', fifo: { groupId: 'o4', deduplicationId: 'o4:1' } }]),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    const serviceFault = (outcomes[1] as PromiseRejectedResult).reason as EntriesRefusedError;
    expect(serviceFault).toBeInstanceOf(EntriesRefusedError);
    expect(serviceFault).toMatchObject({ code: 'INTERNAL', retryable: true });
    expect(serviceFault.message).toContain('SQS refused 1 of 2 messages: InternalError');
    expect(isTransient(serviceFault)).toBe(true);
    const senderFault = (outcomes[3] as PromiseRejectedResult).reason as EntriesRefusedError;
    expect(senderFault).toMatchObject({ retryable: false });
    expect(isTransient(senderFault)).toBe(false);
  });

  it('a failed call fails every caller in its batch', async () => {
    const { queues } = recordingClient(undefined, true);
    const outcomes = await Promise.allSettled([queues.sendTogether('status.fifo', frames('o1', 2)), queues.sendTogether('status.fifo', frames('o2', 2))]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
  });

  it('refuses more than 10 messages from one caller', async () => {
    const { queues, sent } = recordingClient();
    await expect(queues.sendTogether('orders', Array.from({ length: 11 }, (_, n) => ({ body: { n } })))).rejects.toMatchObject({ code: 'INTERNAL', retryable: false });
    expect(sent).toEqual([]);
  });
});

describe('Queues.deleteTogether', () => {
  it('deletes the handles of one turn in one DeleteMessageBatch, and a lone handle with DeleteMessage', async () => {
    const { queues, sent } = recordingClient();
    await Promise.all(['h1', 'h2', 'h3'].map((handle) => queues.deleteTogether('orders', handle)));
    await queues.deleteTogether('orders', 'h4');
    expect(sent.map((call) => call.command)).toEqual(['DeleteMessageBatchCommand', 'DeleteMessageCommand']);
    expect(sent.map((call) => call.entries.map((entry) => entry.ReceiptHandle))).toEqual([['h1', 'h2', 'h3'], ['h4']]);
  });

  it('a handle SQS refused fails only its own caller', async () => {
    const { queues } = recordingClient((entry) => entry.ReceiptHandle === 'h2');
    const outcomes = await Promise.allSettled(['h1', 'h2', 'h3'].map((handle) => queues.deleteTogether('orders', handle)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
