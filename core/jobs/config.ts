/** The file-worker container's settings (containers/file-worker), read once through core/config helpers. */
import { tmpdir } from 'node:os';
import { intEnv, optionalEnv, requireEnv } from '../config';
import { ConfigError } from '../errors';
import { QUEUES } from '../resources';

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
