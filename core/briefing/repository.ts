/**
 * Cached briefings (briefings table, one item per meeting) and the seq each covers. A newer
 * briefing never loses to an older one written late: the put is conditional on coversSeq.
 */
import { GetCommand, leanDynamo, PutCommand } from '../clients/dynamodb-lean';
import { tableName } from '../config';
import { isConditionalFailure } from '../meetings/repository';
import type { BriefContent } from './model';

/** `blockers` and `topics` are absent from briefings stored before they existed. */
export interface StoredBrief
  extends Omit<BriefContent, 'blockers' | 'topics'>,
    Partial<Pick<BriefContent, 'blockers' | 'topics'>> {
  meetingId: string;
  coversSeq: number;
  engine: string;
  generatedAt: string;
}

export class BriefingRepository {
  constructor(private readonly table: string = tableName('briefings')) {}

  async get(meetingId: string): Promise<StoredBrief | undefined> {
    const out = await leanDynamo().send(new GetCommand({ TableName: this.table, Key: { meetingId } }));
    return out.Item as StoredBrief | undefined;
  }

  /** Stores `brief` unless a briefing covering more of the transcript is already there. */
  async put(brief: StoredBrief): Promise<boolean> {
    try {
      await leanDynamo().send(
        new PutCommand({
          TableName: this.table,
          Item: brief,
          ConditionExpression: 'attribute_not_exists(meetingId) OR coversSeq <= :c',
          ExpressionAttributeValues: { ':c': brief.coversSeq },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalFailure(error)) return false;
      throw error;
    }
  }
}
