import { describe, expect, it } from 'vitest';
import { Parser } from '@asyncapi/parser';
import { buildAsyncApi, ERROR_FRAME_CODES, ORDER_FAILURE_CODES } from '../../infra/asyncapi';
import { KNOWN_ACTIONS } from '../../lib/orders/request';
import { ORDER_STATUSES } from '../../lib/orders/state-machine';

/*
 * The AsyncAPI 3 document is generated from the engine's zod schemas (infra/asyncapi.ts), so it cannot drift from the
 * code; this checks that what is generated is a valid AsyncAPI document (the reference parser, @asyncapi/parser, with
 * its built-in ruleset) and that it covers every action, frame, status and code.
 */
const doc = buildAsyncApi();

describe('the AsyncAPI document of the WebSocket API', () => {
  it('parses with @asyncapi/parser: no error and no warning diagnostics', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    // Severity 0 is an error, 1 a warning (Spectral); 2 and 3 are information and hints.
    const problems = diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} ${d.message} at ${d.path.join('.')}`);
    expect(problems).toEqual([]);
    expect(document).toBeDefined();
    expect(document?.version()).toBe('3.0.0');
    const operations = document?.operations().all().map((operation) => operation.id()) ?? [];
    expect(operations.sort()).toEqual([...KNOWN_ACTIONS, 'orderUpdates'].sort());
  }, 30_000);

  it('the parser does report a broken document (a reply naming a message that does not exist)', async () => {
    const broken = structuredClone(doc) as { operations: Record<string, { reply: { messages: Array<{ $ref: string }> } }> };
    (broken.operations.execute as { reply: { messages: Array<{ $ref: string }> } }).reply.messages = [{ $ref: '#/channels/engine/messages/noSuchFrame' }];
    const { diagnostics } = await new Parser().parse(JSON.stringify(broken));
    expect(diagnostics.filter((d) => d.severity === 0).length).toBeGreaterThan(0);
  }, 30_000);

  it('every action is a send operation whose reply is its frame or an error frame', async () => {
    const { document } = await new Parser().parse(JSON.stringify(doc));
    for (const action of KNOWN_ACTIONS) {
      const operation = document?.operations().get(action);
      expect(operation?.action(), action).toBe('send');
      expect(operation?.messages().all().map((m) => m.id())).toEqual([action]);
      const replies = operation?.reply()?.messages().all().map((m) => m.id()) ?? [];
      expect(replies, action).toContain('errorFrame');
      expect(replies.length, action).toBe(2);
    }
  }, 30_000);

  it('requests are strict (unknown fields are refused) and the frames name every status and code', () => {
    const messages = (doc.channels as { engine: { messages: Record<string, { payload: Record<string, unknown> }> } }).engine.messages;
    for (const action of KNOWN_ACTIONS) {
      expect(messages[action]?.payload.additionalProperties, action).toBe(false);
      expect((messages[action]?.payload.properties as Record<string, { const?: string }>).action?.const).toBe(action);
    }
    // Test hooks are not part of the public contract.
    expect(Object.keys(messages.execute?.payload.properties as object)).not.toContain('mockFailures');
    const orderProperties = messages.orderFrame?.payload.properties as Record<string, { enum?: string[] }>;
    expect(orderProperties.status?.enum).toEqual([...ORDER_STATUSES]);
    const errorProperties = messages.errorFrame?.payload.properties as Record<string, { enum?: string[] }>;
    expect(errorProperties.code?.enum).toEqual(ERROR_FRAME_CODES);
    for (const code of ['BAD_REQUEST', 'UNKNOWN_ACTION', 'VALIDATION_FAILED', 'UNKNOWN_TOKEN', 'NOT_FOUND', 'FORBIDDEN', 'RATE_LIMITED', 'INTERNAL', 'UNAVAILABLE', 'DUPLICATE_CLIENT_ORDER_ID', 'NO_ROUTE']) {
      expect(ERROR_FRAME_CODES).toContain(code);
    }
    for (const code of ['SLIPPAGE_EXCEEDED', 'BLOCKHASH_EXPIRED', 'RPC_TIMEOUT', 'INSUFFICIENT_LIQUIDITY', 'RETRIES_EXHAUSTED']) expect(ORDER_FAILURE_CODES).toContain(code);
  });
});
