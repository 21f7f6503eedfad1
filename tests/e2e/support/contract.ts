import { Ajv, type ValidateFunction } from 'ajv';
import { buildAsyncApi } from '../../../infra/asyncapi';

/*
 * The contract test (issue 14): every frame an e2e client receives is checked against the AsyncAPI document's message
 * payloads (JSON Schema, with ajv), not against the zod schemas it was generated from, so a frame the engine builds
 * outside its schemas, or a document that stopped describing the frames, fails the test that received it.
 */
const messages = (buildAsyncApi().channels as { engine: { messages: Record<string, { payload: object }> } }).engine.messages;
const ajv = new Ajv({ strict: false, allErrors: true });
const byType: Record<string, ValidateFunction> = {
  order: ajv.compile(messages.orderFrame?.payload ?? {}),
  quote: ajv.compile(messages.quoteFrame?.payload ?? {}),
  error: ajv.compile(messages.errorFrame?.payload ?? {}),
  pong: ajv.compile(messages.pongFrame?.payload ?? {}),
  launches: ajv.compile(messages.launchesFrame?.payload ?? {}),
  orders: ajv.compile(messages.ordersFrame?.payload ?? {}),
};

/** Why `frame` is not a frame the document describes, or undefined when it is one. */
export const contractViolation = (frame: unknown): string | undefined => {
  const type = typeof frame === 'object' && frame !== null ? (frame as { type?: unknown }).type : undefined;
  const validate = typeof type === 'string' ? byType[type] : undefined;
  if (!validate) return `no message of the AsyncAPI document has type ${JSON.stringify(type)}`;
  if (validate(frame)) return undefined;
  return ajv.errorsText(validate.errors);
};
