/**
 * Builds the audio gateway's extensions from configuration: the recording archive (always) and
 * browser microphones (when an OIDC issuer is configured to verify user tokens).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { createJwtVerifier } from '../auth/jwt-verifier';
import { s3 } from '../clients/s3';
import { intEnv, optionalEnv } from '../config';
import { ConfigError } from '../errors';
import type { MeetingRepository } from '../meetings/repository';
import { loadRecordingConfig, type RecordingConfig } from '../recordings/config';
import { S3RecordingStore } from '../recordings/store';
import { BrowserIngress } from './browser-ingress';
import { MIC_LIMITS, type MicLimits } from './chunk-protocol';
import { LiveAudioExtensions } from './gateway-extensions';
import { RecordingArchiver } from './recording-archiver';

export interface LiveAudioOptions {
  repo: Pick<MeetingRepository, 'get'>;
  logger: Logger;
  recording?: RecordingConfig;
  micLimits?: Partial<MicLimits>;
  /** How long a microphone meeting waits for its stream to return (default 10 min). */
  micReconnectGraceMs?: number;
}

export function createLiveAudio(opts: LiveAudioOptions, env = process.env): LiveAudioExtensions {
  const recording = opts.recording ?? loadRecordingConfig(env);
  const store = new S3RecordingStore(s3(), recording.bucket);
  const archiver = new RecordingArchiver({
    store,
    repo: opts.repo,
    format: recording.format,
    chunkMs: recording.chunkMs,
    keepChunks: recording.keepChunks,
    ...(recording.spoolDir ? { spoolDir: recording.spoolDir } : {}),
    logger: opts.logger,
  });
  const issuer = optionalEnv('OIDC_ISSUER', env);
  const audience = optionalEnv('OIDC_AUDIENCE', env);
  if (!issuer || !audience) {
    opts.logger.warn('OIDC_ISSUER / OIDC_AUDIENCE not set: browser microphones are off');
    return new LiveAudioExtensions(archiver, undefined);
  }
  const browser = new BrowserIngress({
    verifier: createJwtVerifier({ issuer, audience, jwksUri: optionalEnv('OIDC_JWKS_URI', env) }),
    repo: opts.repo,
    archiver,
    store,
    logger: opts.logger,
    limits: { ...loadMicBackpressure(env), ...opts.micLimits },
    reconnectGraceMs: opts.micReconnectGraceMs,
  });
  return new LiveAudioExtensions(archiver, browser);
}

/**
 * MIC_HOLD_AT_MS / MIC_RESUME_AT_MS: the microphone backpressure thresholds (audio accepted but
 * not yet stored or not yet sent to the speech engine; docs/protocol.md "Limits"). Defaults
 * 45,000 / 20,000; `resume` must be below `hold`, and `hold` below the 4429 limit.
 */
export function loadMicBackpressure(env: Record<string, string | undefined> = process.env): {
  holdAtMs: number;
  resumeAtMs: number;
} {
  const holdAtMs = intEnv('MIC_HOLD_AT_MS', MIC_LIMITS.holdAtMs, env);
  const resumeAtMs = intEnv('MIC_RESUME_AT_MS', Math.min(MIC_LIMITS.resumeAtMs, holdAtMs >> 1), env);
  if (holdAtMs < 1_000 || holdAtMs >= MIC_LIMITS.maxPendingMs) {
    throw new ConfigError(
      `MIC_HOLD_AT_MS environment variable must be 1000..${MIC_LIMITS.maxPendingMs - 1}, got ${holdAtMs}`,
    );
  }
  if (resumeAtMs >= holdAtMs) {
    throw new ConfigError(
      `MIC_RESUME_AT_MS environment variable must be below MIC_HOLD_AT_MS (${holdAtMs}), got ${resumeAtMs}`,
    );
  }
  return { holdAtMs, resumeAtMs };
}
