/**
 * Final transcript segments in DynamoDB, keyed (meetingId, seq). A conditional put makes a
 * redelivered final a no-op; `deliveredAt` records that the fan-out posted it, so a retry
 * after a failed post sends it again and a plain duplicate does not.
 */
import {
  leanDynamo,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '../clients/dynamodb-lean';
import { tableName } from '../config';
import { isConditionalFailure } from '../meetings/repository';
import type { Segment } from '../pipeline/events';

export interface StoredSegment extends Omit<Segment, 'isFinal' | 'revision'> {
  meetingId: string;
  deliveredAt?: string;
}

export class SegmentRepository {
  constructor(private readonly table: string = tableName('segments')) {}

  /**
   * Stores a final once. Returns 'new' for a first write, 'undelivered' for a duplicate that
   * was never fanned out, and 'delivered' for a duplicate already posted to clients.
   */
  async putFinal(meetingId: string, segment: Segment): Promise<'new' | 'undelivered' | 'delivered'> {
    // Timing describes one delivery, not the line: it is not stored (replays carry none).
    const { isFinal: _isFinal, revision: _revision, timing: _timing, ...fields } = segment;
    try {
      await leanDynamo().send(
        new PutCommand({
          TableName: this.table,
          Item: { ...fields, meetingId },
          ConditionExpression: 'attribute_not_exists(seq)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'new';
    } catch (error) {
      if (!isConditionalFailure(error)) throw error;
      const old = (error as { Item?: Record<string, unknown> }).Item;
      if (old === undefined) {
        // Emulators may not return the old item: read it.
        const existing = await this.list(meetingId, { afterSeq: segment.seq - 1, limit: 1 });
        return existing.items[0]?.deliveredAt ? 'delivered' : 'undelivered';
      }
      return old.deliveredAt ? 'delivered' : 'undelivered';
    }
  }

  async markDelivered(meetingId: string, seq: number, now = new Date()): Promise<void> {
    await leanDynamo().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { meetingId, seq },
        UpdateExpression: 'SET deliveredAt = if_not_exists(deliveredAt, :now)',
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),
    );
  }

  /** Finals with seq > afterSeq, in seq order, a page at a time. */
  async list(
    meetingId: string,
    opts: { afterSeq?: number; limit?: number; cursor?: Record<string, unknown> } = {},
  ): Promise<{ items: StoredSegment[]; cursor?: Record<string, unknown> }> {
    const out: QueryCommandOutput = await leanDynamo().send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'meetingId = :m AND seq > :after',
        ExpressionAttributeValues: { ':m': meetingId, ':after': opts.afterSeq ?? 0 },
        Limit: opts.limit ?? 200,
        ExclusiveStartKey: opts.cursor,
        ScanIndexForward: true,
      }),
    );
    return { items: (out.Items ?? []) as StoredSegment[], cursor: out.LastEvaluatedKey };
  }

  /** Every final after `afterSeq`, following pages. */
  async *all(meetingId: string, afterSeq = 0): AsyncGenerator<StoredSegment> {
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.list(meetingId, { afterSeq, cursor });
      yield* page.items;
      cursor = page.cursor;
    } while (cursor);
  }
}
