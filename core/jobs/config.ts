/**
 * File-job settings read through core/config helpers: the file-worker container's
 * (containers/file-worker) and the upload limits POST /jobs applies.
 */
import { tmpdir } from 'node:os';
import { intEnv, optionalEnv, requireEnv } from '../config';
import { ConfigError } from '../errors';
import { QUEUES } from '../resources';
import { JOB_LIMITS } from './model';

type Env = Record<string, string | undefined>;

export interface FileWorkerConfig {
  deepgramApiKey: string;
  deepgramUrl: string | undefined;
  deepgramModel: string;
  /** Jobs one task runs at once. */
  concurrency: number;
  /** A lost worker's job is resumed elsewhere after this long. */
  visibilityTimeoutSeconds: number;
  /** Where downloads are kept while a job runs (the task's ephemeral storage). */
  tmpDir: string;
  shutdownTimeoutMs: number;
}

export function loadFileWorkerConfig(env: Env = process.env): FileWorkerConfig {
  const deepgramUrl = optionalEnv('DEEPGRAM_URL', env);
  if (deepgramUrl !== undefined && !/^wss?:\/\//.test(deepgramUrl)) {
    throw new ConfigError(
      `DEEPGRAM_URL environment variable must be a ws:// or wss:// URL, got "${deepgramUrl}"`,
    );
  }
  const visibility = intEnv('JOB_VISIBILITY_TIMEOUT_SECONDS', QUEUES.fileJobs.visibilityTimeoutSeconds, env);
  if (visibility < 2 || visibility > 43_200) {
    throw new ConfigError('JOB_VISIBILITY_TIMEOUT_SECONDS environment variable must be between 2 and 43200');
  }
  return {
    deepgramApiKey: requireEnv('DEEPGRAM_API_KEY', env),
    deepgramUrl,
    deepgramModel: optionalEnv('DEEPGRAM_MODEL', env) ?? 'nova-3',
    concurrency: Math.max(1, intEnv('WORKER_CONCURRENCY', 1, env)),
    visibilityTimeoutSeconds: visibility,
    tmpDir: optionalEnv('JOB_TMP_DIR', env) ?? tmpdir(),
    shutdownTimeoutMs: intEnv('SHUTDOWN_TIMEOUT_MS', 60_000, env),
  };
}

/** How POST /jobs splits uploads (docs/rest-api.md "File transcription limits"). */
export interface UploadLimits {
  /** Files above this size upload in parts; at or below it, with one PUT. */
  multipartThresholdBytes: number;
  /** Smallest part size (S3 takes parts of 5 MiB to 5 GiB, the last one smaller). */
  partSizeBytes: number;
}

const MIB = 1024 ** 2;
/** S3's smallest part (every part but the last). */
export const S3_MIN_PART_BYTES = 5 * MIB;
const S3_MAX_PART_BYTES = 5 * 1024 * MIB;

/**
 * JOB_MULTIPART_THRESHOLD_BYTES and JOB_PART_SIZE_BYTES, defaulting to JOB_LIMITS (64 MiB and
 * 16 MiB). Read at each request, so a deployment (or a test) may lower them; the part size
 * stays within S3's 5 MiB–5 GiB.
 */
export function loadUploadLimits(env: Env = process.env): UploadLimits {
  const partSizeBytes = intEnv('JOB_PART_SIZE_BYTES', JOB_LIMITS.partSizeBytes, env);
  if (partSizeBytes < S3_MIN_PART_BYTES || partSizeBytes > S3_MAX_PART_BYTES) {
    throw new ConfigError(
      `JOB_PART_SIZE_BYTES environment variable must be between ${S3_MIN_PART_BYTES} (5 MiB) and ${S3_MAX_PART_BYTES} (5 GiB), got ${partSizeBytes}`,
    );
  }
  const multipartThresholdBytes = intEnv(
    'JOB_MULTIPART_THRESHOLD_BYTES',
    JOB_LIMITS.multipartThresholdBytes,
    env,
  );
  if (multipartThresholdBytes < 1 || multipartThresholdBytes > S3_MAX_PART_BYTES) {
    throw new ConfigError(
      `JOB_MULTIPART_THRESHOLD_BYTES environment variable must be between 1 and ${S3_MAX_PART_BYTES} (5 GiB), got ${multipartThresholdBytes}`,
    );
  }
  return { multipartThresholdBytes, partSizeBytes };
}
