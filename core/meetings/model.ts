/** Meeting lifecycle, as clients see it in `status` events. */
export const MEETING_STATUSES = ['joining', 'live', 'paused', 'ended', 'failed', 'disconnecting'] as const;
export type MeetingStatus = (typeof MEETING_STATUSES)[number];

/** A transition a client asked the live session to make; the audio gateway applies them in order (see docs/architecture.md). */
export const DESIRED_STATES = ['run', 'pause', 'stop'] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];

// The zod schemas of a meeting's fields are in ./schemas.ts: this module is on every WebSocket
// route's cold path and imports no zod.

export interface Meeting {
  meetingId: string;
  ownerId: string;
  title: string;
  meetingUrl: string;
  botId?: string;
  status: MeetingStatus;
  /** The latest transition a client asked for (`commandLog`'s last entry, or `run`). */
  desiredState: DesiredState;
  /** Every transition a client asked for, in order; the audio gateway applies them all. */
  commandLog?: DesiredState[];
  /** How many of `commandLog` the audio gateway has applied. */
  commandsApplied?: number;
  /** Epoch ms until which a stopping gateway task is still publishing this meeting's last finals. */
  handoverUntil?: number;
  keywords: string[];
  language: string;
  /** Users (other than the owner) who may read the meeting. */
  sharedWith: string[];
  /** SHA-256 (hex) of the per-meeting Recall endpoint token; the token itself is never stored. */
  endpointTokenHash: string;
  /** Last transcript seq handed out (the counter lives here so it survives container restarts). */
  seqCounter: number;
  /** Increases with every status change; part of each status event's deduplication id. */
  statusEpoch: number;
  /** Highest final seq stored by the fan-out. */
  lastSeq: number;
  /** Subscriptions ever taken (ws-subscribe); a subscription's fan-out shard is its slot / 1,000. */
  subscriptionSlots?: number;
  /**
   * Meeting ms where the stored finals reach (the latest `endMs` the fan-out stored): a task
   * taking over after a crash re-transcribes the archived audio after it.
   */
  lastFinalEndMs?: number;
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
  /** Where the audio comes from: a Recall bot (absent = `recall`) or the owner's browser microphone. */
  source?: MeetingSource;
}

export const MEETING_SOURCES = ['recall', 'microphone'] as const;
export type MeetingSource = (typeof MEETING_SOURCES)[number];
