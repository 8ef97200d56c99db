/**
 * The `ping` route is answered by API Gateway itself, without a Lambda: a MOCK integration
 * whose `$default` integration response renders the `pong`, returned to the caller through a
 * `$default` route response (lib/constructs/realtime-api.ts builds it; the local gateway
 * emulator renders the same template, local/ws-gateway.ts `mockRoutes`).
 *
 * A heartbeat so costs one API Gateway message in and one out, and no invocation. The reply
 * cannot echo the client's fields (a MOCK integration has no backend response to map), so it
 * carries API Gateway's own receive time; a client that measures round trips keeps its send time.
 */

/** A route answered by API Gateway from templates (VTL), with no backend. */
export interface MockRouteTemplates {
  /** The integration request template: a MOCK integration takes its status code from it. */
  readonly requestTemplate: string;
  /** The `$default` integration response template: the frame the client receives. */
  readonly responseTemplate: string;
}

export const PING_ROUTE_KEY = 'ping';

export const PING_MOCK_ROUTE: MockRouteTemplates = {
  requestTemplate: '{"statusCode":200}',
  // $context.requestTimeEpoch: when API Gateway received the ping (ms since the epoch).
  responseTemplate: '{"type":"pong","serverTime":$context.requestTimeEpoch}',
};

/**
 * How often clients send `ping`. API Gateway closes a WebSocket after 10 minutes without a
 * client message; half of that leaves room for late timers (browsers throttle timers in
 * background tabs, to once a minute or less often) and a slow reconnect. Any other client
 * message also resets the idle clock.
 */
export const PING_INTERVAL_MS = 5 * 60 * 1000;
