import type { Meeting } from '../../core/meetings/model';

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
