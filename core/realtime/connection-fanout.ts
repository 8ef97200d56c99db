/**
 * Posts server messages to WebSocket connections through the API Gateway management API,
 * with bounded concurrency. A 410 (GoneException) means the client vanished without a
 * `$disconnect`: the connection and its subscriptions are removed and others are unaffected.
 * `evict` closes a connection that keeps failing, so its client reconnects and replays.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import { retry } from '../backoff';
import { connectionPoster } from '../pipeline/signed-post';
import type { ConnectionRepository } from './connection-repository';
import type { ServerMessage } from './protocol';

export interface FanoutResult {
  delivered: number;
  gone: string[];
  failed: { connectionId: string; error: unknown }[];
}

/** A connection could be neither reached nor closed: the record must be retried. */
export class EvictionError extends Error {
  constructor(
    readonly connectionId: string,
    options: { cause: unknown },
  ) {
    super(`connection ${connectionId} could not be closed: ${String(options.cause)}`, options);
    this.name = 'EvictionError';
  }
}

export class ConnectionFanout {
  constructor(
    endpoint: string,
    private readonly connections: Pick<ConnectionRepository, 'remove'>,
    private readonly logger: Logger,
    private readonly concurrency = 50,
    /** Signed management API requests (core/pipeline/signed-post.ts); default: the process's poster of `endpoint`. */
    private readonly poster: {
      post(connectionId: string, data: Buffer, payloadHash?: string): Promise<'sent' | 'gone'>;
      remove(connectionId: string): Promise<void>;
      hash(data: Buffer): string;
    } = connectionPoster(endpoint),
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
    const poster = this.poster;
    const payloadHash = poster.hash(data);
    const post = (id: string) => poster.post(id, data, payloadHash);
    let next = 0;
    const worker = async () => {
      while (next < connectionIds.length) {
        const connectionId = connectionIds[next++] as string;
        try {
          if ((await post(connectionId)) === 'gone') {
            result.gone.push(connectionId);
          } else {
            result.delivered++;
          }
        } catch (error) {
          result.failed.push({ connectionId, error });
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

  /**
   * Closes the client's socket (DeleteConnection) and drops its subscriptions. The client
   * reconnects and replays from its `lastSeq`, so it misses nothing. Throws EvictionError
   * when the socket could not be closed: a live socket must never silently stop receiving.
   */
  async evict(connectionId: string): Promise<void> {
    try {
      await retry(() => this.poster.remove(connectionId), { maxAttempts: 3, baseMs: 100 });
    } catch (error) {
      throw new EvictionError(connectionId, { cause: error });
    }
    await retry(() => this.connections.remove(connectionId), { maxAttempts: 3, baseMs: 100 }).catch(
      (error) => {
        // The socket is closed: its $disconnect and the items' TTL remove the rest.
        this.logger.warn('could not remove an evicted connection', { connectionId, error: String(error) });
      },
    );
  }
}
