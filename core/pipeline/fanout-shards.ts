/**
 * Sharded fan-out: one meeting's subscribers split into shards of at most FANOUT_SHARDS.size
 * connections, so a meeting with 10,000 viewers is posted to by ten invocations at once.
 *
 * - A subscription carries its shard, fixed at subscribe time (core/realtime/routes.ts
 *   `subscribe`: the meeting's next subscription slot / shard size), so a connection is in one
 *   shard for its whole life and a shard never holds more than the size.
 * - The fan-out Lambda posts to shard 0 itself and sends one message per other shard (its
 *   connection ids and the messages to post) to the FIFO `fanoutShards` queue, MessageGroupId
 *   `<meetingId>#<shard>`: a shard's messages are handled in order (so each connection gets its
 *   meeting's messages in order) while different shards run in parallel invocations.
 * - A rolling briefing update to more than BRIEFING_INLINE_MAX subscribers goes to every shard,
 *   0 included, through the queue (`<meetingId>#0` carries only those), so the fan-out Lambda
 *   hands it off with one SendMessage a shard and its next final is not held behind the posts.
 * - MessageDeduplicationId = the source record's id, the delivery's index within it and the
 *   shard: a redelivered source record re-sends the same ids and SQS drops them (5 minutes).
 * - The fanout-shard Lambda delivers a shard with SubscriberDelivery (retry a failing connection
 *   alone, then disconnect it); only when a connection can be neither reached nor closed does
 *   the shard's record fail, and then SQS retries that shard alone.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SendMessageCommandInput } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { Subscriber } from '../realtime/connection-repository';
import type { ServerMessage } from '../realtime/protocol';
import { FANOUT_SHARDS } from '../resources';
import type { SubscriberDelivery } from './subscriber-delivery';

/** One shard's work: post `messages`, in order, to `connectionIds`. */
export interface ShardMessage {
  v: 1;
  meetingId: string;
  shard: number;
  connectionIds: string[];
  messages: ServerMessage[];
}

/** SQS's message size limit. */
export const MAX_SHARD_MESSAGE_BYTES = 256 * 1024;

/** A shard message SQS would refuse; never expected at ≤ 1,000 connections (~20 KB of ids). */
export class ShardMessageTooLargeError extends Error {
  override name = 'ShardMessageTooLargeError';
  readonly code = 'SHARD_MESSAGE_TOO_LARGE';
  constructor(readonly bytes: number) {
    super(`shard message of ${bytes} bytes exceeds SQS's ${MAX_SHARD_MESSAGE_BYTES}`);
  }
}

/** A record of the shard queue that is not a shard message. */
export class MalformedShardMessageError extends Error {
  override name = 'MalformedShardMessageError';
  readonly code = 'MALFORMED_SHARD_MESSAGE';
  constructor(messageId: string, reason: string) {
    super(`shard message ${messageId} is malformed: ${reason}`);
  }
}

/** Shard 0's connection ids (posted by the caller) and the other shards' (sent to the queue). */
export function splitShards(subscribers: readonly Subscriber[]): {
  first: string[];
  others: Map<number, string[]>;
} {
  const first: string[] = [];
  const others = new Map<number, string[]>();
  for (const { connectionId, shard } of subscribers) {
    if (!shard) {
      first.push(connectionId);
      continue;
    }
    let ids = others.get(shard);
    if (!ids) {
      ids = [];
      others.set(shard, ids);
    }
    ids.push(connectionId);
  }
  return { first, others };
}

/** Subscribers a briefing update is posted to inline at most; more go through the shard queue. */
export const BRIEFING_INLINE_MAX = 100;

/** Every shard's connection ids, shard 0 included (an empty shard left out). */
export function allShards(subscribers: readonly Subscriber[]): Map<number, string[]> {
  const { first, others } = splitShards(subscribers);
  return first.length > 0 ? new Map([[0, first], ...others]) : others;
}

export const shardGroup = (meetingId: string, shard: number) => `${meetingId}#${shard}`;

