/**
 * A local OpenID Connect issuer for local mode and tests: it publishes a discovery document and
 * a JWKS on loopback and mints RS256 access tokens for any user id. It stands in for Cognito,
 * which issues the tokens on AWS; `core/auth/jwt-verifier.ts` verifies both the same way.
 *
 * It is also a small authorization server (local/dev-issuer-oauth.ts) for the web app: a login
 * page without passwords, authorization code with PKCE, and refresh tokens, so the browser
 * signs in locally exactly as it does against Cognito's managed login.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';
import { LOCAL_WEB_CLIENT_ID, WEB_CALLBACK_PATH } from '../core/web/config';
import { allowCors, createAuthorizationServer } from './dev-issuer-oauth';
import { listen, sendJson, stopOnce } from './http-util';

export const DEV_ISSUER_ALGORITHM = 'RS256';
export const DEFAULT_AUDIENCE = 'parley-local';
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;
const DISCOVERY_PATH = '/.well-known/openid-configuration';
const JWKS_PATH = '/.well-known/jwks.json';

export interface DevIssuerOptions {
  host?: string;
  /** 0 picks a free port. Tokens name the issuer URL, so only a fixed port keeps them valid across restarts. */
  port?: number;
  audience?: string;
  /** JSON file holding the private JWK; created on first start, reused afterwards. */
  keyFile?: string;
  /** Lifetime of access tokens from the token endpoint (tests shorten it to exercise renewal). */
  accessTokenLifetimeSeconds?: number;
  /** Exact redirect URIs of the web client besides loopback `…/callback` ones (any port). */
  webRedirectUris?: string[];
}

export interface MintTokenOptions {
  /** Negative values mint an already expired token (for tests). */
  expiresInSeconds?: number;
  /** `null` leaves `aud` out, as in Cognito access tokens (pair it with a `client_id` claim). */
  audience?: string | null;
  email?: string;
  /** Further claims, e.g. `{ client_id: 'parley-local', scope: 'meetings/read' }`. */
  claims?: Record<string, unknown>;
  /** Leaves `kid` out of the header (tests: such a token must be refused). */
  omitKid?: boolean;
}

