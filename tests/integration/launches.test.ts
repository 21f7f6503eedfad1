import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { testContext } from './support/engine';
import { LAUNCHES_ITEM_KEY, LaunchStoreTable } from '../../lib/aws/launch-store';
import { LaunchBook } from '../../lib/chain/launches';
import { dynamo } from '../../lib/aws/clients';
import type { EngineContext } from '../../lib/engine';

/*
 * mockLaunch's launches in DynamoDB (one item of the chain ledger table): what one Lambda stores another reads back,
 * field for field, and a symbol is taken once even when two Lambdas race for it.
 */
let ctx: EngineContext;
let table: string;

beforeAll(async () => {
  ctx = testContext();
  table = ctx.config.LEDGER_TABLE;
  await dynamo().send(new DeleteCommand({ TableName: table, Key: { signature: LAUNCHES_ITEM_KEY } }));
});

afterAll(async () => {
  await dynamo().send(new DeleteCommand({ TableName: table, Key: { signature: LAUNCHES_ITEM_KEY } }));
});

describe('mock launches in the ledger table', () => {
  it('a launch one Lambda makes, another reads back whole; a symbol is taken once, even by two at once', async () => {
    const writer = new LaunchBook({ seed: ctx.config.MOCK_SEED, store: new LaunchStoreTable(table) });
    const reader = new LaunchBook({ seed: ctx.config.MOCK_SEED, store: new LaunchStoreTable(table), cacheMs: 60_000 });
    expect(await reader.launchFor('ITGA')).toBeUndefined();
    const made = await writer.mockLaunch({ symbol: 'ITGA', dex: 'meteora', quoteToken: 'SOL', price: '0.000004', openInSeconds: 3 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await reader.launchFor('ITGA')).toEqual(made);
    expect(await reader.launchFor(made.mint)).toEqual(made);
    expect((await new LaunchStoreTable(table).list()).map((l) => l.symbol)).toContain('ITGA');

    const race = await Promise.allSettled(
      [0, 1, 2, 3].map((i) => new LaunchBook({ seed: ctx.config.MOCK_SEED, store: new LaunchStoreTable(table) }).mockLaunch({ symbol: 'ITGB', dex: i % 2 ? 'raydium' : 'meteora', quoteToken: 'USDC', price: '0.01', openInSeconds: 0 })),
    );
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of race) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await new LaunchStoreTable(table).list()).filter((l) => l.symbol === 'ITGB')).toHaveLength(1);
  });
});
