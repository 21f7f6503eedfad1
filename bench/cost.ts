/**
 * What a million orders would cost on AWS, from what the bench measured per order: Lambda invocations and billed
 * milliseconds per function, DynamoDB and SQS calls per command (lib/aws/clients.ts counts them), WebSocket frames,
 * and connection minutes. List prices of us-east-1 (bench/PERFORMANCE.md "Cost per million orders" cites and dates
 * them); free tiers are left out, they do not scale.
 */

export const PRICES = {
  /** Lambda arm64, first 7.5 billion GB-s a month (aws.amazon.com/lambda/pricing). */
  lambdaPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  /** DynamoDB on-demand, standard table class (aws.amazon.com/dynamodb/pricing/on-demand). */
  dynamoPerMillionWriteUnits: 0.625,
  dynamoPerMillionReadUnits: 0.125,
  /** SQS FIFO per million requests (standard is 0.40; every request is priced as FIFO here, an upper bound). */
  sqsPerMillionRequests: 0.5,
  /** API Gateway WebSocket: messages (32 KB units, first billion) and connection minutes (aws.amazon.com/api-gateway/pricing). */
  websocketPerMillionMessages: 1.0,
  websocketPerMillionConnectionMinutes: 0.25,
} as const;

export type Prices = { [K in keyof typeof PRICES]: number };

/** The functions' memory (serverless.yml provider.memorySize). */
export const LAMBDA_MEMORY_GB = 0.5;

/** Per order, as measured. */
export interface PerOrderCounts {
  /** Lambda invocations and billed ms per order, by function. */
  lambda: Record<string, { invocations: number; billedMs: number }>;
  /** Round trips per order by `service:Command` (lib/aws/clients.ts keys: `dynamodb:Update`, `sqs:SendMessage` ...). */
  awsCalls: Record<string, number>;
  /** Invocations per order of the SQS-triggered functions: each costs the event source mapping a receive and a delete. */
  sqsTriggeredInvocations: number;
  /** WebSocket messages per order: the request and every frame sent back (the ack is one, as the route response). */
  websocketMessages: number;
  /** Connection minutes per order: minutes the bench's connections were open / orders. */
  connectionMinutes: number;
}

/**
 * Capacity units per call, for items up to 1 KB (writes) and 4 KB (reads). Reads are priced strongly consistent (1 RRU;
 * eventually consistent is half); a transaction costs two units per item, and ours writes two (the order and its
 * clientOrderId guard). Conditional writes that fail still consume a write unit.
 */
export const DYNAMO_UNITS: Record<string, { read?: number; write?: number }> = {
  Get: { read: 1 },
  GetItem: { read: 1 },
  Query: { read: 1 },
  BatchGet: { read: 1 },
  BatchGetItem: { read: 1 },
  Put: { write: 1 },
  PutItem: { write: 1 },
  Update: { write: 1 },
  UpdateItem: { write: 1 },
  Delete: { write: 1 },
  DeleteItem: { write: 1 },
  TransactWrite: { write: 4 },
  TransactWriteItems: { write: 4 },
};

export interface CostLine {
  item: string;
  quantityPerMillion: number;
  unit: string;
  usdPerMillion: number;
}

export interface CostPerMillion {
  lines: CostLine[];
  totalUsd: number;
  /** Calls the model has no price for (an unknown DynamoDB command): listed, never silently priced at 0. */
  unpriced: string[];
}

const M = 1_000_000;

export const costPerMillionOrders = (per: PerOrderCounts, prices: Prices = PRICES): CostPerMillion => {
  const lines: CostLine[] = [];
  const unpriced: string[] = [];
  const invocations = Object.values(per.lambda).reduce((sum, f) => sum + f.invocations, 0);
  const gbSeconds = Object.values(per.lambda).reduce((sum, f) => sum + (f.billedMs / 1000) * LAMBDA_MEMORY_GB, 0);
  lines.push({ item: 'Lambda compute (512 MB arm64)', quantityPerMillion: gbSeconds * M, unit: 'GB-s', usdPerMillion: gbSeconds * M * prices.lambdaPerGbSecond });
  lines.push({ item: 'Lambda requests', quantityPerMillion: invocations * M, unit: 'requests', usdPerMillion: invocations * prices.lambdaPerMillionRequests });

  let readUnits = 0;
  let writeUnits = 0;
  let sqsRequests = per.sqsTriggeredInvocations * 2;
  for (const [key, calls] of Object.entries(per.awsCalls)) {
    const [service, command = ''] = key.split(':');
    if (service === 'dynamodb') {
      const units = DYNAMO_UNITS[command];
      if (!units) {
        unpriced.push(key);
        continue;
      }
      readUnits += calls * (units.read ?? 0);
      writeUnits += calls * (units.write ?? 0);
    } else if (service === 'sqs') {
      // GetQueueUrl is an SQS request like any other (the adapters cache the URL, so it is rare).
      sqsRequests += calls;
    } else if (service === 'apigw') {
      // PostToConnection: each is a WebSocket message, counted in websocketMessages from the frames received.
    } else {
      unpriced.push(key);
    }
  }
  lines.push({ item: 'DynamoDB writes (on-demand)', quantityPerMillion: writeUnits * M, unit: 'WRU', usdPerMillion: writeUnits * prices.dynamoPerMillionWriteUnits });
  lines.push({ item: 'DynamoDB reads (on-demand)', quantityPerMillion: readUnits * M, unit: 'RRU', usdPerMillion: readUnits * prices.dynamoPerMillionReadUnits });
  lines.push({ item: 'SQS requests (incl. the mappings\' receive + delete)', quantityPerMillion: sqsRequests * M, unit: 'requests', usdPerMillion: sqsRequests * prices.sqsPerMillionRequests });
  lines.push({ item: 'API Gateway WebSocket messages', quantityPerMillion: per.websocketMessages * M, unit: 'messages', usdPerMillion: per.websocketMessages * prices.websocketPerMillionMessages });
  lines.push({
    item: 'API Gateway connection minutes',
    quantityPerMillion: per.connectionMinutes * M,
    unit: 'minutes',
    usdPerMillion: per.connectionMinutes * prices.websocketPerMillionConnectionMinutes,
  });
  return { lines, totalUsd: lines.reduce((sum, l) => sum + l.usdPerMillion, 0), unpriced };
};

/** The difference of two cumulative call-count snapshots (a run's own calls). */
export const callsBetween = (before: Record<string, number>, after: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(after)
      .map(([key, n]) => [key, n - (before[key] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );

export const formatCost = (cost: CostPerMillion): string[] => {
  const num = (x: number): string => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));
  const out = cost.lines.map((l) => `  ${l.item.padEnd(52)} ${num(l.quantityPerMillion).padStart(16)} ${l.unit.padEnd(9)} $${l.usdPerMillion.toFixed(2).padStart(9)}`);
  out.push(`  ${'total per 1 million orders'.padEnd(79)} $${cost.totalUsd.toFixed(2).padStart(9)}`);
  if (cost.unpriced.length > 0) out.push(`  not priced (no model for them): ${cost.unpriced.join(', ')}`);
  return out;
};
