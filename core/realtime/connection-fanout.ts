/**
 * Posts server messages to WebSocket connections through the API Gateway management API,
 * with bounded concurrency. A 410 (GoneException) means the client vanished without a
 * `$disconnect`: the connection and its subscriptions are removed and others are unaffected.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import { GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { managementApi } from '../clients/management-api';
import type { ConnectionRepository } from './connection-repository';
import type { ServerMessage } from './protocol';

export interface FanoutResult {
  delivered: number;
  gone: string[];
  failed: { connectionId: string; error: unknown }[];
}

export class ConnectionFanout {
  constructor(
    private readonly endpoint: string,
    private readonly connections: Pick<ConnectionRepository, 'remove'>,
    private readonly logger: Logger,
    private readonly concurrency = 50,
  ) {}

  /** Post one message to one connection. Returns false when the connection is gone. */
  async post(connectionId: string, message: ServerMessage | string): Promise<boolean> {
    const result = await this.broadcast([connectionId], message);
    if (result.failed[0]) throw result.failed[0].error;
    return result.delivered === 1;
  }

  /** Post one message to many connections. */
  async broadcast(connectionIds: readonly string[], message: ServerMessage | string): Promise<FanoutResult> {
    const data = Buffer.from(typeof message === 'string' ? message : JSON.stringify(message));
    const result: FanoutResult = { delivered: 0, gone: [], failed: [] };
    const client = managementApi(this.endpoint);
    let next = 0;
    const worker = async () => {
      while (next < connectionIds.length) {
        const connectionId = connectionIds[next++] as string;
        try {
          await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
          result.delivered++;
        } catch (error) {
          if (
            error instanceof GoneException ||
            (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410
          ) {
            result.gone.push(connectionId);
          } else {
            result.failed.push({ connectionId, error });
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, connectionIds.length) }, worker));
    for (const connectionId of result.gone) {
      this.logger.info('removing gone connection', { connectionId });
      await this.connections.remove(connectionId).catch((error) => {
        this.logger.warn('could not remove gone connection', { connectionId, error: String(error) });
      });
    }
    return result;
  }
}
