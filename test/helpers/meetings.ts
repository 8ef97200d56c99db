import type { Meeting } from '../../core/meetings/model';
import type { Segment } from '../../core/pipeline/events';

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
