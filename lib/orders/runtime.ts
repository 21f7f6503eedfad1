import { config } from '../config';
import { createEngineContext, type EngineContext } from './context';

let engine: EngineContext | undefined;

/** The process-wide context, built on first use at cold start (config is parsed exactly once). */
export const engineContext = (): EngineContext => {
  engine ??= createEngineContext(config());
  return engine;
};
