/**
 * `GET /meetings/{id}/transcript`: finals in seq order, as paged JSON or as a whole-file
 * download (txt, srt, vtt).
 */
import type { MeetingRepository } from '../meetings/repository';
import {
  contentDisposition,
  formatTranscript,
  TRANSCRIPT_CONTENT_TYPES,
  type TranscriptFileFormat,
} from '../transcript/formats';
import type { SegmentRepository, StoredSegment } from '../transcript/segment-repository';
import { readableMeeting } from './access';
import { decodeTranscriptCursor, encodeTranscriptCursor } from './cursor';
import type { TranscriptSegmentView } from './schemas';

export interface TranscriptDeps {
  meetings: Pick<MeetingRepository, 'get'>;
  segments: Pick<SegmentRepository, 'list' | 'all'>;
}

export interface TranscriptFile {
  body: string;
  contentType: string;
  contentDisposition: string;
}

function segmentView(s: StoredSegment): TranscriptSegmentView {
  return {
    seq: s.seq,
    speaker: s.speaker,
    text: s.text,
    startMs: s.startMs,
    endMs: s.endMs,
    confidence: s.confidence,
    timestamp: s.timestamp,
  };
}

export async function getTranscriptPage(
  userId: string,
  meetingId: string,
  query: { limit: number; cursor?: string },
  deps: TranscriptDeps,
): Promise<{ meetingId: string; segments: TranscriptSegmentView[]; nextCursor: string | null }> {
  const meeting = await readableMeeting(deps.meetings, meetingId, userId);
  const afterSeq = query.cursor ? decodeTranscriptCursor(query.cursor, meeting.meetingId) : 0;
  const page = await deps.segments.list(meeting.meetingId, { afterSeq, limit: query.limit });
  const last = page.items.at(-1);
  return {
    meetingId: meeting.meetingId,
    segments: page.items.map(segmentView),
    nextCursor: page.cursor && last ? encodeTranscriptCursor(meeting.meetingId, last.seq) : null,
  };
}

export async function getTranscriptFile(
  userId: string,
  meetingId: string,
  format: TranscriptFileFormat,
  deps: TranscriptDeps,
): Promise<TranscriptFile> {
  const meeting = await readableMeeting(deps.meetings, meetingId, userId);
  const segments: StoredSegment[] = [];
  for await (const segment of deps.segments.all(meeting.meetingId)) segments.push(segment);
  return {
    body: formatTranscript(format, segments, meeting.title),
    contentType: TRANSCRIPT_CONTENT_TYPES[format],
    contentDisposition: contentDisposition(`${meeting.title} transcript`, format),
  };
}
