import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { tableName } from '../../core/config';
import { addConnection } from '../../core/realtime/connection-repository';
import { connect } from '../../core/realtime/routes';
import { logger, routeContext, type WsEvent } from '../shared/realtime';

// Only the connections table: $connect records the connection and posts nothing.
const connectionsTable = tableName('connections');
const deps = {
  connections: { add: (id: string, userId: string) => addConnection(connectionsTable, id, userId) },
};

/** `$connect`: the authorizer already checked the token; remember the connection. */
export async function handler(event: WsEvent): Promise<APIGatewayProxyResultV2> {
  try {
    await connect(deps, routeContext(event));
    return { statusCode: 200 };
  } catch (error) {
    logger.error('connect failed', { error: error as Error });
    return { statusCode: 500 };
  }
}
