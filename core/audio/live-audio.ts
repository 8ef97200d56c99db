/**
 * Builds the audio gateway's extensions from configuration: the recording archive (always) and
 * browser microphones (when an OIDC issuer is configured to verify user tokens).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { createJwtVerifier } from '../auth/jwt-verifier';
import { s3 } from '../clients/s3';
import { optionalEnv } from '../config';
import type { MeetingRepository } from '../meetings/repository';
import { loadRecordingConfig, type RecordingConfig } from '../recordings/config';
import { S3RecordingStore } from '../recordings/store';
import { BrowserIngress } from './browser-ingress';
import type { MicLimits } from './chunk-protocol';
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
    limits: opts.micLimits,
    reconnectGraceMs: opts.micReconnectGraceMs,
  });
  return new LiveAudioExtensions(archiver, browser);
}
