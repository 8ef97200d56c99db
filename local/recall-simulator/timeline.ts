/**
 * Turns a meeting fixture into the ordered list of things a bot sends, on the meeting clock:
 * participant joins at 0, speech_on/speech_off at each floor-script segment, one audio frame
 * every `frameMs`, and leaves once the audio has run out. Computed once per simulator.
 */
import type { MeetingFixture } from './fixture';

export type TimelineParticipantEvent =
  | 'participant_events.join'
  | 'participant_events.leave'
  | 'participant_events.speech_on'
  | 'participant_events.speech_off';

export type TimelineItem =
  | { t: number; kind: 'participant'; event: TimelineParticipantEvent; participantId: number }
  | {
      t: number;
      kind: 'audio';
      /** Byte range of the fixture PCM. */
      offset: number;
      length: number;
      /**
       * Participant whose separate stream carries this frame: the speaker of the latest segment
       * started by the frame's midpoint (the first speaker before any). Everyone else sends
       * nothing, as if muted, so the separate streams add up to the mixed one exactly.
       */
      floorHolder: number;
    };

export function buildTimeline(fixture: MeetingFixture, frameMs: number): TimelineItem[] {
  const bytesPerFrame = (frameMs * 32_000) / 1000;
  const items: Array<TimelineItem & { order: number }> = [];
  let order = 0;
  const push = (item: TimelineItem) => items.push({ ...item, order: order++ });

  for (const participant of fixture.participants) {
    push({ t: 0, kind: 'participant', event: 'participant_events.join', participantId: participant.id });
  }
  for (const segment of fixture.segments) {
    push({
      t: segment.startMs,
      kind: 'participant',
      event: 'participant_events.speech_on',
      participantId: segment.participantId,
    });
    push({
      t: segment.endMs,
      kind: 'participant',
      event: 'participant_events.speech_off',
      participantId: segment.participantId,
    });
  }
  const firstSpeaker = fixture.segments[0]?.participantId ?? fixture.participants[0]?.id ?? 0;
  let segmentIndex = -1;
  for (let offset = 0, frame = 0; offset < fixture.pcm.length; offset += bytesPerFrame, frame++) {
    const t = frame * frameMs;
    const mid = t + frameMs / 2;
    while (segmentIndex + 1 < fixture.segments.length && fixture.segments[segmentIndex + 1]!.startMs <= mid) {
      segmentIndex++;
    }
    const floorHolder = segmentIndex >= 0 ? fixture.segments[segmentIndex]!.participantId : firstSpeaker;
    push({
      t,
      kind: 'audio',
      offset,
      length: Math.min(bytesPerFrame, fixture.pcm.length - offset),
      floorHolder,
    });
  }
  for (const participant of fixture.participants) {
    push({
      t: fixture.durationMs,
      kind: 'participant',
      event: 'participant_events.leave',
      participantId: participant.id,
    });
  }
  // At equal times participant events go first (a speech_on precedes the audio it announces).
  items.sort((a, b) => a.t - b.t || rank(a) - rank(b) || a.order - b.order);
  return items.map(({ order: _order, ...item }) => item as TimelineItem);
}

function rank(item: TimelineItem): number {
  return item.kind === 'participant' ? 0 : 1;
}
