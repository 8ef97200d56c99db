/**
 * The rolling briefing of each meeting, in the briefings table under the key
 * `rolling#<meetingId>` (meeting ids never contain `#`), beside the on-request briefing. The put
 * is conditional on covering more of the transcript than the stored one, so of two updates of
 * the same finals (SQS redelivery, two containers) exactly one is stored, and only that one is
 * pushed to clients.
 */
import { GetCommand, leanDynamo, PutCommand } from '../clients/dynamodb-lean';
import { tableName } from '../config';
import { isConditionalFailure } from '../meetings/repository';
import type { StoredRollingBriefing } from './rolling-model';

const key = (meetingId: string) => `rolling#${meetingId}`;

export class RollingBriefingRepository {
  constructor(private readonly table: string = tableName('briefings')) {}

  async get(meetingId: string): Promise<StoredRollingBriefing | undefined> {
    const out = await leanDynamo().send(
      new GetCommand({ TableName: this.table, Key: { meetingId: key(meetingId) } }),
    );
    if (!out.Item) return undefined;
    return { ...(out.Item as StoredRollingBriefing), meetingId };
  }

  /** Stores `briefing` unless one covering as much of the transcript is already there. */
  async put(briefing: StoredRollingBriefing): Promise<boolean> {
    try {
      await leanDynamo().send(
        new PutCommand({
          TableName: this.table,
          Item: { ...briefing, meetingId: key(briefing.meetingId) },
          ConditionExpression: 'attribute_not_exists(meetingId) OR coversSeq < :c',
          ExpressionAttributeValues: { ':c': briefing.coversSeq },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalFailure(error)) return false;
      throw error;
    }
  }
}
