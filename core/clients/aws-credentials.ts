/**
 * Credentials for the lean AWS calls (core/clients/sigv4.ts), found where Parley runs, in the
 * order the SDK's default chain looks for them there:
 *
 * 1. The environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`
 *    (and `AWS_CREDENTIAL_EXPIRATION`). Lambda sets these; local mode sets its emulator pair.
 * 2. The container credentials endpoint (Fargate / ECS task role):
 *    `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `http://169.254.170.2`) or
 *    `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https, loopback, or the ECS / EKS link-local hosts),
 *    with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` / `AWS_CONTAINER_AUTHORIZATION_TOKEN` sent as
 *    `Authorization` when set. These credentials expire: they are fetched again when less than
 *    five minutes remain (one fetch shared by concurrent callers), and a failed refresh keeps the
 *    current ones while they are still valid.
 *
 * Nothing else (shared config files, SSO, instance metadata): Parley's Lambdas and container never
 * need them. The secret is never logged; errors name variables, not values.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { retry } from '../backoff';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Epoch ms; absent = does not expire. */
  expiresAtMs?: number;
}

/** Resolves the current credentials (cached; refreshed before they expire). */
export type CredentialsSource = () => Promise<AwsCredentials>;

export class CredentialsError extends Error {
  readonly code = 'AWS_CREDENTIALS';
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'CredentialsError';
  }
}

/** Fetch again when less than this is left (the SDK's window too). */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
const ECS_HOST = 'http://169.254.170.2';
/** Hosts the SDK accepts in a plain-http FULL_URI besides loopback: ECS and EKS Pod Identity agents. */
const LINK_LOCAL_HOSTS = new Set(['169.254.170.2', '169.254.170.23', '[fd00:ec2::23]']);
const FETCH_TIMEOUT_MS = 1_000;

type Env = Record<string, string | undefined>;

const set = (env: Env, name: string) => {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
};

/** The credentials source for this process's environment; see the module comment. */
export function credentialsFromEnvironment(
  env: Env = process.env,
  now: () => number = Date.now,
): CredentialsSource {
  const accessKeyId = set(env, 'AWS_ACCESS_KEY_ID');
  const secretAccessKey = set(env, 'AWS_SECRET_ACCESS_KEY');
  if (accessKeyId && secretAccessKey) {
    const sessionToken = set(env, 'AWS_SESSION_TOKEN');
    const expiration = set(env, 'AWS_CREDENTIAL_EXPIRATION');
    const credentials: AwsCredentials = {
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
      ...(expiration ? { expiresAtMs: Date.parse(expiration) } : {}),
    };
    return () => Promise.resolve(credentials);
  }
  const url = containerCredentialsUrl(env);
  if (url) return refreshing(() => fetchContainerCredentials(url, env), now);
  return () =>
    Promise.reject(
      new CredentialsError(
        'No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a container credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI)',
      ),
    );
}

function containerCredentialsUrl(env: Env): URL | undefined {
  const relative = set(env, 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI');
  if (relative) return new URL(`${ECS_HOST}${relative}`);
  const full = set(env, 'AWS_CONTAINER_CREDENTIALS_FULL_URI');
  if (!full) return undefined;
  let url: URL;
  try {
    url = new URL(full);
  } catch {
    throw new CredentialsError('AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL');
  }
  const loopback =
    url.hostname === 'localhost' || url.hostname === '[::1]' || url.hostname.startsWith('127.');
  if (
    url.protocol !== 'https:' &&
    !(url.protocol === 'http:' && (loopback || LINK_LOCAL_HOSTS.has(url.hostname)))
  ) {
    throw new CredentialsError(
      'AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, loopback or the ECS/EKS credentials host',
    );
  }
  return url;
}

/**
 * Caches what `fetch` returns; fetches again when less than REFRESH_BEFORE_EXPIRY_MS is left.
 * Concurrent callers share one fetch; a failed refresh keeps credentials that are still valid.
 */
export function refreshing(
  fetch: () => Promise<AwsCredentials>,
  now: () => number = Date.now,
): CredentialsSource {
  let current: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  const fresh = (c: AwsCredentials | undefined): c is AwsCredentials =>
    c !== undefined && (c.expiresAtMs === undefined || c.expiresAtMs - now() > REFRESH_BEFORE_EXPIRY_MS);
  return () => {
    if (fresh(current)) return Promise.resolve(current);
    pending ??= fetch()
      .then(
        (next) => {
          current = next;
          return next;
        },
        (error: unknown) => {
          if (current?.expiresAtMs !== undefined && current.expiresAtMs > now()) return current;
          throw error;
        },
      )
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

async function authorizationToken(env: Env): Promise<string | undefined> {
  const file = set(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE');
  if (file) return (await readFile(file, 'utf8')).trim();
  return set(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN');
}

/** GETs the container credentials endpoint: three tries, one second each. */
export async function fetchContainerCredentials(url: URL, env: Env = process.env): Promise<AwsCredentials> {
  const token = await authorizationToken(env);
  const body = await retry(() => getJson(url, token), { maxAttempts: 3, baseMs: 100 }).catch(
    (error: unknown) => {
      throw new CredentialsError(`Container credentials endpoint failed: ${(error as Error).message}`, {
        cause: error,
      });
    },
  );
  const { AccessKeyId, SecretAccessKey, Token, Expiration } = body as Record<string, unknown>;
  if (typeof AccessKeyId !== 'string' || typeof SecretAccessKey !== 'string') {
    throw new CredentialsError('Container credentials endpoint answered without AccessKeyId/SecretAccessKey');
  }
  const expiresAtMs = typeof Expiration === 'string' ? Date.parse(Expiration) : Number.NaN;
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    ...(typeof Token === 'string' ? { sessionToken: Token } : {}),
    ...(Number.isFinite(expiresAtMs) ? { expiresAtMs } : {}),
  };
}

function getJson(url: URL, token: string | undefined): Promise<unknown> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'GET', headers: token ? { Authorization: token } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error('answer is not JSON'));
        }
      });
    });
    req.setTimeout(FETCH_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${FETCH_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

let processCredentials: CredentialsSource | undefined;

/** The process's one credentials source (read from the environment on first use). */
export function awsCredentials(): CredentialsSource {
  processCredentials ??= credentialsFromEnvironment();
  return processCredentials;
}
