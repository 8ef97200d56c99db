/**
 * The REST side of file transcription: create a job with its presigned upload (one PUT, or a
 * multipart upload with presigned parts above the multipart threshold, loadUploadLimits), complete a
 * multipart upload, read, list and cancel jobs. The upload's arrival in S3 starts the job (an
 * S3 event notification to the file-jobs queue); nothing here starts the worker.
 */
import { randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import type { Meeting } from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import type { JobEvent, PipelineEvent } from '../pipeline/events';
import { loadUploadLimits, type UploadLimits } from './config';
import type { CreateJobRequest } from './create-request';
import {
  JOB_LIMITS,
  type Job,
  type JobStage,
  jobView,
  partSizeFor,
  TERMINAL_JOB_STAGES,
  uploadKeyFor,
} from './model';
import type { JobRepository } from './repository';

export interface JobServiceDeps {
  jobs: JobRepository;
  meetings: Pick<MeetingRepository, 'create' | 'setStatusIf'>;
  s3: S3Client;
  bucket: string;
  /** Upload splitting; default: read from the environment at each request (loadUploadLimits). */
  uploadLimits?: UploadLimits;
  /** Sends a job event to the transcript pipeline (cancel notifies subscribers). */
  publish?: (event: PipelineEvent) => Promise<void>;
}

export type UploadInstructions =
  | { method: 'PUT'; url: string; headers: Record<string, string>; expiresAt: string }
  | {
      method: 'MULTIPART';
      partSizeBytes: number;
      parts: { partNumber: number; url: string; sizeBytes: number }[];
      /** POST here with `{ parts: [{ partNumber, etag }] }` once every part is uploaded. */
      completeUrl: string;
      expiresAt: string;
    };

export function jobNotFound(jobId: string): NotFoundError {
  return new NotFoundError(`Job ${jobId} not found`, 'JOB_NOT_FOUND');
}

/** A job the caller owns; someone else's job is answered exactly like a missing one. */
export async function ownedJob(
  jobs: Pick<JobRepository, 'get'>,
  jobId: string,
  userId: string,
): Promise<Job> {
  const job = await jobs.get(jobId);
  if (!job || job.ownerId !== userId) throw jobNotFound(jobId);
  return job;
}

export async function createJob(
  userId: string,
  body: CreateJobRequest,
  deps: JobServiceDeps,
  now = new Date(),
): Promise<{ job: Record<string, unknown>; upload: UploadInstructions }> {
  const jobId = randomUUID();
  const iso = now.toISOString();
  const title = body.title ?? body.fileName;
  const uploadKey = uploadKeyFor(jobId, body.fileName);
  const expiresAt = Math.floor(now.getTime() / 1000) + JOB_LIMITS.retentionDays * 86_400;
  const urlExpiry = new Date(now.getTime() + JOB_LIMITS.uploadUrlSeconds * 1000).toISOString();

  let upload: UploadInstructions;
  let uploadId: string | undefined;
  const limits = deps.uploadLimits ?? loadUploadLimits();
  let partSizeBytes: number | undefined;
  if (body.sizeBytes <= limits.multipartThresholdBytes) {
    const url = await getSignedUrl(
      deps.s3,
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: uploadKey,
        ContentType: body.contentType,
        ContentLength: body.sizeBytes,
      }),
      { expiresIn: JOB_LIMITS.uploadUrlSeconds, signableHeaders: new Set(['content-type']) },
    );
    upload = { method: 'PUT', url, headers: { 'content-type': body.contentType }, expiresAt: urlExpiry };
  } else {
    const created = await deps.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: deps.bucket,
        Key: uploadKey,
        ContentType: body.contentType,
      }),
    );
    uploadId = created.UploadId;
    if (!uploadId) throw new Error('S3 returned no UploadId');
    const partSize = partSizeFor(body.sizeBytes, limits.partSizeBytes);
    partSizeBytes = partSize;
    const count = Math.ceil(body.sizeBytes / partSize);
    const parts = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const partNumber = i + 1;
        const sizeBytes = Math.min(partSize, body.sizeBytes - i * partSize);
        const url = await getSignedUrl(
          deps.s3,
          new UploadPartCommand({
            Bucket: deps.bucket,
            Key: uploadKey,
            UploadId: uploadId,
            PartNumber: partNumber,
          }),
          { expiresIn: JOB_LIMITS.uploadUrlSeconds },
        );
        return { partNumber, url, sizeBytes };
      }),
    );
    upload = {
      method: 'MULTIPART',
      partSizeBytes: partSize,
      parts,
      completeUrl: `/jobs/${jobId}/upload/complete`,
      expiresAt: urlExpiry,
    };
  }

  const meeting: Meeting = {
    meetingId: jobId,
    ownerId: userId,
    title,
    meetingUrl: `upload:${body.fileName}`,
    status: 'joining',
    desiredState: 'run',
    keywords: body.keywords ?? [],
    language: body.language ?? 'en',
    sharedWith: [],
    endpointTokenHash: '',
    seqCounter: 0,
    statusEpoch: 0,
    lastSeq: 0,
    createdAt: iso,
    updatedAt: iso,
  };
  await deps.meetings.create(meeting);
  const job: Job = {
    jobId,
    ownerId: userId,
    stage: 'uploading',
    percent: 0,
    fileName: body.fileName,
    contentType: body.contentType,
    sizeBytes: body.sizeBytes,
    language: body.language ?? 'en',
    keywords: body.keywords ?? [],
    title,
    uploadKey,
    ...(uploadId ? { uploadId, partSizeBytes } : {}),
    meetingId: jobId,
    audioSecondsProcessed: 0,
    checkpointSeq: 0,
    checkpointMs: 0,
    segments: 0,
    attempts: 0,
    createdAt: iso,
    updatedAt: iso,
    expiresAt,
  };
  await deps.jobs.create(job);
  return { job: jobView(job), upload };
}

