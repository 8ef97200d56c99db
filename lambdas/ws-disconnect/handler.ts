import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { disconnect } from '../../core/realtime/routes';
import { logger, type WsEvent } from '../shared/realtime';

// The connections and subscriptions tables; $disconnect posts nothing.
const deps = { connections: new ConnectionRepository() };

/** `$disconnect` (best effort on AWS): forget the connection and its subscriptions. */
export async function handler(event: WsEvent): Promise<APIGatewayProxyResultV2> {
  try {
    await disconnect(deps, { connectionId: event.requestContext.connectionId });
  } catch (error) {
    logger.error('disconnect cleanup failed', { error: error as Error });
  }
  return { statusCode: 200 };
}
