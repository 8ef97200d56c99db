/**
 * The recording archive's settings, read once from the environment (the audio gateway sets
 * them; defaults suit AWS).
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bucketName, intEnv, optionalEnv } from '../config';
import { ConfigError } from '../errors';
import { RECORDING_FORMATS, type RecordingFormat } from './keys';

type Env = Record<string, string | undefined>;

export interface RecordingConfig {
  bucket: string;
  /** RECORDING_FORMAT: `webm` (Opus, default) or `wav`. */
  format: RecordingFormat;
  /** RECORDING_CHUNK_MS: meeting time per archive chunk (default 15000). */
  chunkMs: number;
  /** RECORDING_KEEP_CHUNKS=true keeps the chunks after assembly (default false). */
  keepChunks: boolean;
  /**
   * RECORDING_SPOOL_DIR: where the gateway spools each meeting's open chunk until its PUT
   * (default `<tmpdir>/parley-spool`; `memory` holds open chunks in memory instead).
   */
  spoolDir: string | undefined;
}

/** Where open chunks are spooled unless RECORDING_SPOOL_DIR says otherwise. */
export function defaultSpoolRoot(): string {
  return path.join(tmpdir(), 'parley-spool');
}

export function loadRecordingConfig(env: Env = process.env): RecordingConfig {
  const format = optionalEnv('RECORDING_FORMAT', env) ?? 'webm';
  if (!Object.hasOwn(RECORDING_FORMATS, format)) {
    throw new ConfigError(
      `RECORDING_FORMAT environment variable must be one of ${Object.keys(RECORDING_FORMATS).join(', ')}, got "${format}"`,
    );
  }
  const chunkMs = intEnv('RECORDING_CHUNK_MS', 15_000, env);
  if (chunkMs < 100 || chunkMs > 300_000) {
    throw new ConfigError(`RECORDING_CHUNK_MS environment variable must be 100..300000, got ${chunkMs}`);
  }
  const spoolDir = optionalEnv('RECORDING_SPOOL_DIR', env) ?? defaultSpoolRoot();
  return {
    bucket: bucketName('media', env),
    format: format as RecordingFormat,
    chunkMs,
    keepChunks: optionalEnv('RECORDING_KEEP_CHUNKS', env) === 'true',
    spoolDir: spoolDir === 'memory' ? undefined : spoolDir,
  };
}
