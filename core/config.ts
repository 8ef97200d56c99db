/**
 * The one place Parley reads its environment. Every variable is read once, when a
 * section is first asked for, validated, and a missing or malformed one fails with a
 * message naming it. Local mode sets the same variable names the CDK stack sets.
 */
import { gatewayMaxSessions } from './audio/capacity';
import { parseSpeechEncoding, type SpeechEncoding } from './audio/speech-encoding';
import { ConfigError } from './errors';
import {
  BUCKETS,
  type BucketKey,
  FANOUT_SHARDS,
  QUEUES,
  type QueueKey,
  TABLES,
  type TableKey,
} from './resources';

type Env = Record<string, string | undefined>;

export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`${name} environment variable is not set`);
  }
  return value;
}

export function optionalEnv(name: string, env: Env = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

export function intEnv(name: string, fallback: number, env: Env = process.env): number {
  const raw = optionalEnv(name, env);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${name} environment variable must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

export function urlEnv(name: string, env: Env = process.env): string {
  const value = requireEnv(name, env);
  try {
    new URL(value);
  } catch {
    throw new ConfigError(`${name} environment variable must be a URL, got "${value}"`);
  }
  return value;
}

function once<T>(load: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => {
    cached ??= { value: load() };
    return cached.value;
  };
}

/** AWS client settings. Endpoints are set only in local mode. */
export interface AwsConfig {
  region: string;
  local: boolean;
  endpoints: { dynamodb?: string; sqs?: string; s3?: string };
}

export function loadAwsConfig(env: Env = process.env): AwsConfig {
  return {
    region: optionalEnv('AWS_REGION', env) ?? 'us-east-1',
    local: optionalEnv('PARLEY_LOCAL', env) === '1',
    endpoints: {
      dynamodb: optionalEnv('AWS_ENDPOINT_URL_DYNAMODB', env),
      sqs: optionalEnv('AWS_ENDPOINT_URL_SQS', env),
      s3: optionalEnv('AWS_ENDPOINT_URL_S3', env),
    },
  };
}
export const awsConfig = once(() => loadAwsConfig());

export function tableName(key: TableKey, env: Env = process.env): string {
  return requireEnv(TABLES[key].envVar, env);
}
export function queueUrl(key: QueueKey, env: Env = process.env): string {
  return urlEnv(QUEUES[key].envVar, env);
}
export function dlqUrl(key: QueueKey, env: Env = process.env): string {
  return urlEnv(QUEUES[key].dlq.envVar, env);
}
/** Connections per fan-out shard (`FANOUT_SHARD_SIZE`, 1…1,000; default 1,000). */
export function fanoutShardSize(env: Env = process.env): number {
  const size = intEnv(FANOUT_SHARDS.envVar, FANOUT_SHARDS.size, env);
  if (size < 1 || size > FANOUT_SHARDS.size) {
    throw new ConfigError(`${FANOUT_SHARDS.envVar} must be between 1 and ${FANOUT_SHARDS.size}, got ${size}`);
  }
  return size;
}

export function bucketName(key: BucketKey, env: Env = process.env): string {
  return requireEnv(BUCKETS[key].envVar, env);
}

/** The audio gateway container's settings (containers/audio-gateway). */
export interface AudioGatewayConfig {
  port: number;
  deepgramApiKey: string;
  /** Deepgram's live endpoint; local mode points it at the local speech server. */
  deepgramUrl: string | undefined;
  deepgramModel: string;
  /** Audio on the wire to Deepgram (`DEEPGRAM_ENCODING`, core/audio/speech-encoding.ts). */
  deepgramEncoding: SpeechEncoding;
  maxSessions: number;
  commandPollMs: number;
  reconnectGraceMs: number;
  shutdownTimeoutMs: number;
  /** Set on AWS: the stage whose ActiveSessions metric this task publishes. */
  stage: string | undefined;
}

export function loadAudioGatewayConfig(env: Env = process.env): AudioGatewayConfig {
  const deepgramUrl = optionalEnv('DEEPGRAM_URL', env);
  if (deepgramUrl !== undefined && !/^wss?:\/\//.test(deepgramUrl)) {
    throw new ConfigError(
      `DEEPGRAM_URL environment variable must be a ws:// or wss:// URL, got "${deepgramUrl}"`,
    );
  }
  const deepgramEncoding = parseSpeechEncoding(optionalEnv('DEEPGRAM_ENCODING', env));
  return {
    port: intEnv('PORT', 8080, env),
    deepgramApiKey: requireEnv('DEEPGRAM_API_KEY', env),
    deepgramUrl,
    deepgramModel: optionalEnv('DEEPGRAM_MODEL', env) ?? 'nova-3',
    deepgramEncoding,
    // One core's worth for the encoding (core/audio/capacity.ts: Opus costs CPU per stream).
    maxSessions: intEnv('MAX_SESSIONS', gatewayMaxSessions(1, deepgramEncoding), env),
    commandPollMs: intEnv('COMMAND_POLL_MS', 500, env),
    reconnectGraceMs: intEnv('RECALL_RECONNECT_GRACE_MS', 100_000, env),
    shutdownTimeoutMs: intEnv('SHUTDOWN_TIMEOUT_MS', 100_000, env),
    stage: optionalEnv('PARLEY_STAGE', env),
  };
}

/** Who Parley trusts to sign user tokens (Cognito on AWS, the dev issuer locally). */
export interface AuthConfig {
  issuer: string;
  audience: string;
  jwksUri: string | undefined;
}

export function loadAuthConfig(env: Env = process.env): AuthConfig {
  return {
    issuer: urlEnv('OIDC_ISSUER', env),
    audience: requireEnv('OIDC_AUDIENCE', env),
    jwksUri: optionalEnv('OIDC_JWKS_URI', env),
  };
}

/** Where functions that post to WebSocket clients send their messages. */
export function managementEndpoint(env: Env = process.env): string {
  return urlEnv('WS_MANAGEMENT_ENDPOINT', env);
}

/** Recall.ai REST API base URL (regional, or the local simulator). */
export function recallBaseUrl(env: Env = process.env): string | undefined {
  const value = optionalEnv('RECALL_BASE_URL', env);
  if (value !== undefined) urlEnv('RECALL_BASE_URL', env);
  return value;
}