/** Completes a multipart upload; S3 then notifies the jobs queue, which starts the job. */
export async function completeUpload(
  userId: string,
  jobId: string,
  body: { parts: { partNumber: number; etag: string }[] },
  deps: Pick<JobServiceDeps, 'jobs' | 's3' | 'bucket'>,
): Promise<Record<string, unknown>> {
  const job = await ownedJob(deps.jobs, jobId, userId);
  if (job.stage !== 'uploading') {
    throw new ConflictError(`Job ${jobId} is ${job.stage}, not uploading`, 'INVALID_STATE');
  }
  if (!job.uploadId) {
    // Single PUT: nothing to complete; say whether the object is there.
    const head = await deps.s3
      .send(new HeadObjectCommand({ Bucket: deps.bucket, Key: job.uploadKey }))
      .catch(() => undefined);
    if (!head)
      throw new ValidationError(
        'The file has not been uploaded yet (PUT it to the upload URL)',
        'UPLOAD_INCOMPLETE',
      );
    return jobView(job);
  }
  const expected = Math.ceil(job.sizeBytes / (job.partSizeBytes ?? partSizeFor(job.sizeBytes)));
  const numbers = body.parts.map((p) => p.partNumber);
  const complete =
    numbers.length === expected && [...numbers].sort((a, b) => a - b).every((n, i) => n === i + 1);
  if (!complete) {
    throw new ValidationError(
      `Send all ${expected} parts (numbers 1-${expected}, each once)`,
      'UPLOAD_INCOMPLETE',
    );
  }
  try {
    await deps.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: deps.bucket,
        Key: job.uploadKey,
        UploadId: job.uploadId,
        MultipartUpload: {
          Parts: [...body.parts]
            .sort((a, b) => a.partNumber - b.partNumber)
            .map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })),
        },
      }),
    );
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (
      name === 'InvalidPart' ||
      name === 'InvalidPartOrder' ||
      name === 'EntityTooSmall' ||
      name === 'NoSuchUpload'
    ) {
      throw new ValidationError(`S3 refused the parts: ${name}`, 'UPLOAD_INCOMPLETE');
    }
    throw error;
  }
  const updated = await deps.jobs.update(jobId, {}, { from: ['uploading'], remove: ['uploadId'] });
  return jobView(updated ?? job);
}

export async function getJob(userId: string, jobId: string, deps: Pick<JobServiceDeps, 'jobs'>) {
  return jobView(await ownedJob(deps.jobs, jobId, userId));
}

/** Cancels a job that has not ended: the worker sees it at its next progress write and stops. */
export async function cancelJob(
  userId: string,
  jobId: string,
  deps: JobServiceDeps,
): Promise<Record<string, unknown>> {
  const job = await ownedJob(deps.jobs, jobId, userId);
  if (TERMINAL_JOB_STAGES.has(job.stage)) {
    throw new ConflictError(`Job ${jobId} has already ended (${job.stage})`, 'INVALID_STATE');
  }
  const now = new Date().toISOString();
  const cancelled = await deps.jobs.update(jobId, { stage: 'cancelled', finishedAt: now, etaSeconds: 0 });
  if (!cancelled) {
    const latest = await ownedJob(deps.jobs, jobId, userId);
    throw new ConflictError(`Job ${jobId} has already ended (${latest.stage})`, 'INVALID_STATE');
  }
  if (job.uploadId) {
    await deps.s3
      .send(
        new AbortMultipartUploadCommand({ Bucket: deps.bucket, Key: job.uploadKey, UploadId: job.uploadId }),
      )
      .catch(() => undefined); // the bucket's lifecycle rule aborts it after a day anyway
  }
  await deps.meetings.setStatusIf(jobId, 'ended', ['joining', 'live']);
  if (deps.publish) await deps.publish(stageEvent(jobId, job.stage, 'cancelled', cancelled.percent, now));
  return jobView(cancelled);
}

export function stageEvent(
  jobId: string,
  from: JobStage,
  to: JobStage,
  percent: number,
  timestamp: string,
): JobEvent {
  return {
    v: 1,
    type: 'job',
    jobId,
    eventId: randomUUID(),
    messages: [{ type: 'stage_change', payload: { from, to, percent, timestamp } }],
  };
}

export async function listJobs(
  userId: string,
  query: { limit: number; cursor?: string },
  deps: Pick<JobServiceDeps, 'jobs'>,
): Promise<{ jobs: Record<string, unknown>[]; nextCursor: string | null }> {
  let start: Record<string, unknown> | undefined;
  if (query.cursor) {
    try {
      const decoded = JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      if (
        decoded.ownerId !== userId ||
        typeof decoded.jobId !== 'string' ||
        typeof decoded.createdAt !== 'string'
      )
        throw new Error('not this listing');
      start = { ownerId: userId, jobId: decoded.jobId, createdAt: decoded.createdAt };
    } catch {
      throw new ValidationError('The cursor is not one this API issued for this listing', 'INVALID_CURSOR');
    }
  }
  const page = await deps.jobs.listByOwner(userId, { limit: query.limit, cursor: start });
  return {
    jobs: page.items.map(jobView),
    nextCursor: page.cursor ? Buffer.from(JSON.stringify(page.cursor)).toString('base64url') : null,
  };
}
