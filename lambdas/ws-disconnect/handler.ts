import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { logger, realtime, type WsEvent } from '../shared/realtime';

/** `$disconnect` (best effort on AWS): forget the connection and its subscriptions. */
export async function handler(event: WsEvent): Promise<APIGatewayProxyResultV2> {
  try {
    await realtime().routes.disconnect({ connectionId: event.requestContext.connectionId });
  } catch (error) {
    logger.error('disconnect cleanup failed', { error: error as Error });
  }
  return { statusCode: 200 };
}