export interface ShardDispatcherDeps {
  queueUrl: string;
  /** Sends to SQS (core/clients/sqs.ts `sendMessage`). */
  send: (input: SendMessageCommandInput) => Promise<void>;
}

/** Hands shards 1… of one delivery to the fanout-shard Lambda, one SQS message each. */
export class ShardDispatcher {
  constructor(private readonly deps: ShardDispatcherDeps) {}

  /** `key` identifies the delivery (source record id + index) across redeliveries. */
  async dispatch(
    meetingId: string,
    shards: ReadonlyMap<number, string[]>,
    messages: ServerMessage[],
    key: string,
  ): Promise<void> {
    const bodies = [...shards].map(([shard, connectionIds]) => {
      const body = JSON.stringify({ v: 1, meetingId, shard, connectionIds, messages } satisfies ShardMessage);
      const bytes = Buffer.byteLength(body);
      if (bytes > MAX_SHARD_MESSAGE_BYTES) throw new ShardMessageTooLargeError(bytes);
      return { shard, body };
    });
    await Promise.all(
      bodies.map(({ shard, body }) =>
        this.deps.send({
          QueueUrl: this.deps.queueUrl,
          MessageBody: body,
          MessageGroupId: shardGroup(meetingId, shard),
          MessageDeduplicationId: `${key}:${shard}`.slice(0, 128),
        }),
      ),
    );
  }
}

export function parseShardMessage(record: Pick<SQSRecord, 'messageId' | 'body'>): ShardMessage {
  let body: Partial<ShardMessage> | undefined;
  try {
    body = JSON.parse(record.body) as Partial<ShardMessage>;
  } catch {
    throw new MalformedShardMessageError(record.messageId, 'not JSON');
  }
  const fail = (reason: string) => new MalformedShardMessageError(record.messageId, reason);
  if (body?.v !== 1) throw fail('version is not 1');
  if (typeof body.meetingId !== 'string' || body.meetingId === '') throw fail('no meetingId');
  if (!Number.isInteger(body.shard) || (body.shard as number) < 0)
    throw fail('shard is not a non-negative integer');
  const ids = body.connectionIds;
  if (!Array.isArray(ids) || ids.length > FANOUT_SHARDS.size || ids.some((id) => typeof id !== 'string')) {
    throw fail(`connectionIds is not a list of at most ${FANOUT_SHARDS.size} strings`);
  }
  const messages = body.messages;
  if (
    !Array.isArray(messages) ||
    messages.some((m) => typeof m !== 'object' || m === null || !('type' in m))
  ) {
    throw fail('messages is not a list of server messages');
  }
  return body as ShardMessage;
}

export interface ShardRecordDeps {
  /** The queue's redrive maxReceiveCount: the delivery that reaches it is the last. */
  maxReceiveCount: number;
  /** Parks the record in the shard DLQ (core/pipeline/dlq-park.ts `parkRecord`). */
  park: (record: SQSRecord, error: unknown) => Promise<void>;
  logger: Logger;
}

/**
 * One record of the shard queue: deliver it; a malformed one is parked at once (it can never
 * succeed), a failing one is retried by SQS (this shard only) and parked at its last delivery.
 */
export async function handleShardRecord(
  delivery: Pick<SubscriberDelivery, 'deliver'>,
  record: SQSRecord,
  deps: ShardRecordDeps,
): Promise<ShardMessage | undefined> {
  let shard: ShardMessage;
  try {
    shard = parseShardMessage(record);
  } catch (error) {
    deps.logger.error('malformed shard message', { messageId: record.messageId, error: String(error) });
    await deps.park(record, error);
    return undefined;
  }
  try {
    await delivery.deliver(shard.connectionIds, shard.messages);
    return shard;
  } catch (error) {
    const receives = Number(record.attributes.ApproximateReceiveCount);
    if (receives < deps.maxReceiveCount) throw error;
    await deps.park(record, error);
    return undefined;
  }
}
