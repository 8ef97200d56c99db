/**
 * DELETE /meetings/{meetingId}: the owner deletes an ended or failed meeting and everything
 * stored for it — the recording (chunks and the assembled file), the transcript segments, the
 * keyword alerts, the cached and rolling briefings, the share items — and the meeting item
 * last. Each step deletes what is still there, so a failure midway is repaired by calling
 * DELETE again; once the meeting item is gone the meeting answers 404 like any unknown one.
 */
import { batchWriteAll } from '../clients/dynamodb-batch';
import { DeleteCommand, leanDynamo, QueryCommand, type QueryCommandOutput } from '../clients/dynamodb-lean';
import { tableName } from '../config';
import { ConflictError } from '../errors';
import { canControl, isTerminal } from '../meetings/lifecycle';
import type { Meeting } from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import { shareKey } from '../meetings/share-repository';
import { deleteRecording } from '../recordings/service';
import type { RecordingStore } from '../recordings/store';
import { meetingNotFound } from './access';

/** The tables a meeting's data lives in (the handler passes the configured names). */
export interface MeetingTables {
  meetings: string;
  segments: string;
  alerts: string;
  briefings: string;
  shares: string;
}

export function meetingTablesFromEnv(): MeetingTables {
  return {
    meetings: tableName('meetings'),
    segments: tableName('segments'),
    alerts: tableName('alerts'),
    briefings: tableName('briefings'),
    shares: tableName('shares'),
  };
}

export interface DeleteMeetingDeps {
  meetings: Pick<MeetingRepository, 'get'>;
  store: RecordingStore;
  tables: MeetingTables;
}

/** What one successful deletion removed (for the log line). */
export interface DeletedMeeting {
  recordingObjects: number;
  segments: number;
  alerts: number;
  shares: number;
}

/**
 * Owner only: anyone else, a reader it is shared with included, gets MEETING_NOT_FOUND (the
 * meeting's existence never leaks and a reader cannot learn it is deletable). A meeting that
 * is not over (joining, live, paused, disconnecting) is refused with MEETING_NOT_OVER.
 */
export async function deleteMeeting(
  userId: string,
  meetingId: string,
  deps: DeleteMeetingDeps,
): Promise<DeletedMeeting> {
  const meeting = await deps.meetings.get(meetingId);
  if (!meeting || !canControl(meeting, userId)) throw meetingNotFound(meetingId);
  if (!isTerminal(meeting.status)) {
    throw new ConflictError(
      `The meeting is ${meeting.status}: stop it (POST /meetings/${meetingId}/leave) and wait until it has ended, then delete it`,
      'MEETING_NOT_OVER',
    );
  }
  const recordingObjects = await deleteRecording(meetingId, deps.store);
  const segments = await deletePartition(deps.tables.segments, meetingId, 'seq');
  const alerts = await deletePartition(deps.tables.alerts, meetingId, 'alertKey');
  // The cached briefing (key meetingId) and the rolling one (rolling#meetingId).
  await batchWriteAll(
    deps.tables.briefings,
    [meetingId, `rolling#${meetingId}`].map((id) => ({ DeleteRequest: { Key: { meetingId: id } } })),
  );
  const readers = meeting.sharedWith ?? [];
  await batchWriteAll(
    deps.tables.shares,
    readers.map((readerId) => ({ DeleteRequest: { Key: { readerId, meetingKey: shareKey(meeting) } } })),
  );
  // Last: while it exists, DELETE can be called again to finish the job.
  await deleteMeetingItem(deps.tables.meetings, meeting);
  return { recordingObjects, segments, alerts, shares: readers.length };
}

/** Deletes every item of a (meetingId, sortKey) partition, a page of keys at a time. */
async function deletePartition(table: string, meetingId: string, sortKey: string): Promise<number> {
  let deleted = 0;
  let cursor: Record<string, unknown> | undefined;
  do {
    const page: QueryCommandOutput = await leanDynamo().send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'meetingId = :m',
        ExpressionAttributeValues: { ':m': meetingId },
        ProjectionExpression: 'meetingId, #sk',
        ExpressionAttributeNames: { '#sk': sortKey },
        ExclusiveStartKey: cursor,
      }),
    );
    const keys = page.Items ?? [];
    await batchWriteAll(
      table,
      keys.map((key) => ({ DeleteRequest: { Key: { meetingId, [sortKey]: key[sortKey] } } })),
    );
    deleted += keys.length;
    cursor = page.LastEvaluatedKey;
  } while (cursor);
  return deleted;
}

async function deleteMeetingItem(table: string, meeting: Meeting): Promise<void> {
  await leanDynamo().send(new DeleteCommand({ TableName: table, Key: { meetingId: meeting.meetingId } }));
}
