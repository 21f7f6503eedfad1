import type { OrderFrame } from './notify/frames';
import type { Notifier } from './notify/notifier';

/**
 * CloudWatch metrics from the execution path, in the embedded metric format (EMF): one JSON log line per terminal
 * order, which CloudWatch Logs turns into metrics without a PutMetricData call (no IAM grant, no latency on the path).
 * Specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 * -- the log event must be the JSON object alone, so the line goes to stdout directly, not through console.log (whose
 * Lambda text format prefixes a timestamp and request id).
 */
export const METRICS_NAMESPACE = 'SolanaOrderEngine';

/** Statuses an order passes through on its way to the end, each timed from the frame before it (PROTOCOL.md). */
const TIMED_STAGES = ['routing', 'building', 'submitted', 'confirmed', 'failed'] as const;
const TERMINAL = new Set(['confirmed', 'failed', 'expired', 'cancelled']);

type Unit = 'Count' | 'Milliseconds';
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: Unit }> }>;
  };
  [member: string]: unknown;
}

/** One EMF document: the metrics' values and the dimensions' values are members of the root, as the format requires. */
export const emfDocument = (options: {
  timestampMs: number;
  dimensions: Record<string, string>;
  /** Extra dimension sets (each a list of names from `dimensions`), besides the one with all of them. */
  rollups?: string[][];
  metrics: Record<string, { value: number; unit: Unit }>;
  properties?: Record<string, unknown>;
}): EmfDocument => {
  const all = Object.keys(options.dimensions);
  for (const set of options.rollups ?? []) {
    for (const name of set) if (!(name in options.dimensions)) throw new Error(`dimension ${name} has no value`);
  }
  return {
    ...options.properties,
    ...options.dimensions,
    ...Object.fromEntries(Object.entries(options.metrics).map(([name, m]) => [name, m.value])),
    _aws: {
      Timestamp: options.timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [all, ...(options.rollups ?? [])],
          Metrics: Object.entries(options.metrics).map(([Name, m]) => ({ Name, Unit: m.unit })),
        },
      ],
    },
  };
};

/** The error code a terminal frame carries (`meta.error.code`), `none` for one that did not fail. */
const codeOf = (frame: OrderFrame): string => {
  const error = (frame.meta as { error?: { code?: unknown } }).error;
  return typeof error?.code === 'string' && /^[A-Z0-9_]{1,64}$/.test(error.code) ? error.code : frame.status === 'failed' ? 'UNKNOWN' : 'none';
};

/**
 * Follows the frames an execution publishes and turns each order that ends into one EMF document: `Orders` (1) by
 * Deployment + Outcome and by Deployment + Outcome + Code, `Attempts` and `Retries` (attempts after the first), and
 * `<Stage>Ms` for every stage whose previous frame this process saw (an attempt picked up by another instance lacks the
 * stages before it). Orders are forgotten when they end, and the oldest when more than `maxOpen` are open.
 */
export class OrderMetrics {
  private readonly lastFrame = new Map<string, { status: string; atMs: number; stages: Record<string, number> }>();

  constructor(
    private readonly deployment: string,
    private readonly emit: (document: EmfDocument) => void = writeEmf,
    private readonly maxOpen = 10_000,
  ) {}

  observe(frames: readonly OrderFrame[]): void {
    for (const frame of frames) {
      const atMs = Date.parse(frame.at);
      const seen = this.lastFrame.get(frame.orderId);
      const stages = seen?.stages ?? {};
      if (seen && (TIMED_STAGES as readonly string[]).includes(frame.status) && frame.status !== seen.status && atMs >= seen.atMs) {
        stages[frame.status] = (stages[frame.status] ?? 0) + (atMs - seen.atMs);
      }
      if (!TERMINAL.has(frame.status)) {
        this.lastFrame.delete(frame.orderId);
        this.lastFrame.set(frame.orderId, { status: frame.status, atMs, stages });
        if (this.lastFrame.size > this.maxOpen) this.lastFrame.delete(this.lastFrame.keys().next().value as string);
        continue;
      }
      this.lastFrame.delete(frame.orderId);
      const metrics: Record<string, { value: number; unit: Unit }> = {
        Orders: { value: 1, unit: 'Count' },
        Attempts: { value: frame.attempt, unit: 'Count' },
        Retries: { value: Math.max(frame.attempt - 1, 0), unit: 'Count' },
      };
      for (const [stage, ms] of Object.entries(stages)) metrics[`${stage[0]?.toUpperCase()}${stage.slice(1)}Ms`] = { value: ms, unit: 'Milliseconds' };
      this.emit(
        emfDocument({
          timestampMs: Number.isFinite(atMs) ? atMs : Date.now(),
          dimensions: { Deployment: this.deployment, Outcome: frame.status, Code: codeOf(frame) },
          rollups: [['Deployment', 'Outcome']],
          metrics,
          properties: { orderId: frame.orderId },
        }),
      );
    }
  }
}

/** A dead-lettered message reached the backstop (the orders DLQ's depth itself is SQS's own metric). */
export const deadLetterDocument = (deployment: string, nowMs: number): EmfDocument =>
  emfDocument({ timestampMs: nowMs, dimensions: { Deployment: deployment }, metrics: { DeadLettered: { value: 1, unit: 'Count' } } });

export const writeEmf = (document: EmfDocument): void => {
  process.stdout.write(`${JSON.stringify(document)}\n`);
};

/**
 * Wires `metrics` to the frames `notifier` publishes (after each publish succeeds): the functions that move orders
 * (execution, dead letters) call this once, so the use cases stay unaware of metrics.
 */
export const observePublishedFrames = (notifier: Pick<Notifier, 'publish'>, metrics: OrderMetrics): void => {
  const publish = notifier.publish.bind(notifier);
  notifier.publish = async (order, frames) => {
    await publish(order, frames);
    metrics.observe(frames);
  };
};
