import { describe, expect, it } from 'vitest';
import { PRICES, callsBetween, costPerMillionOrders, formatCost, type PerOrderCounts } from '../../bench/cost';

const per: PerOrderCounts = {
  lambda: { execute: { invocations: 1, billedMs: 100 }, executeOrder: { invocations: 0.1, billedMs: 300 } },
  awsCalls: { 'dynamodb:Update': 4, 'dynamodb:Get': 3, 'dynamodb:TransactWrite': 1, 'sqs:SendMessage': 5, 'apigw:PostToConnection': 4 },
  sqsTriggeredInvocations: 0.5,
  websocketMessages: 6,
  connectionMinutes: 0.1,
};

const line = (item: string) => costPerMillionOrders(per).lines.find((l) => l.item.startsWith(item));

describe('cost per million orders', () => {
  it('prices Lambda as GB-s at 512 MB from the billed ms, plus its requests', () => {
    // (100 + 300) ms x 0.5 GB = 0.2 GB-s an order; 1.1 invocations an order.
    expect(line('Lambda compute')?.quantityPerMillion).toBeCloseTo(200_000, 6);
    expect(line('Lambda compute')?.usdPerMillion).toBeCloseTo(200_000 * 0.0000133334, 9);
    expect(line('Lambda requests')?.usdPerMillion).toBeCloseTo(1.1 * 0.2, 9);
  });

  it('turns DynamoDB calls into capacity units: a write 1 WRU, a two-item transaction 4, a read 1 RRU', () => {
    expect(line('DynamoDB writes')?.quantityPerMillion).toBe(8_000_000);
    expect(line('DynamoDB writes')?.usdPerMillion).toBeCloseTo(8 * 0.625, 9);
    expect(line('DynamoDB reads')?.usdPerMillion).toBeCloseTo(3 * 0.125, 9);
  });

  it('counts the event source mappings\' receive and delete beside the code\'s own SQS calls', () => {
    expect(line('SQS requests')?.quantityPerMillion).toBe(6_000_000);
    expect(line('SQS requests')?.usdPerMillion).toBeCloseTo(6 * 0.5, 9);
  });

  it('prices WebSocket messages and connection minutes, and sums every line', () => {
    expect(line('API Gateway WebSocket messages')?.usdPerMillion).toBeCloseTo(6, 9);
    expect(line('API Gateway connection minutes')?.usdPerMillion).toBeCloseTo(0.025, 9);
    const cost = costPerMillionOrders(per);
    expect(cost.totalUsd).toBeCloseTo(2.66668 + 0.22 + 5 + 0.375 + 3 + 6 + 0.025, 6);
    expect(cost.unpriced).toEqual([]);
  });

  it('lists a call it has no price for instead of pricing it at nothing', () => {
    const cost = costPerMillionOrders({ ...per, awsCalls: { 'dynamodb:ExecuteStatement': 2, 'kinesis:PutRecord': 1 } });
    expect(cost.unpriced).toEqual(['dynamodb:ExecuteStatement', 'kinesis:PutRecord']);
    expect(formatCost(cost).at(-1)).toContain('dynamodb:ExecuteStatement');
  });

  it('scales with the prices it is given', () => {
    const doubled = Object.fromEntries(Object.entries(PRICES).map(([k, v]) => [k, v * 2])) as typeof PRICES;
    expect(costPerMillionOrders(per, doubled).totalUsd).toBeCloseTo(2 * costPerMillionOrders(per).totalUsd, 6);
  });

  it('takes a run\'s own calls as the difference of two cumulative snapshots', () => {
    expect(callsBetween({ 'sqs:SendMessage': 10, 'dynamodb:Get': 3 }, { 'sqs:SendMessage': 25, 'dynamodb:Get': 3, 'dynamodb:Put': 2 })).toEqual({
      'sqs:SendMessage': 15,
      'dynamodb:Put': 2,
    });
  });
});
