/**
 * The shares table: one item per (reader, meeting) a meeting is shared with, so the meetings
 * shared with a user are one Query away (a meeting's `sharedWith` list cannot be indexed).
 * The meeting item's `sharedWith` stays the authority for access: the share routes write it
 * first and this table after, and readers of this table check the meeting itself, so a failure
 * between the two writes can hide a share from the list (sharing again repairs it) but never
 * shows a meeting to someone it is not shared with.
 */
import {
  DeleteCommand,
  leanDynamo,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '../clients/dynamodb-lean';
import { tableName } from '../config';
import type { Meeting } from './model';

export interface ShareItem {
  readerId: string;
  /** `<meeting createdAt>#<meetingId>`: newest meetings first when queried backwards. */
  meetingKey: string;
  meetingId: string;
  ownerId: string;
  meetingCreatedAt: string;
  sharedAt: string;
}

export type SharedMeeting = Pick<Meeting, 'meetingId' | 'ownerId' | 'createdAt'>;

export const shareKey = (meeting: Pick<Meeting, 'meetingId' | 'createdAt'>): string =>
  `${meeting.createdAt}#${meeting.meetingId}`;

export class ShareRepository {
  constructor(private readonly table: string = tableName('shares')) {}

  /** Records that `readerId` may read `meeting` (idempotent). */
  async put(readerId: string, meeting: SharedMeeting, now = new Date()): Promise<void> {
    const item: ShareItem = {
      readerId,
      meetingKey: shareKey(meeting),
      meetingId: meeting.meetingId,
      ownerId: meeting.ownerId,
      meetingCreatedAt: meeting.createdAt,
      sharedAt: now.toISOString(),
    };
    await leanDynamo().send(new PutCommand({ TableName: this.table, Item: item }));
  }

  /** Forgets the share (idempotent). */
  async delete(readerId: string, meeting: Pick<Meeting, 'meetingId' | 'createdAt'>): Promise<void> {
    await leanDynamo().send(
      new DeleteCommand({ TableName: this.table, Key: { readerId, meetingKey: shareKey(meeting) } }),
    );
  }

  /** One page of the meetings shared with `readerId`, newest meeting first. */
  async listByReader(
    readerId: string,
    opts: { limit?: number; cursor?: Record<string, unknown> } = {},
  ): Promise<{ items: ShareItem[]; cursor?: Record<string, unknown> }> {
    const out: QueryCommandOutput = await leanDynamo().send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'readerId = :r',
        ExpressionAttributeValues: { ':r': readerId },
        ScanIndexForward: false,
        Limit: opts.limit ?? 20,
        ExclusiveStartKey: opts.cursor,
      }),
    );
    return { items: (out.Items ?? []) as ShareItem[], cursor: out.LastEvaluatedKey };
  }
}
