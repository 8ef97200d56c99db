/**
 * File transcription jobs: the stages a job moves through, the limits Parley enforces on
 * uploads, and the job item stored in the jobs table. docs/rest-api.md documents the limits.
 */

/** A job's stages in order; `complete`, `failed` and `cancelled` end it. */
export const JOB_STAGES = [
  'uploading',
  'queued',
  'decoding',
  'transcribing',
  'finalizing',
  'complete',
  'failed',
  'cancelled',
] as const;
export type JobStage = (typeof JOB_STAGES)[number];
export const TERMINAL_JOB_STAGES: ReadonlySet<JobStage> = new Set(['complete', 'failed', 'cancelled']);

/** Explicit limits (docs/rest-api.md "File transcription limits"). */
export const JOB_LIMITS = {
  /** Largest file accepted (4 GiB). */
  maxSizeBytes: 4 * 1024 ** 3,
  /** Longest recording accepted (4 h). */
  maxDurationSeconds: 4 * 3600,
  /** Files above this size upload in parts (multipart); at or below it, with one PUT. */
  multipartThresholdBytes: 64 * 1024 ** 2,
  /** Part size (S3's minimum is 5 MiB); grows for very large files so there are at most maxParts. */
  partSizeBytes: 16 * 1024 ** 2,
  maxParts: 256,
  /** How long presigned upload URLs stay valid. */
  uploadUrlSeconds: 3600,
  /** Unfinished jobs and their records expire after this many days (as the uploads/ prefix does). */
  retentionDays: 7,
  /** Jobs listed per page. */
  maxListLimit: 100,
} as const;

/** Media types accepted at upload; the worker still probes the content itself. */
export const ACCEPTED_CONTENT_TYPES = [
  'audio/mpeg',
  'audio/mp3',
  'audio/mp4',
  'audio/x-m4a',
  'audio/m4a',
  'audio/aac',
  'audio/wav',
  'audio/x-wav',
  'audio/wave',
  'audio/flac',
  'audio/x-flac',
  'audio/ogg',
  'audio/opus',
  'audio/webm',
  'video/mp4',
  'video/quicktime',
  'video/webm',
  'video/x-matroska',
] as const;

/** Typed reasons a job fails (`error.code` of the job and of its `error` event). */
export const JOB_ERROR_CODES = {
  UNSUPPORTED_MEDIA: 'The file is not audio or video Parley can read',
  NO_AUDIO_TRACK: 'The file has no audio track',
  EMPTY_MEDIA: 'The file is empty',
  DECODE_FAILED: 'The file is truncated or corrupt; what was transcribed before the damage is kept',
  MEDIA_TOO_LONG: 'The recording is longer than Parley accepts',
  FILE_TOO_LARGE: 'The file is larger than Parley accepts',
  UPLOAD_MISMATCH: 'The uploaded object does not match the job (size)',
  TRANSCRIPTION_FAILED: 'The speech service failed repeatedly; try again',
  INTERNAL_ERROR: 'Something went wrong on our side',
} as const;
export type JobErrorCode = keyof typeof JOB_ERROR_CODES;

// CreateJobRequestSchema lives in ./create-request.ts: this module is on the WebSocket routes'
// cold path (jobView) and imports no zod.

export interface JobError {
  code: JobErrorCode;
  message: string;
}

/** Progress as clients see it in `progress_update` and in the job state. */
export interface JobProgress {
  percent: number;
  stage: JobStage;
  bytesProcessed: number;
  bytesTotal: number;
  audioSecondsProcessed: number;
  audioSecondsTotal: number;
  /** Audio seconds transcribed per wall-clock second (× real time). */
  speed: number;
  timestamp: string;
}

export interface Job {
  jobId: string;
  ownerId: string;
  stage: JobStage;
  percent: number;
  fileName: string;
  contentType: string;
  sizeBytes: number;
  language: string;
  keywords: string[];
  title: string;
  /** S3 key of the upload (`uploads/jobs/<jobId>/<fileName>`). */
  uploadKey: string;
  /** Multipart upload id, while a multipart upload is open. */
  uploadId?: string;
  /** Part size of the multipart upload (the limits may change while it is open). */
  partSizeBytes?: number;
  /** The transcript lives in the meeting with this id (= jobId): same storage, formats, briefing. */
  meetingId: string;
  durationSeconds?: number;
  audioSecondsProcessed: number;
  speed?: number;
  etaSeconds?: number;
  etaConfidence?: number;
  /** Resume point: seq and end (ms) of the last final segment handed to the pipeline. */
  checkpointSeq: number;
  checkpointMs: number;
  segments: number;
  /** Worker attempts (1 = first run; more = resumed after a lost worker). */
  attempts: number;
  /**
   * The worker run that holds the job (one claim of one worker). Only it may write the job's
   * progress, and no other run may claim the job before `leaseExpiresAt` (docs/architecture.md
   * "File jobs: one run at a time").
   */
  leaseOwner?: string;
  /** Epoch ms until which `leaseOwner` holds the job; the run renews it while it is alive. */
  leaseExpiresAt?: number;
  error?: JobError;
  /** REST path of the finished transcript. */
  resultLocation?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** TTL (epoch seconds). */
  expiresAt: number;
}

/** The public view of a job: what GET /jobs/{id}, `get_state` and `subscribe_job` return. */
export type JobView = {
  jobId: string;
  meetingId: string;
  stage: JobStage;
  percent: number;
  fileName: string;
  contentType: string;
  sizeBytes: number;
  language: string;
  title: string;
  durationSeconds: number | null;
  audioSecondsProcessed: number;
  speed: number | null;
  etaSeconds: number | null;
  etaConfidence: number | null;
  segments: number;
  attempts: number;
  error: JobError | null;
  resultLocation: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};

export function jobView(job: Job): JobView {
  return {
    jobId: job.jobId,
    meetingId: job.meetingId,
    stage: job.stage,
    percent: job.percent,
    fileName: job.fileName,
    contentType: job.contentType,
    sizeBytes: job.sizeBytes,
    language: job.language,
    title: job.title,
    durationSeconds: job.durationSeconds ?? null,
    audioSecondsProcessed: job.audioSecondsProcessed,
    speed: job.speed ?? null,
    etaSeconds: job.etaSeconds ?? null,
    etaConfidence: job.etaConfidence ?? null,
    segments: job.segments,
    attempts: job.attempts,
    error: job.error ?? null,
    resultLocation: job.resultLocation ?? null,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    startedAt: job.startedAt ?? null,
    finishedAt: job.finishedAt ?? null,
  };
}

/** Part size for a multipart upload of `sizeBytes`: at least `minPartBytes`, whole MiB, ≤ maxParts parts. */
export function partSizeFor(sizeBytes: number, minPartBytes: number = JOB_LIMITS.partSizeBytes): number {
  const mib = 1024 ** 2;
  const needed = Math.ceil(sizeBytes / JOB_LIMITS.maxParts / mib) * mib;
  return Math.max(minPartBytes, needed);
}

/** The upload key of a job; the worker parses it back (the S3 event carries only the key). */
export function uploadKeyFor(jobId: string, fileName: string): string {
  const safe = fileName.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120) || 'upload';
  return `uploads/jobs/${jobId}/${safe}`;
}

/** The jobId of an upload key made by uploadKeyFor, or undefined. */
export function jobIdFromKey(key: string): string | undefined {
  const match = /^uploads\/jobs\/([A-Za-z0-9_-]{1,64})\//.exec(key);
  return match?.[1];
}
