/**
 * Builds realtime messages exactly as Recall v1.11 puts them on the websocket, typed by the same
 * wire schemas Parley parses with (core/recall/realtime-schema.ts).
 */
import type {
  AudioMixedRawEvent,
  AudioSeparateRawEvent,
  ParticipantEvent,
  RecallParticipantWire,
} from '../../core/recall/realtime-schema';
import type { FixtureParticipant } from './fixture';
import type { TimelineParticipantEvent } from './timeline';

export interface MessageContext {
  botId: string;
  botMetadata: Record<string, unknown>;
  recordingId: string;
  realtimeEndpointId: string;
  audioMixedId: string;
  audioSeparateId: string;
  participantEventsId: string;
  /** Wall-clock time (epoch ms) of meeting time 0. */
  meetingStartEpochMs: number;
}

function timestamp(ctx: MessageContext, tMs: number) {
  return { relative: tMs / 1000, absolute: new Date(ctx.meetingStartEpochMs + tMs).toISOString() };
}

function refs(ctx: MessageContext) {
  return {
    realtime_endpoint: { id: ctx.realtimeEndpointId, metadata: {} },
    recording: { id: ctx.recordingId, metadata: {} },
    bot: { id: ctx.botId, metadata: ctx.botMetadata },
  };
}

export function wireParticipant(participant: FixtureParticipant): RecallParticipantWire {
  return {
    id: participant.id,
    name: participant.name,
    is_host: participant.isHost,
    platform: 'desktop',
    extra_data: {},
    email: null,
  };
}

export function mixedAudioMessage(ctx: MessageContext, tMs: number, pcm: Buffer): AudioMixedRawEvent {
  return {
    event: 'audio_mixed_raw.data',
    data: {
      data: { buffer: pcm.toString('base64'), timestamp: timestamp(ctx, tMs) },
      ...refs(ctx),
      audio_mixed: { id: ctx.audioMixedId, metadata: {} },
    },
  };
}

export function separateAudioMessage(
  ctx: MessageContext,
  tMs: number,
  pcm: Buffer,
  participant: FixtureParticipant,
): AudioSeparateRawEvent {
  return {
    event: 'audio_separate_raw.data',
    data: {
      data: {
        buffer: pcm.toString('base64'),
        timestamp: timestamp(ctx, tMs),
        participant: wireParticipant(participant),
      },
      ...refs(ctx),
      audio_separate: { id: ctx.audioSeparateId, metadata: {} },
    },
  };
}

export function participantMessage(
  ctx: MessageContext,
  tMs: number,
  event: TimelineParticipantEvent,
  participant: FixtureParticipant,
): ParticipantEvent {
  return {
    event,
    data: {
      data: { participant: wireParticipant(participant), timestamp: timestamp(ctx, tMs), data: null },
      ...refs(ctx),
      participant_events: { id: ctx.participantEventsId, metadata: {} },
    },
  };
}
