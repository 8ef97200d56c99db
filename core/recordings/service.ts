/**
 * Reading and deleting a meeting's recording (the REST side; the audio gateway writes it).
 */
import { ConflictError, NotFoundError } from '../errors';
import { isTerminal } from '../meetings/lifecycle';
import type { MeetingRepository } from '../meetings/repository';
import { readableMeeting } from '../rest/access';
import type { RecordingView } from '../rest/schemas';
import { meetingPrefix, RECORDING_FORMATS, type RecordingFormat, recordingKey } from './keys';
import type { RecordingStore } from './store';

/** Lifetime of a recording URL: long enough to start playing, short enough not to be shared. */
export const RECORDING_URL_TTL_SECONDS = 300;

/**
 * A short-lived URL of the meeting's recording, for its owner and the users it is shared with
 * (the same rule as the transcript: anyone else gets MEETING_NOT_FOUND).
 */
export async function getRecording(
  userId: string,
  meetingId: string,
  deps: { meetings: Pick<MeetingRepository, 'get'>; store: RecordingStore; now?: () => Date },
): Promise<RecordingView> {
  const meeting = await readableMeeting(deps.meetings, meetingId, userId);
  for (const format of Object.keys(RECORDING_FORMATS) as RecordingFormat[]) {
    const key = recordingKey(meetingId, format);
    const bytes = await deps.store.head(key);
    if (bytes === undefined) continue;
    const now = deps.now?.() ?? new Date();
    return {
      meetingId,
      url: await deps.store.presignGet(key, RECORDING_URL_TTL_SECONDS),
      expiresAt: new Date(now.getTime() + RECORDING_URL_TTL_SECONDS * 1000).toISOString(),
      contentType: RECORDING_FORMATS[format].contentType,
      bytes,
    };
  }
  if (!isTerminal(meeting.status)) {
    throw new ConflictError(
      'The meeting is not over yet: its recording is assembled when it ends',
      'RECORDING_NOT_READY',
    );
  }
  throw new NotFoundError(`Meeting ${meetingId} has no recording`, 'RECORDING_NOT_FOUND');
}

/**
 * Deletes everything archived for a meeting (chunks and the assembled file). Called by
 * DELETE /meetings/{meetingId} (core/rest/delete-meeting.ts); the `recordings/` lifecycle rule
 * expires them otherwise.
 */
export async function deleteRecording(meetingId: string, store: RecordingStore): Promise<number> {
  const keys = await store.list(meetingPrefix(meetingId));
  if (keys.length > 0) await store.delete(keys);
  return keys.length;
}
