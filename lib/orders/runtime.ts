import { config, type EngineConfig } from '../config';
import { createEngineContext, type EngineContext } from './context';

/**
 * A function's context, built once at its cold start by its handler module (config is parsed once per process).
 *
 * Each function gets its own clients: on AWS every function runs in processes of its own, so one function's queue of
 * store requests never delays another's. serverless-offline runs them all in one process, where a shared pool let a
 * backlog of executions hold every acknowledgement behind it. `maxSockets` bounds the connections per endpoint
 * (default AWS_MAX_SOCKETS): background functions pass their own concurrency, which is all they can use at once,
 * so a store they share with the request path never has more of their requests queued than that.
 */
export const engineContext = (options: { maxSockets?: (config: EngineConfig) => number } = {}): EngineContext => {
  const parsed = config();
  return createEngineContext(parsed, options.maxSockets ? { maxSockets: options.maxSockets(parsed) } : {});
};
