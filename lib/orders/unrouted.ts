import type { Context } from 'aws-lambda';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { RequestError } from '../errors';
import { wsMessageRoute, type WsRouteOptions } from '../ws/route';
import { admitMessage } from '../accounts/connections';
import { KNOWN_ACTIONS, validatePing } from './request';
import { pongFrame } from '../notify/frames';
import type { EngineContext } from '../engine';

/**
 * A message no route takes: no `action`, an unknown one, or a reserved route key (`$connect`, `$disconnect`) sent as
 * a message. It is counted against its connection's message rate before its body is even parsed, so a flood of
 * garbage is refused like any other, then answered BAD_REQUEST or UNKNOWN_ACTION; nothing else happens.
 * `ping` lands here too (it needs no function of its own: no state, one frame back): `pong` with the engine's time.
 */
export const unroutedMessageRoute = (ctx: EngineContext, options: WsRouteOptions = { routeResponse: true }) =>
  wsMessageRoute(ctx.notifier, async ({ body }) => {
    const action = (body as { action?: unknown }).action;
    if (action === 'ping') {
      validatePing(body);
      return pongFrame(ctx.now());
    }
    if (action === undefined) {
      throw new RequestError('BAD_REQUEST', 'action: required', [{ path: 'action', message: `required, one of ${KNOWN_ACTIONS.join(', ')}` }]);
    }
    throw new RequestError('UNKNOWN_ACTION', `unknown action ${JSON.stringify(action).slice(0, 64)}`, [
      { path: 'action', message: `must be one of ${KNOWN_ACTIONS.join(', ')}` },
    ]);
  }, options).before(async ({ event }) => {
    await admitMessage(ctx, event.requestContext.connectionId);
  });

type WsHandler = (event: APIGatewayProxyWebsocketEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/**
 * `$connect` and `$disconnect` are lifecycle events, never messages. serverless-offline routes a message whose
 * `action` is "$disconnect" to the `$disconnect` route (it deleted the sender's own connection row) and one naming
 * "$connect" to `$connect`; API Gateway gives those routes only CONNECT and DISCONNECT events. A MESSAGE event that
 * reaches them is answered as an unknown action and changes nothing.
 */
export const lifecycleRoute = (ctx: EngineContext, lifecycle: WsHandler): WsHandler => {
  // Lifecycle routes have no route response (API Gateway allows none on $disconnect): the answer is posted.
  const unrouted = unroutedMessageRoute(ctx, { routeResponse: false });
  return (event, context) => (event.requestContext.eventType === 'MESSAGE' ? unrouted(event, context) : lifecycle(event, context));
};
