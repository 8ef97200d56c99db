/**
 * The contract between the audio gateway (producer) and the fan-out Lambda (consumer): the
 * body of every message on the transcript-events FIFO queue. Versioned with `v`.
 */
// zod/mini: `command` (a WebSocket route) sends these events, so they are on its cold path.
import * as z from 'zod/mini';
import { MeetingStatusSchema } from '../meetings/schemas';

/**
 * When a segment passed each hop, in epoch ms (docs/protocol.md "Latency"). Stamped by the
 * audio gateway (audioEndAt, resultAt, publishedAt) and the fan-out (fanoutAt, sentAt).
 */
export const SegmentTimingSchema = z.object({
  /** The gateway received the audio up to the segment's last word (from Recall or the mic). */
  audioEndAt: z.optional(z.number().check(z.int(), z.nonnegative())),
  /** The speech engine's result for it arrived at the gateway. */
  resultAt: z.optional(z.number().check(z.int(), z.nonnegative())),
  /** The gateway handed it to the SQS publisher. */
  publishedAt: z.optional(z.number().check(z.int(), z.nonnegative())),
  /** The fan-out Lambda took it from the queue. */
  fanoutAt: z.optional(z.number().check(z.int(), z.nonnegative())),
  /** The fan-out posted it to the subscribers. */
  sentAt: z.optional(z.number().check(z.int(), z.nonnegative())),
});
export type SegmentTiming = z.infer<typeof SegmentTimingSchema>;

export const SegmentSchema = z.object({
  /** `${meetingId}:${seq}` — stable across interim revisions and the final. */
  id: z.string().check(z.minLength(1), z.maxLength(200)),
  /** Unique and increasing per meeting; an interim carries the seq its final will take. */
  seq: z.number().check(z.int(), z.positive()),
  /** Interim revision (0, 1, 2 …); finals carry the revision after the last interim. */
  revision: z.number().check(z.int(), z.nonnegative()),
  text: z.string().check(z.maxLength(20_000)),
  speaker: z.string().check(z.minLength(1), z.maxLength(200)),
  confidence: z.number().check(z.gte(0), z.lte(1)),
  /** Milliseconds from meeting start. */
  startMs: z.number().check(z.int(), z.nonnegative()),
  endMs: z.number().check(z.int(), z.nonnegative()),
  /** ISO time the segment was produced. */
  timestamp: z.string(),
  isFinal: z.boolean(),
  /** Per-hop times (absent on segments stored before timing existed, and in replays). */
  timing: z.optional(SegmentTimingSchema),
  /**
   * A final re-transcribed from the recording archive after a gateway task crashed mid-utterance
   * (docs/architecture.md "Crash bound"): its seq is newer than its time suggests.
   */
  recovered: z.optional(z.literal(true)),
});
export type Segment = z.infer<typeof SegmentSchema>;

export const TranscriptEventSchema = z.object({
  v: z.literal(1),
  type: z.literal('transcript'),
  meetingId: z.string().check(z.minLength(1), z.maxLength(128)),
  segment: SegmentSchema,
  /**
   * Interim coalescing (core/pipeline/interim-coalescer.ts): 'skip' = read it (alerts) but post
   * no transcript line; 'refresh' = post only its transcript line (a skipped interim, re-sent
   * when its window ends). Absent: as usual.
   */
  display: z.optional(z.enum(['skip', 'refresh'])),
  /**
   * On an interim the gateway shows: the meeting's keywords as the gateway had them when it
   * decided (its command poll, ≤ 500 ms old; core/pipeline/interim-coalescer.ts). The fan-out
   * raises the interim's provisional alerts from these, so gateway and fan-out agree on which
   * interim raises one. Absent (a final, or a meeting the gateway does not know): the fan-out
   * reads them.
   */
  keywords: z.optional(z.array(z.string().check(z.maxLength(200))).check(z.maxLength(100))),
});
export type TranscriptEvent = z.infer<typeof TranscriptEventSchema>;

export const StatusEventSchema = z.object({
  v: z.literal(1),
  type: z.literal('status'),
  meetingId: z.string().check(z.minLength(1), z.maxLength(128)),
  status: MeetingStatusSchema,
  /** Per-meeting increasing number so each status change has its own deduplication id. */
  epoch: z.number().check(z.int(), z.nonnegative()),
  at: z.string(),
  reason: z.optional(z.string().check(z.maxLength(500))),
});
export type StatusEvent = z.infer<typeof StatusEventSchema>;

/**
 * Interims with a seq below `beforeSeq` that are not final by now never will be (the session
 * that produced them ended or crashed mid-utterance): clients drop them.
 */
export const InterimDroppedEventSchema = z.object({
  v: z.literal(1),
  type: z.literal('interim_dropped'),
  meetingId: z.string().check(z.minLength(1), z.maxLength(128)),
  beforeSeq: z.number().check(z.int(), z.positive()),
  at: z.string(),
});
export type InterimDroppedEvent = z.infer<typeof InterimDroppedEventSchema>;

/** Client messages of a file transcription job, for the job's subscribers (`job#<jobId>`). */
export const JobMessageSchema = z.object({
  type: z.enum(['progress_update', 'time_estimate', 'stage_change', 'complete', 'error']),
  payload: z.record(z.string(), z.unknown()),
});
export type JobMessage = z.infer<typeof JobMessageSchema>;

export const JobEventSchema = z.object({
  v: z.literal(1),
  type: z.literal('job'),
  jobId: z.string().check(z.minLength(1), z.maxLength(128)),
  /** Unique per event (its deduplication id). */
  eventId: z.string().check(z.minLength(1), z.maxLength(64)),
  /** Delivered in this order; a coalesced tick carries progress_update and time_estimate together. */
  messages: z.array(JobMessageSchema).check(z.minLength(1), z.maxLength(10)),
});
export type JobEvent = z.infer<typeof JobEventSchema>;

export const PipelineEventSchema = z.discriminatedUnion('type', [
  TranscriptEventSchema,
  StatusEventSchema,
  InterimDroppedEventSchema,
  JobEventSchema,
]);
export type PipelineEvent = z.infer<typeof PipelineEventSchema>;

/** FIFO message group: the meeting, or the job (whose transcript is the meeting with the same id). */
export function eventGroup(event: PipelineEvent): string {
  return event.type === 'job' ? event.jobId : event.meetingId;
}

/** FIFO deduplication id: same event → same id, so a retried send is stored once. */
export function deduplicationId(event: PipelineEvent): string {
  if (event.type === 'transcript') {
    const s = event.segment;
    const refresh = event.display === 'refresh' ? 'r' : '';
    return `${event.meetingId}:${s.seq}:${s.isFinal ? 'f' : `i${s.revision}${refresh}`}`.slice(0, 128);
  }
  if (event.type === 'interim_dropped') return `${event.meetingId}:drop:${event.beforeSeq}`.slice(0, 128);
  if (event.type === 'job') return `${event.jobId}:job:${event.eventId}`.slice(0, 128);
  return `${event.meetingId}:status:${event.epoch}:${event.status}`.slice(0, 128);
}

export function segmentId(meetingId: string, seq: number): string {
  return `${meetingId}:${seq}`;
}
