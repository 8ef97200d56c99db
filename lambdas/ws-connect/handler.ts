import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { logger, realtime, routeContext, type WsEvent } from '../shared/realtime';

/** `$connect`: the authorizer already checked the token; remember the connection. */
export async function handler(event: WsEvent): Promise<APIGatewayProxyResultV2> {
  try {
    await realtime().routes.connect(routeContext(event));
    return { statusCode: 200 };
  } catch (error) {
    logger.error('connect failed', { error: error as Error });
    return { statusCode: 500 };
  }
}
