/**
 * Final transcript segments in DynamoDB, keyed (meetingId, seq). A conditional put makes a
 * redelivered final a no-op write. Whether a stored final was also posted to clients is not
 * kept here but on the meeting item (`lastSeq`, the fan-out's delivered mark: one write per
 * final instead of two; core/pipeline/transcript-fanout.ts and docs/architecture.md "Fan-out
 * idempotency").
 */
import { leanDynamo, PutCommand, QueryCommand, type QueryCommandOutput } from '../clients/dynamodb-lean';
import { tableName } from '../config';
import { isConditionalFailure } from '../meetings/repository';
import type { Segment } from '../pipeline/events';

export interface StoredSegment extends Omit<Segment, 'isFinal' | 'revision'> {
  meetingId: string;
  /** Items stored before the delivered mark moved to the meeting item carry it; nothing reads it. */
  deliveredAt?: string;
}

export class SegmentRepository {
  constructor(private readonly table: string = tableName('segments')) {}

  /**
   * Stores a final once. Returns 'new' for a first write and 'duplicate' when the final was
   * stored before (a redelivery: whether it was also posted is the meeting's `lastSeq`).
   */
  async putFinal(meetingId: string, segment: Segment): Promise<'new' | 'duplicate'> {
    // Timing describes one delivery, not the line: it is not stored (replays carry none).
    const { isFinal: _isFinal, revision: _revision, timing: _timing, ...fields } = segment;
    try {
      await leanDynamo().send(
        new PutCommand({
          TableName: this.table,
          Item: { ...fields, meetingId },
          ConditionExpression: 'attribute_not_exists(seq)',
        }),
      );
      return 'new';
    } catch (error) {
      if (!isConditionalFailure(error)) throw error;
      return 'duplicate';
    }
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
