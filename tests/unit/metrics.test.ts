import { describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE, OrderMetrics, deadLetterDocument, emfDocument, observePublishedFrames, type EmfDocument } from '../../lib/metrics';
import { orderFrame, type OrderFrame } from '../../lib/notify/frames';

const T0 = Date.parse('2026-12-02T10:00:00.000Z');
const frame = (orderId: string, status: OrderFrame['status'], seq: number, atMs: number, attempt = 1, meta: Record<string, unknown> = {}): OrderFrame =>
  orderFrame({ orderId, status, seq, atMs, attempt, meta });

/** What CloudWatch would extract: every metric of every directive, with its dimension values, per dimension set. */
const extracted = (doc: EmfDocument): Array<{ name: string; unit: string; value: unknown; dimensions: Record<string, unknown> }> =>
  doc._aws.CloudWatchMetrics.flatMap((directive) =>
    directive.Dimensions.flatMap((set) =>
      directive.Metrics.map((m) => ({ name: m.Name, unit: m.Unit, value: doc[m.Name], dimensions: Object.fromEntries(set.map((d) => [d, doc[d]])) })),
    ),
  );

describe('emfDocument', () => {
  it('puts every metric and dimension value on the root, as the specification requires of target members', () => {
    const doc = emfDocument({
      timestampMs: T0,
      dimensions: { Deployment: 'ci', Outcome: 'failed' },
      rollups: [['Deployment']],
      metrics: { Orders: { value: 1, unit: 'Count' }, RoutingMs: { value: 12, unit: 'Milliseconds' } },
      properties: { orderId: 'o1' },
    });
    expect(doc._aws.Timestamp).toBe(T0);
    expect(doc._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [['Deployment', 'Outcome'], ['Deployment']],
        Metrics: [
          { Name: 'Orders', Unit: 'Count' },
          { Name: 'RoutingMs', Unit: 'Milliseconds' },
        ],
      },
    ]);
    for (const member of ['Deployment', 'Outcome', 'Orders', 'RoutingMs']) expect(doc[member]).toBeDefined();
    expect(doc.orderId).toBe('o1');
    // One JSON object, nothing around it (the line a log event must be).
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('refuses a dimension set naming a dimension without a value', () => {
    expect(() => emfDocument({ timestampMs: T0, dimensions: { Deployment: 'ci' }, rollups: [['Outcome']], metrics: {} })).toThrow(/Outcome/);
  });
});

describe('OrderMetrics', () => {
  it('emits one document per order that ends, with its outcome, code, attempts and the time spent reaching each stage', () => {
    const docs: EmfDocument[] = [];
    const metrics = new OrderMetrics('ci', (d) => docs.push(d));
    metrics.observe([frame('a', 'routing', 2, T0 + 100)]);
    metrics.observe([frame('a', 'building', 3, T0 + 130)]);
    metrics.observe([frame('a', 'submitted', 4, T0 + 180)]);
    expect(docs).toEqual([]);
    metrics.observe([frame('a', 'confirmed', 5, T0 + 580)]);
    expect(docs).toHaveLength(1);
    const doc = docs[0] as EmfDocument;
    expect(doc).toMatchObject({ Deployment: 'ci', Outcome: 'confirmed', Code: 'none', Orders: 1, Attempts: 1, Retries: 0, BuildingMs: 30, SubmittedMs: 50, ConfirmedMs: 400, orderId: 'a' });
    // No frame before `routing` was seen here (`pending` is the route's): that stage is not made up.
    expect(doc.RoutingMs).toBeUndefined();
    expect(doc._aws.Timestamp).toBe(T0 + 580);
    const orders = extracted(doc).filter((m) => m.name === 'Orders');
    expect(orders.map((m) => m.dimensions)).toEqual([
      { Deployment: 'ci', Outcome: 'confirmed', Code: 'none' },
      { Deployment: 'ci', Outcome: 'confirmed' },
    ]);
  });

  it('counts a failure by its error code and its retries by the attempt it ended on', () => {
    const docs: EmfDocument[] = [];
    const metrics = new OrderMetrics('prod', (d) => docs.push(d));
    metrics.observe([frame('b', 'routing', 2, T0, 3), frame('b', 'failed', 3, T0 + 20, 3, { error: { code: 'SLIPPAGE_EXCEEDED', message: 'x' } })]);
    expect(docs[0]).toMatchObject({ Outcome: 'failed', Code: 'SLIPPAGE_EXCEEDED', Attempts: 3, Retries: 2, FailedMs: 20 });
    // A code that is not one of ours (free text) does not become a dimension value.
    metrics.observe([frame('c', 'failed', 2, T0, 1, { error: { code: 'not a code, a sentence' } })]);
    expect(docs[1]).toMatchObject({ Outcome: 'failed', Code: 'UNKNOWN' });
  });

  it('forgets an order when it ends, and the oldest open one past its bound', () => {
    const docs: EmfDocument[] = [];
    const metrics = new OrderMetrics('ci', (d) => docs.push(d), 2);
    metrics.observe([frame('x', 'routing', 2, T0), frame('y', 'routing', 2, T0), frame('z', 'routing', 2, T0)]);
    // x was evicted: its end has no stage timing; y still has its routing frame.
    metrics.observe([frame('x', 'confirmed', 5, T0 + 10), frame('y', 'confirmed', 5, T0 + 10)]);
    expect(docs[0]?.ConfirmedMs).toBeUndefined();
    expect(docs[1]?.ConfirmedMs).toBe(10);
    // y ended: a late duplicate of its terminal frame is one more document, without timings.
    metrics.observe([frame('y', 'confirmed', 5, T0 + 20)]);
    expect(docs[2]?.ConfirmedMs).toBeUndefined();
  });
});

describe('observePublishedFrames', () => {
  it('observes the frames after the notifier published them, and not when publishing failed', async () => {
    const published: OrderFrame[][] = [];
    let fail = false;
    const notifier = {
      publish: vi.fn(async (_order: unknown, frames: readonly OrderFrame[]) => {
        if (fail) throw new Error('queue down');
        published.push([...frames]);
      }),
    };
    const docs: EmfDocument[] = [];
    observePublishedFrames(notifier as never, new OrderMetrics('ci', (d) => docs.push(d)));
    await notifier.publish({} as never, [frame('d', 'confirmed', 5, T0)]);
    expect(published).toHaveLength(1);
    expect(docs).toHaveLength(1);
    fail = true;
    await expect(notifier.publish({} as never, [frame('e', 'confirmed', 5, T0)])).rejects.toThrow('queue down');
    expect(docs).toHaveLength(1);
  });
});

describe('deadLetterDocument', () => {
  it('counts one dead-lettered message by deployment', () => {
    const doc = deadLetterDocument('ci', T0);
    expect(extracted(doc)).toEqual([{ name: 'DeadLettered', unit: 'Count', value: 1, dimensions: { Deployment: 'ci' } }]);
  });
});
