import { routeOrder, quotesToWire } from '../routing';
import { routeToWire } from '../venues/route';
import type { QuoteFrame } from '../notify/frames';
import type { EngineContext } from '../engine';
import type { ValidatedOrder } from './request';

/** `quote`: every venue's quote and the route `execute` would choose now, without executing anything. */
export const quoteOrder = (ctx: EngineContext, order: ValidatedOrder): QuoteFrame => {
  const spec = { side: order.side, tokenIn: order.tokenIn, tokenOut: order.tokenOut, amountIn: order.amountIn, slippageBps: order.slippageBps };
  const result = routeOrder(spec, ctx.now());
  return { type: 'quote', quotes: quotesToWire(result, spec), route: routeToWire(result.route, spec) };
};
