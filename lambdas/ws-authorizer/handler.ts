import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { createJwtVerifier } from '../../core/auth/jwt-verifier';
import { loadAuthConfig } from '../../core/config';
import { UnauthorizedError } from '../../core/errors';
import { createLogger } from '../../core/logger';

const logger = createLogger('ws-authorizer');
const verifier = createJwtVerifier(loadAuthConfig());

/**
 * REQUEST authorizer of `$connect` (identity source: the `token` query parameter, since
 * browsers cannot set headers on a WebSocket). Throwing "Unauthorized" makes API Gateway
 * answer 401 before the socket opens; the context's userId reaches every later event.
 */
export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const token = event.queryStringParameters?.token;
  try {
    const { userId } = await verifier.verify(token ?? '');
    return {
      principalId: userId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
      },
      context: { userId },
    };
  } catch (error) {
    if (error instanceof UnauthorizedError) {
      logger.info('connection refused', { reason: error.message });
      throw new Error('Unauthorized');
    }
    logger.error('token verification failed', { error: error as Error });
    throw error;
  }
}