export interface DevIssuer {
  /** `http://{host}:{port}`, the `iss` of every token. */
  issuer: string;
  audience: string;
  jwksUri: string;
  port: number;
  mintToken(userId: string, options?: MintTokenOptions): Promise<string>;
  stop(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function startDevIssuer(options: DevIssuerOptions = {}): Promise<DevIssuer> {
  const { host, port, audience, keyFile } = {
    host: '127.0.0.1',
    port: 0,
    audience: DEFAULT_AUDIENCE,
    ...options,
  };
  const key = keyFile ? await loadOrCreateKey(keyFile) : await generateSigningKey();

  let issuer = '';
  const oauth = createAuthorizationServer({
    issuer: () => issuer,
    clients: [
      {
        clientId: LOCAL_WEB_CLIENT_ID,
        loopbackPaths: [WEB_CALLBACK_PATH],
        ...(options.webRedirectUris ? { redirectUris: options.webRedirectUris } : {}),
      },
    ],
    accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
    signer: {
      accessToken: (userId, clientId, scope, lifetime) =>
        signToken(key, issuer, audience, userId, {
          expiresInSeconds: lifetime,
          claims: { client_id: clientId, scope },
        }),
      idToken: (userId, clientId, nonce, authTime, lifetime) =>
        signIdToken(key, issuer, clientId, userId, nonce, authTime, lifetime),
    },
  });
  const server = createServer((req, res) => {
    serve(req, res, issuer, key, oauth).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });
  const boundPort = await listen(server, port, host);
  issuer = `http://${host}:${boundPort}`;

  return {
    issuer,
    audience,
    jwksUri: `${issuer}${JWKS_PATH}`,
    port: boundPort,
    mintToken(userId: string, mint: MintTokenOptions = {}): Promise<string> {
      return signToken(key, issuer, audience, userId, mint);
    },
    stop: stopOnce(server),
  };
}

function signToken(
  key: SigningKey,
  issuer: string,
  audience: string,
  userId: string,
  mint: MintTokenOptions,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const email = mint.email === undefined ? {} : { email: mint.email };
  const jwt = new SignJWT({ token_use: 'access', ...email, ...mint.claims })
    .setProtectedHeader({ alg: DEV_ISSUER_ALGORITHM, typ: 'JWT', ...(mint.omitKid ? {} : { kid: key.kid }) })
    .setIssuer(issuer)
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + (mint.expiresInSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS))
    .setJti(randomUUID());
  if (mint.audience !== null) jwt.setAudience(mint.audience ?? audience);
  return jwt.sign(key.privateKey);
}

/**
 * Mints a token with the key file of a dev issuer that runs elsewhere (the CLI tools use it
 * with the key `npm start` keeps under .data/), valid for that issuer's URL and audience.
 */
export async function mintWithKeyFile(
  keyFile: string,
  issuer: string,
  audience: string,
  userId: string,
  mint: MintTokenOptions = {},
): Promise<string> {
  const privateJwk = JSON.parse(await readFile(keyFile, 'utf8')) as JWK;
  return signToken(await toSigningKey(privateJwk), issuer, audience, userId, mint);
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  issuer: string,
  key: SigningKey,
  oauth: ReturnType<typeof createAuthorizationServer>,
): Promise<void> {
  const url = new URL(req.url ?? '/', issuer);
  const path = url.pathname;
  if (path === DISCOVERY_PATH || path === JWKS_PATH) {
    // The browser reads both (oidc-client-ts): CORS for any origin; they hold nothing secret.
    allowCors(res);
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
    } else if (req.method !== 'GET') {
      sendJson(res, 405, { message: 'Method Not Allowed' });
    } else if (path === DISCOVERY_PATH) {
      sendJson(res, 200, {
        issuer,
        jwks_uri: `${issuer}${JWKS_PATH}`,
        ...oauth.metadata(issuer),
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [DEV_ISSUER_ALGORITHM],
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'jti', 'email', 'nonce', 'client_id', 'scope'],
      });
    } else {
      sendJson(res, 200, { keys: [key.publicJwk] });
    }
    return;
  }
  if (await oauth.handle(req, res, url)) return;
  sendJson(res, 404, { message: 'Not Found' });
}

function signIdToken(
  key: SigningKey,
  issuer: string,
  clientId: string,
  userId: string,
  nonce: string | undefined,
  authTime: number,
  lifetimeSeconds: number,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ token_use: 'id', auth_time: authTime, ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ alg: DEV_ISSUER_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(userId)
    .setAudience(clientId)
    .setIssuedAt(now)
    .setExpirationTime(now + lifetimeSeconds)
    .setJti(randomUUID())
    .sign(key.privateKey);
}

async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(DEV_ISSUER_ALGORITHM, { extractable: true });
  return toSigningKey(await exportJWK(privateKey));
}

async function toSigningKey(privateJwk: JWK): Promise<SigningKey> {
  const { kty, n, e } = privateJwk;
  if (kty !== 'RSA' || !n || !e || !privateJwk.d)
    throw new TypeError('dev issuer key must be an RSA private JWK');
  const publicJwk: JWK = { kty, n, e };
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateKey = (await importJWK(privateJwk, DEV_ISSUER_ALGORITHM)) as CryptoKey;
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: DEV_ISSUER_ALGORITHM, use: 'sig' } };
}

async function loadOrCreateKey(keyFile: string): Promise<SigningKey> {
  try {
    return await toSigningKey(JSON.parse(await readFile(keyFile, 'utf8')) as JWK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = await generateKeyPair(DEV_ISSUER_ALGORITHM, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  await mkdir(dirname(keyFile), { recursive: true });
  await writeFile(keyFile, JSON.stringify(privateJwk), { mode: 0o600 });
  return toSigningKey(privateJwk);
}
