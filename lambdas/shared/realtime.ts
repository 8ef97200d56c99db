/**
 * Shared parts of the WebSocket route Lambdas: the logger, the connection's user, and
 * `wsRoute`, which validates a message, calls the route, and turns every failure into a
 * typed `error` reply (a bad frame never closes the socket). Each route's handler builds only
 * the repositories and clients it calls (core/realtime/routes.ts names them per route), at
 * module load, so it loads only those SDK clients and reads only the settings the stack gives
 * that function (lib/constructs/realtime-api.ts).
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { toClientError } from '../../core/error-codes';
import { ParleyError } from '../../core/errors';
import { createLogger } from '../../core/logger';
import type { ConnectionFanout } from '../../core/realtime/connection-fanout';
import {
  describeZodError,
  type ErrorCode,
  errorMessage,
  MAX_CLIENT_MESSAGE_BYTES,
} from '../../core/realtime/protocol';
import type { RouteContext } from '../../core/realtime/routes';

export type WsEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: APIGatewayProxyWebsocketEventV2['requestContext'] & {
    authorizer?: { userId?: string; principalId?: string } | null;
  };
};

export const logger = createLogger('realtime');

/** What a posting route replies through (lambdas/shared/replier.ts builds one). */
export type Replier = Pick<ConnectionFanout, 'post'>;

export function routeContext(event: WsEvent): RouteContext {
  const userId = event.requestContext.authorizer?.userId ?? event.requestContext.authorizer?.principalId;
  if (typeof userId !== 'string' || userId === '') {
    throw new ParleyError('UNAUTHORIZED', 'The connection carries no user', 401);
  }
  return { connectionId: event.requestContext.connectionId, userId };
}

const OK: APIGatewayProxyResultV2 = { statusCode: 200 };

/** Parses the frame's JSON (null when it is not a JSON object). */
export function parseBody(body: string | undefined): Record<string, unknown> | null {
  if (body === undefined) return null;
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Send an `error` reply; a connection already gone is not an error. */
export async function replyError(
  fanout: Replier,
  connectionId: string,
  code: ErrorCode,
  message?: string,
  extra: { action?: string; requestId?: string } = {},
): Promise<void> {
  try {
    await fanout.post(connectionId, errorMessage(code, message, extra));
  } catch (error) {
    logger.warn('could not send error reply', { connectionId, code, error: String(error) });
  }
}

/** A MESSAGE route: validate with `schema`, run `run`, reply with a typed error on failure. */
export function wsRoute<S extends z.ZodMiniType>(
  action: string,
  schema: S,
  fanout: Replier,
  run: (ctx: RouteContext, message: z.infer<S>) => Promise<void>,
): (event: WsEvent) => Promise<APIGatewayProxyResultV2> {
  return async (event) => {
    const connectionId = event.requestContext.connectionId;
    logger.appendKeys({ connectionId, route: action });
    let requestId: string | undefined;
    try {
      if (event.body !== undefined && Buffer.byteLength(event.body) > MAX_CLIENT_MESSAGE_BYTES) {
        await replyError(
          fanout,
          connectionId,
          'MESSAGE_TOO_LARGE',
          `Frames are limited to ${MAX_CLIENT_MESSAGE_BYTES} bytes`,
          { action },
        );
        return OK;
      }
      const body = parseBody(event.body);
      if (body === null) {
        await replyError(fanout, connectionId, 'BAD_JSON', undefined, { action });
        return OK;
      }
      if (typeof body.requestId === 'string') requestId = body.requestId.slice(0, 64);
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        await replyError(fanout, connectionId, 'INVALID_MESSAGE', describeZodError(parsed.error), {
          action,
          requestId,
        });
        return OK;
      }
      await run(routeContext(event), parsed.data);
    } catch (error) {
      // The one mapping (core/error-codes.ts): internal detail goes to the logs only.
      const client = toClientError(error);
      if (client.internal) logger.error('route failed', { error: error as Error });
      await replyError(fanout, connectionId, client.code, client.message, { action, requestId });
    } finally {
      logger.removeKeys(['connectionId', 'route']);
    }
    return OK;
  };
}
