import type { Meeting } from '../../core/meetings/model';
import { MeetingRepository } from '../../core/meetings/repository';
import { newMeetingRecord } from '../../core/meetings/service';
import type { PipelineEvent, Segment, TranscriptEvent } from '../../core/pipeline/events';

/** A live meeting item as the repository stores it, keyword `budget`; `fields` override any attribute. */
export function liveMeeting(meetingId: string, fields: Partial<Meeting> = {}): Meeting {
  const at = new Date().toISOString();
  return {
    meetingId,
    ownerId: 'owner-1',
    title: `Meeting ${meetingId}`,
    meetingUrl: 'https://meet.example.com/abc',
    status: 'live',
    desiredState: 'run',
    keywords: ['budget'],
    language: 'en',
    sharedWith: [],
    endpointTokenHash: 'x'.repeat(64),
    seqCounter: 0,
    statusEpoch: 1,
    lastSeq: 0,
    createdAt: at,
    updatedAt: at,
    ...fields,
  };
}

/** An ended meeting item with no keywords, created and last updated `at`; `fields` override any attribute. */
export function endedMeeting(meetingId: string, at: Date, fields: Partial<Meeting> = {}): Meeting {
  const iso = at.toISOString();
  return liveMeeting(meetingId, { status: 'ended', keywords: [], createdAt: iso, updatedAt: iso, ...fields });
}

/** A final segment of `meetingId` by Ada, one second per seq. */
export function finalSegment(meetingId: string, seq: number, text: string): Segment {
  return {
    id: `${meetingId}:${seq}`,
    seq,
    revision: 1,
    text,
    speaker: 'Ada',
    confidence: 0.9,
    startMs: seq * 1000,
    endMs: seq * 1000 + 900,
    timestamp: new Date().toISOString(),
    isFinal: true,
  };
}

/** The transcript event of `meetingId` that carries `segment`. */
export function transcriptEvent(meetingId: string, segment: Segment): TranscriptEvent {
  return { v: 1, type: 'transcript', meetingId, segment };
}

/** A transcript event carrying `finalSegment(meetingId, seq, text)`. */
export function finalEvent(meetingId: string, seq: number, text = `line ${seq}`): PipelineEvent {
  return transcriptEvent(meetingId, finalSegment(meetingId, seq, text));
}

export interface LiveMeetingInput {
  ownerId?: string;
  title?: string;
  keywords?: string[];
  /** Readers besides the owner. */
  sharedWith?: string[];
}

/** Creates a live meeting through the real repository (no bot) and returns its id. */
export async function createLiveMeeting(input: LiveMeetingInput = {}): Promise<string> {
  const { meeting } = newMeetingRecord({
    ownerId: input.ownerId ?? 'alice',
    title: input.title ?? 'test meeting',
    meetingUrl: 'local://none',
    keywords: input.keywords,
    status: 'live',
  });
  await new MeetingRepository().create({ ...meeting, sharedWith: input.sharedWith ?? [] });
  return meeting.meetingId;
}

/** Creates a meeting (status `joining`, no bot) and returns its id with the Recall endpoint token. */
export async function meetingWithToken(
  ownerId = 'alice',
  title = 'gateway test',
): Promise<{ meetingId: string; token: string }> {
  const { meeting, token } = newMeetingRecord({ ownerId, title, meetingUrl: 'local://test' });
  await new MeetingRepository().create(meeting);
  return { meetingId: meeting.meetingId, token };
}
