import { describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, deadLetterDocument } from '../../lib/metrics';
import { loadTemplate, ofType, refTarget, type Resource } from './support/template';

interface AlarmProperties {
  Namespace: string;
  MetricName: string;
  Dimensions: Array<{ Name: string; Value: unknown }>;
  Statistic: string;
  Threshold: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
  AlarmActions?: unknown[];
}

describe('alarms', () => {
  const { template, stage } = loadTemplate();
  const alarms = ofType(template, 'AWS::CloudWatch::Alarm').map(([id, r]) => ({ id, ...(r.Properties as unknown as AlarmProperties) }));
  const dimension = (alarm: AlarmProperties, name: string): unknown => alarm.Dimensions.find((d) => d.Name === name)?.Value;
  const functionWithHandler = (handler: string): string | undefined =>
    ofType(template, 'AWS::Lambda::Function').find(([, r]: [string, Resource]) => r.Properties?.Handler === handler)?.[0];

  it('an alarm fires on the first message the orders queue dead-letters, from the metric the dead-letter function logs', () => {
    // Namespace, metric and dimensions as lib/metrics.ts writes them, not spelled out twice.
    const doc = deadLetterDocument(stage, 0);
    const [directive] = doc._aws.CloudWatchMetrics;
    const metricName = directive?.Metrics[0]?.Name;
    const alarm = alarms.find((a) => a.Namespace === METRICS_NAMESPACE && a.MetricName === metricName);
    expect(alarm, `no alarm on ${METRICS_NAMESPACE}/${metricName}`).toBeDefined();
    expect(alarm?.Dimensions).toEqual((directive?.Dimensions[0] ?? []).map((name) => ({ Name: name, Value: doc[name] })));
    expect(alarm).toMatchObject({ Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
  });

  it.each([
    ['OrdersDeadLetterQueue', 'ApproximateAgeOfOldestMessage'],
    ['StatusDeadLetterQueue', 'ApproximateNumberOfMessagesVisible'],
  ])('an alarm watches %s (%s)', (queue, metric) => {
    const alarm = alarms.find((a) => a.Namespace === 'AWS/SQS' && a.MetricName === metric && refTarget(dimension(a, 'QueueName')) === queue);
    expect(alarm, `no ${metric} alarm on ${queue}`).toBeDefined();
    expect(alarm?.ComparisonOperator).toBe('GreaterThanThreshold');
  });

  it('an alarm watches the execution function errors (crashes and timeouts)', () => {
    const executeOrder = functionWithHandler('functions/execute-order/handler.handler');
    expect(executeOrder).toBeDefined();
    const alarm = alarms.find((a) => a.Namespace === 'AWS/Lambda' && a.MetricName === 'Errors' && refTarget(dimension(a, 'FunctionName')) === executeOrder);
    expect(alarm, `no Errors alarm on ${executeOrder}`).toBeDefined();
    expect(alarm).toMatchObject({ Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('every alarm tells the stage alarm topic', () => {
    const [topic] = ofType(template, 'AWS::SNS::Topic').map(([id]) => id);
    expect(topic).toBeDefined();
    expect(alarms.length).toBeGreaterThanOrEqual(4);
    for (const alarm of alarms) expect((alarm.AlarmActions ?? []).map(refTarget), alarm.id).toEqual([topic]);
  });
});
