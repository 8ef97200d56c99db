/**
 * The file-transcription routes of the REST API (`/jobs`), as data, beside REST_ROUTES: which
 * Lambda serves each, what each Lambda needs. Local mode (local/http-routes.ts) and the CDK
 * construct lib/constructs/file-jobs.ts read this table. Plain data: no SDK, no aws-cdk-lib.
 */
import * as z from 'zod';
import { CreateJobRequestSchema } from '../jobs/create-request';
import { JOB_LIMITS } from '../jobs/model';

const JobIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'jobId must be 1-64 letters, digits, _ or -');
export const JobPathSchema = z.object({ jobId: JobIdSchema });
export const ListJobsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(JOB_LIMITS.maxListLimit).default(20),
  cursor: z.string().min(1).max(1024).optional(),
});
export const CompleteUploadRequestSchema = z.strictObject({
  parts: z
    .array(
      z.strictObject({
        partNumber: z.number().int().min(1).max(JOB_LIMITS.maxParts),
        etag: z.string().min(1).max(200),
      }),
    )
    .max(JOB_LIMITS.maxParts)
    .default([]),
});
export { CreateJobRequestSchema };

/** What each jobs Lambda touches (lib/constructs/file-jobs.ts grants exactly this; `bucket` = access under uploads/). */
export const JOB_LAMBDAS = {
  'http-create-job': {
    description: 'POST /jobs: job, its meeting, presigned upload',
    tables: { jobs: ['PutItem'], meetings: ['PutItem'] },
    bucket: 'write',
    queue: false,
  },
  'http-complete-upload': {
    description: 'POST /jobs/{jobId}/upload/complete: completes a multipart upload',
    tables: { jobs: ['GetItem', 'UpdateItem'] },
    bucket: 'readWrite',
    queue: false,
  },
  'http-get-job': {
    description: 'GET /jobs/{jobId}',
    tables: { jobs: ['GetItem'] },
    bucket: 'none',
    queue: false,
  },
  'http-list-jobs': {
    description: 'GET /jobs (byOwner index, keys only; then BatchGetItem)',
    tables: { jobs: { table: ['BatchGetItem'], indexes: { byOwner: ['Query'] } } },
    bucket: 'none',
    queue: false,
  },
  'http-cancel-job': {
    description: 'DELETE /jobs/{jobId}: cancel; stage_change to subscribers',
    tables: { jobs: ['GetItem', 'UpdateItem'], meetings: ['UpdateItem'] },
    bucket: 'write',
    queue: true,
  },
} as const;
export type JobLambdaName = keyof typeof JOB_LAMBDAS;

export interface JobRouteDefinition {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly auth: true;
  readonly lambda: JobLambdaName;
  readonly summary: string;
}

export const JOB_ROUTES: readonly JobRouteDefinition[] = [
  {
    method: 'POST',
    path: '/jobs',
    auth: true,
    lambda: 'http-create-job',
    summary: 'Create a job and its upload',
  },
  { method: 'GET', path: '/jobs', auth: true, lambda: 'http-list-jobs', summary: 'Your jobs, newest first' },
  { method: 'GET', path: '/jobs/{jobId}', auth: true, lambda: 'http-get-job', summary: 'A job’s state' },
  { method: 'DELETE', path: '/jobs/{jobId}', auth: true, lambda: 'http-cancel-job', summary: 'Cancel a job' },
  {
    method: 'POST',
    path: '/jobs/{jobId}/upload/complete',
    auth: true,
    lambda: 'http-complete-upload',
    summary: 'Complete a multipart upload',
  },
];
