import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { MAX_CLIENT_MESSAGE_BYTES, ROUTE_ACTIONS } from '../../core/realtime/protocol';
import { parseBody, replyError, type WsEvent } from '../shared/realtime';
import { replier } from '../shared/replier';

// Only the management API: $default answers the frame that just arrived and touches no table.
const fanout = replier();

/** `$default`: frames that are not JSON or name no known action get a typed error. */
export async function handler(event: WsEvent): Promise<APIGatewayProxyResultV2> {
  const connectionId = event.requestContext.connectionId;
  if (event.body !== undefined && Buffer.byteLength(event.body) > MAX_CLIENT_MESSAGE_BYTES) {
    await replyError(
      fanout,
      connectionId,
      'MESSAGE_TOO_LARGE',
      `Frames are limited to ${MAX_CLIENT_MESSAGE_BYTES} bytes`,
    );
    return { statusCode: 200 };
  }
  const body = parseBody(event.body);
  if (body === null) {
    await replyError(fanout, connectionId, 'BAD_JSON');
  } else {
    const action = typeof body.action === 'string' ? body.action.slice(0, 64) : undefined;
    await replyError(
      fanout,
      connectionId,
      'UNKNOWN_ACTION',
      action === undefined
        ? `Missing "action"; use one of: ${ROUTE_ACTIONS.join(', ')}`
        : `Unknown action "${action}"; use one of: ${ROUTE_ACTIONS.join(', ')}`,
    );
  }
  return { statusCode: 200 };
}
