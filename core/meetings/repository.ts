/**
 * DynamoDB access for meetings. Every write that can be retried is idempotent or
 * conditional; nothing here uses transactions (dynalite lacks them).
 */
import { BatchGetCommand, type BatchGetCommandOutput, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../clients/dynamodb';
import { tableName } from '../config';
import { ConflictError, NotFoundError } from '../errors';
import type { DesiredState, Meeting, MeetingStatus } from './model';

export class MeetingRepository {
  constructor(private readonly table: string = tableName('meetings')) {}

  async create(meeting: Meeting): Promise<void> {
    try {
      await dynamo().send(
        new PutCommand({
          TableName: this.table,
          Item: meeting,
          ConditionExpression: 'attribute_not_exists(meetingId)',
        }),
      );
    } catch (error) {
      if (isConditionalFailure(error)) throw new ConflictError(`Meeting ${meeting.meetingId} already exists`);
      throw error;
    }
  }

  async get(meetingId: string): Promise<Meeting | undefined> {
    const out = await dynamo().send(new GetCommand({ TableName: this.table, Key: { meetingId } }));
    return out.Item as Meeting | undefined;
  }

  async require(meetingId: string): Promise<Meeting> {
    const meeting = await this.get(meetingId);
    if (!meeting) throw new NotFoundError(`Meeting ${meetingId} not found`, 'MEETING_NOT_FOUND');
    return meeting;
  }

  /** Hands out `count` seqs and returns the first; unique and increasing across processes. */
  async reserveSeqs(meetingId: string, count = 1): Promise<number> {
    try {
      const out = await dynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { meetingId },
          UpdateExpression: 'ADD seqCounter :n',
          ConditionExpression: 'attribute_exists(meetingId)',
          ExpressionAttributeValues: { ':n': count },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(out.Attributes?.seqCounter) - count + 1;
    } catch (error) {
      if (isConditionalFailure(error)) throw new NotFoundError(`Meeting ${meetingId} not found`, 'MEETING_NOT_FOUND');
      throw error;
    }
  }

  /** Sets the status and returns the new status epoch (for the event's deduplication id). */
  async setStatus(meetingId: string, status: MeetingStatus, now = new Date()): Promise<number> {
    const ended = status === 'ended' || status === 'failed';
    const out = await dynamo().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { meetingId },
        UpdateExpression: `SET #status = :status, updatedAt = :now${ended ? ', endedAt = if_not_exists(endedAt, :now)' : ''} ADD statusEpoch :one`,
        ConditionExpression: 'attribute_exists(meetingId)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status, ':now': now.toISOString(), ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.statusEpoch ?? 0);
  }

  async setDesiredState(meetingId: string, desiredState: DesiredState, now = new Date()): Promise<void> {
    await dynamo().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { meetingId },
        UpdateExpression: 'SET desiredState = :d, updatedAt = :now',
        ConditionExpression: 'attribute_exists(meetingId)',
        ExpressionAttributeValues: { ':d': desiredState, ':now': now.toISOString() },
      }),
    );
  }

  async configure(meetingId: string, config: { keywords?: string[]; language?: string }): Promise<void> {
    const sets: string[] = ['updatedAt = :now'];
    const values: Record<string, unknown> = { ':now': new Date().toISOString() };
    if (config.keywords) {
      sets.push('keywords = :k');
      values[':k'] = config.keywords;
    }
    if (config.language) {
      sets.push('#language = :l');
      values[':l'] = config.language;
    }
    await dynamo().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { meetingId },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(meetingId)',
        ...(config.language ? { ExpressionAttributeNames: { '#language': 'language' } } : {}),
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** Raises lastSeq to `seq` (never lowers it). */
  async advanceLastSeq(meetingId: string, seq: number): Promise<void> {
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { meetingId },
          UpdateExpression: 'SET lastSeq = :seq',
          ConditionExpression: 'attribute_exists(meetingId) AND (attribute_not_exists(lastSeq) OR lastSeq < :seq)',
          ExpressionAttributeValues: { ':seq': seq },
        }),
      );
    } catch (error) {
      if (!isConditionalFailure(error)) throw error;
    }
  }

  /** What the live sessions need to follow commands: one BatchGet per 100 meetings. */
  async getControlStates(
    meetingIds: readonly string[],
  ): Promise<Map<string, Pick<Meeting, 'meetingId' | 'desiredState' | 'status' | 'keywords' | 'language'>>> {
    const result = new Map<string, Pick<Meeting, 'meetingId' | 'desiredState' | 'status' | 'keywords' | 'language'>>();
    for (let i = 0; i < meetingIds.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = meetingIds.slice(i, i + 100).map((meetingId) => ({ meetingId }));
      for (let attempt = 0; keys && keys.length > 0 && attempt < 5; attempt++) {
        const out: BatchGetCommandOutput = await dynamo().send(
          new BatchGetCommand({
            RequestItems: {
              [this.table]: {
                Keys: keys,
                ProjectionExpression: 'meetingId, desiredState, #status, keywords, #language',
                ExpressionAttributeNames: { '#status': 'status', '#language': 'language' },
              },
            },
          }),
        );
        for (const item of out.Responses?.[this.table] ?? []) {
          result.set(String(item.meetingId), item as Meeting);
        }
        keys = out.UnprocessedKeys?.[this.table]?.Keys;
        if (keys && keys.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
    return result;
  }
}

export function isConditionalFailure(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}
