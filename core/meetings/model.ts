import * as z from 'zod';

/** Meeting lifecycle, as clients see it in `status` events. */
export const MEETING_STATUSES = ['joining', 'live', 'paused', 'ended', 'failed', 'disconnecting'] as const;
export const MeetingStatusSchema = z.enum(MEETING_STATUSES);
export type MeetingStatus = z.infer<typeof MeetingStatusSchema>;

/** A transition a client asked the live session to make; the audio gateway applies them in order (see docs/architecture.md). */
export const DESIRED_STATES = ['run', 'pause', 'stop'] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];

export const KeywordsSchema = z
  .array(z.string().trim().min(1).max(64))
  .max(50)
  .transform((words) => [...new Set(words.map((w) => w.toLowerCase()))]);

export const LanguageSchema = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Za-z]{2,4})?$/, 'language must be a BCP-47 tag such as "en" or "en-US"');

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
