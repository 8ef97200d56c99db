/**
 * Delivers a list of server messages, in order, to a list of connections: the fan-out's
 * guarantee, shared by the fan-out Lambda (shard 0) and the fanout-shard Lambda (shards 1…).
 *
 * Each message is broadcast to the connections still in good standing; a connection whose post
 * fails is retried alone (with backoff, the messages it has not had, in order); one that still
 * fails is closed (DeleteConnection) and unsubscribed, so its client reconnects and replays from
 * `lastSeq`. The others get each message exactly once. Only when a failing connection could not
 * even be closed does `deliver` throw (DeliveryError), and the caller's record is retried.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type BackoffOptions, retry } from '../backoff';
import type { ConnectionFanout } from '../realtime/connection-fanout';
import type { ServerMessage } from '../realtime/protocol';

export interface SubscriberDeliveryDeps {
  fanout: Pick<ConnectionFanout, 'broadcast' | 'post' | 'evict'>;
  logger: Logger;
  /** Retries of one failing connection before it is disconnected (first post included). */
  delivery?: Pick<BackoffOptions, 'maxAttempts' | 'baseMs' | 'maxDelayMs'>;
  /** Counts evicted subscribers (a metric on AWS). */
  onEvicted?: (connectionId: string) => void;
}

/** Default per-connection delivery policy: 4 posts over about 0.7 s, then disconnect. */
export const DELIVERY_POLICY = { maxAttempts: 4, baseMs: 100, maxDelayMs: 400 } as const;

/** Some failing connections could be neither reached nor disconnected. */
export class DeliveryError extends Error {
  constructor(
    readonly failed: number,
    readonly firstError: unknown,
  ) {
    super(`${failed} connection(s) could be neither reached nor disconnected: ${String(firstError)}`);
    this.name = 'DeliveryError';
  }
}

export class SubscriberDelivery {
  constructor(private readonly deps: SubscriberDeliveryDeps) {}

  async deliver(connectionIds: readonly string[], messages: readonly ServerMessage[]): Promise<void> {
    if (connectionIds.length === 0) return;
    /** Failing connection → index of the first message it has not received. */
    const failing = new Map<string, number>();
    let targets = connectionIds;
    for (const [index, message] of messages.entries()) {
      const result = await this.deps.fanout.broadcast(targets, message);
      for (const { connectionId } of result.failed) failing.set(connectionId, index);
      if (result.gone.length > 0 || result.failed.length > 0) {
        targets = targets.filter((id) => !failing.has(id) && !result.gone.includes(id));
      }
    }
    if (failing.size === 0) return;
    const outcomes = await Promise.allSettled(
      [...failing].map(([connectionId, from]) => this.catchUp(connectionId, messages.slice(from))),
    );
    const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    if (errors.length > 0) throw new DeliveryError(errors.length, errors[0]);
  }

  /** Retries one connection alone; disconnects it when it keeps failing. */
  private async catchUp(connectionId: string, messages: readonly ServerMessage[]): Promise<void> {
    const policy = { ...DELIVERY_POLICY, ...this.deps.delivery };
    let next = 0;
    try {
      await retry(
        async () => {
          while (next < messages.length) {
            // false: gone (already removed); nothing more to deliver to it.
            if (!(await this.deps.fanout.post(connectionId, messages[next] as ServerMessage))) return;
            next++;
          }
        },
        {
          ...policy,
          // The broadcast was the first attempt.
          maxAttempts: Math.max(1, policy.maxAttempts - 1),
          onRetry: ({ attempt, error }) =>
            this.deps.logger.debug('retrying one subscriber', {
              connectionId,
              attempt,
              error: String(error),
            }),
        },
      );
    } catch (error) {
      this.deps.logger.warn('a subscriber keeps failing; disconnecting it so it reconnects and replays', {
        connectionId,
        error: String(error),
      });
      await this.deps.fanout.evict(connectionId);
      this.deps.onEvicted?.(connectionId);
    }
  }
}
