/**
 * WebSocket connections and their subscriptions. Topics are `meeting#<id>` or `job#<id>`.
 * Items carry a TTL a little past API Gateway's 2 h connection limit, so connections whose
 * `$disconnect` never ran expire; readers filter expired items since deletion is lazy.
 */
import { batchWriteAll } from '../clients/dynamodb-batch';
import {
  DeleteCommand,
  leanDynamo,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '../clients/dynamodb-lean';
import { tableName } from '../config';

/** API Gateway closes every socket after 2 h; keep records a little longer. */
export const CONNECTION_TTL_SECONDS = 2 * 3600 + 600;

export interface ConnectionRecord {
  connectionId: string;
  userId: string;
  connectedAt: string;
  expiresAt: number;
}

export interface Subscriber {
  connectionId: string;
  userId: string;
  /** Fan-out shard (core/pipeline/fanout-shards.ts); absent = 0 (job topics, older items). */
  shard?: number;
  /** The client takes `batch` frames (subscribed with `batch: true`); absent = one message a frame. */
  batch?: boolean;
}

export { jobTopic, meetingTopic } from './topics';

const epochSeconds = (now: Date) => Math.floor(now.getTime() / 1000);

/**
 * Records a new connection. Standalone so `$connect`, which writes nothing else, needs only
 * the connections table's name.
 */
export async function addConnection(
  connectionsTable: string,
  connectionId: string,
  userId: string,
  now = new Date(),
): Promise<void> {
  await leanDynamo().send(
    new PutCommand({
      TableName: connectionsTable,
      Item: {
        connectionId,
        userId,
        connectedAt: now.toISOString(),
        expiresAt: epochSeconds(now) + CONNECTION_TTL_SECONDS,
      } satisfies ConnectionRecord,
    }),
  );
}

export class ConnectionRepository {
  constructor(
    private readonly connections: string = tableName('connections'),
    private readonly subscriptions: string = tableName('subscriptions'),
  ) {}

  async add(connectionId: string, userId: string, now = new Date()): Promise<void> {
    await addConnection(this.connections, connectionId, userId, now);
  }

  async subscribe(
    topic: string,
    connectionId: string,
    userId: string,
    now = new Date(),
    shard = 0,
    batch = false,
  ): Promise<void> {
    const expiresAt = epochSeconds(now) + CONNECTION_TTL_SECONDS;
    await leanDynamo().send(
      new PutCommand({
        TableName: this.subscriptions,
        Item: {
          topic,
          connectionId,
          userId,
          expiresAt,
          ...(shard > 0 ? { shard } : {}),
          ...(batch ? { batch } : {}),
        },
      }),
    );
  }

  async unsubscribe(topic: string, connectionId: string): Promise<void> {
    await leanDynamo().send(
      new DeleteCommand({ TableName: this.subscriptions, Key: { topic, connectionId } }),
    );
  }

  /** Live subscribers of a topic (expired ones filtered out). */
  async subscribers(topic: string, now = new Date()): Promise<Subscriber[]> {
    const result: Subscriber[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await leanDynamo().send(
        new QueryCommand({
          TableName: this.subscriptions,
          KeyConditionExpression: 'topic = :t',
          FilterExpression: 'expiresAt > :now',
          ExpressionAttributeValues: { ':t': topic, ':now': epochSeconds(now) },
          // `shard` is a DynamoDB reserved word (`batch` named the same way, to be safe).
          ProjectionExpression: 'connectionId, userId, #shard, #batch',
          ExpressionAttributeNames: { '#shard': 'shard', '#batch': 'batch' },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of out.Items ?? []) result.push(item as Subscriber);
      cursor = out.LastEvaluatedKey;
    } while (cursor);
    return result;
  }

  /**
   * Removes a connection and every subscription it holds ($disconnect, or a 410 on post).
   * Deletes DynamoDB leaves unprocessed are retried; still unprocessed, UnprocessedItemsError.
   */
  async remove(connectionId: string): Promise<void> {
    const topics: string[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await leanDynamo().send(
        new QueryCommand({
          TableName: this.subscriptions,
          IndexName: 'byConnection',
          KeyConditionExpression: 'connectionId = :c',
          ExpressionAttributeValues: { ':c': connectionId },
          ProjectionExpression: 'topic',
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of out.Items ?? []) topics.push(String(item.topic));
      cursor = out.LastEvaluatedKey;
    } while (cursor);
    await batchWriteAll(
      this.subscriptions,
      topics.map((topic) => ({ DeleteRequest: { Key: { topic, connectionId } } })),
    );
    await leanDynamo().send(new DeleteCommand({ TableName: this.connections, Key: { connectionId } }));
  }
}
