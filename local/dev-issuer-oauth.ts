/**
 * The dev issuer's authorization server: just enough OAuth 2.0 / OpenID Connect for the web app
 * to sign in locally with the same code path as against Cognito on AWS.
 *
 * - `GET /authorize` (authorization code + PKCE S256 only) shows a login page: pick or type a
 *   user name, no password. `POST /authorize` issues a one-time code (60 s) and redirects.
 * - `POST /token`: `authorization_code` (PKCE verified, redirect_uri and client checked) and
 *   `refresh_token` (rotated on every use) grants; answers RFC 6749 errors.
 * - `GET /logout`: forgets the user's refresh tokens and returns to the app.
 *
 * Only public clients that are registered here are accepted (the web app's `parley-web`).
 * Redirect URIs must be registered exactly, or be a loopback `http` URL with the registered path
 * (RFC 8252 §7.3: a native or local app may use any loopback port). State lives in memory:
 * restarting the issuer signs everyone out.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http-util';

export const AUTHORIZE_PATH = '/authorize';
export const TOKEN_PATH = '/token';
export const LOGOUT_PATH = '/logout';
export const AUTHORIZATION_CODE_LIFETIME_MS = 60_000;
export const DEFAULT_REFRESH_TOKEN_LIFETIME_SECONDS = 12 * 3600;
/** The largest form body the issuer reads. */
const MAX_FORM_BYTES = 16 * 1024;
const USER_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
/** RFC 7636 §4.1: 43-128 unreserved characters. */
const VERIFIER_PATTERN = /^[A-Za-z0-9._~-]{43,128}$/;
const CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface OAuthClientRegistration {
  clientId: string;
  /** Exact redirect URIs; loopback URLs with one of `loopbackPaths` are accepted too. */
  redirectUris?: string[];
  loopbackPaths?: string[];
}

/** What the authorization server needs from the issuer: signing. */
export interface TokenSigner {
  accessToken(userId: string, clientId: string, scope: string, lifetimeSeconds: number): Promise<string>;
  idToken(
    userId: string,
    clientId: string,
    nonce: string | undefined,
    /** When the user signed in (epoch seconds); refreshed ID tokens repeat it (OIDC Core §12.2). */
    authTime: number,
    lifetimeSeconds: number,
  ): Promise<string>;
}

export interface AuthorizationServerOptions {
  issuer: () => string;
  clients: OAuthClientRegistration[];
  signer: TokenSigner;
  accessTokenLifetimeSeconds: number;
  refreshTokenLifetimeSeconds?: number;
  /** User names offered as buttons on the login page. */
  suggestedUsers?: string[];
}

interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  state: string | undefined;
  codeChallenge: string;
  scope: string;
  nonce: string | undefined;
}

interface IssuedCode extends AuthorizationRequest {
  userId: string;
  authTime: number;
  expiresAt: number;
}

interface IssuedRefreshToken {
  clientId: string;
  userId: string;
  scope: string;
  authTime: number;
  expiresAt: number;
}

/** An RFC 6749 §5.2 error response of the token endpoint. */
class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export function createAuthorizationServer(options: AuthorizationServerOptions) {
  const codes = new Map<string, IssuedCode>();
  const refreshTokens = new Map<string, IssuedRefreshToken>();
  const refreshLifetime = options.refreshTokenLifetimeSeconds ?? DEFAULT_REFRESH_TOKEN_LIFETIME_SECONDS;
  const suggested = options.suggestedUsers ?? ['alice', 'bob'];

  function client(clientId: string | undefined): OAuthClientRegistration | undefined {
    return options.clients.find((c) => c.clientId === clientId);
  }

  function redirectAllowed(registration: OAuthClientRegistration, uri: string): boolean {
    if (registration.redirectUris?.includes(uri)) return true;
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return false;
    }
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    return (
      url.protocol === 'http:' &&
      loopback &&
      url.username === '' &&
      url.hash === '' &&
      (registration.loopbackPaths ?? []).includes(url.pathname)
    );
  }

  /**
   * Validates an authorization request. Errors about the client or redirect URI are shown on a
   * page (never redirected to an unchecked URI); the others go back to the app (RFC 6749 §4.1.2.1).
   */
  function parseAuthorization(
    params: URLSearchParams,
  ):
    | { ok: true; request: AuthorizationRequest }
    | { ok: false; page: string }
    | { ok: false; redirect: string } {
    const clientId = params.get('client_id') ?? undefined;
    const registration = client(clientId);
    if (!registration || !clientId) return { ok: false, page: `Unknown client_id "${clientId ?? ''}".` };
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!redirectAllowed(registration, redirectUri)) {
      return { ok: false, page: `redirect_uri "${redirectUri}" is not registered for ${clientId}.` };
    }
    const state = params.get('state') ?? undefined;
    const back = (error: string, description: string) => {
      const url = new URL(redirectUri);
      url.searchParams.set('error', error);
      url.searchParams.set('error_description', description);
      if (state !== undefined) url.searchParams.set('state', state);
      return { ok: false as const, redirect: url.toString() };
    };
    if (params.get('response_type') !== 'code') {
      return back('unsupported_response_type', 'Only response_type=code is supported');
    }
    const codeChallenge = params.get('code_challenge') ?? '';
    if (params.get('code_challenge_method') !== 'S256' || !CHALLENGE_PATTERN.test(codeChallenge)) {
      return back('invalid_request', 'PKCE is required: code_challenge with code_challenge_method=S256');
    }
    return {
      ok: true,
      request: {
        clientId,
        redirectUri,
        state,
        codeChallenge,
        scope: params.get('scope') ?? 'openid',
        nonce: params.get('nonce') ?? undefined,
      },
    };
  }

  function loginPage(request: AuthorizationRequest, error?: string): string {
    const hidden = Object.entries({
      client_id: request.clientId,
      redirect_uri: request.redirectUri,
      response_type: 'code',
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
      scope: request.scope,
      ...(request.state !== undefined ? { state: request.state } : {}),
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
    })
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${escapeHtml(v)}">`)
      .join('');
    const picks = suggested
      .map(
        (u) =>
          `<button type="submit" name="pick" value="${escapeHtml(u)}">Sign in as ${escapeHtml(u)}</button>`,
      )
      .join(' ');
    return page(
      'Sign in to Parley (local)',
      `<p>Local mode has no passwords: choose who you are.</p>
${error ? `<p role="alert" class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${AUTHORIZE_PATH}">${hidden}
<p>${picks}</p>
<p><label for="typed">Or type a user name</label><br>
<input id="typed" name="typed" autocomplete="username" pattern="[A-Za-z0-9._@\\-]{1,64}">
<button type="submit">Sign in</button></p>
</form>`,
    );
  }

  async function issueTokens(
    userId: string,
    clientId: string,
    scope: string,
    authTime: number,
    nonce?: string,
  ) {
    const refreshToken = randomBytes(32).toString('base64url');
    refreshTokens.set(refreshToken, {
      authTime,
      clientId,
      userId,
      scope,
      expiresAt: Date.now() + refreshLifetime * 1000,
    });
    const lifetime = options.accessTokenLifetimeSeconds;
    return {
      access_token: await options.signer.accessToken(userId, clientId, scope, lifetime),
      token_type: 'Bearer',
      expires_in: lifetime,
      refresh_token: refreshToken,
      scope,
      ...(scope.split(' ').includes('openid')
        ? { id_token: await options.signer.idToken(userId, clientId, nonce, authTime, lifetime) }
        : {}),
    };
  }

  async function token(form: URLSearchParams): Promise<Record<string, unknown>> {
    const clientId = form.get('client_id') ?? undefined;
    if (!client(clientId) || !clientId) throw new OAuthError('invalid_client', 'Unknown client_id', 401);
    switch (form.get('grant_type')) {
      case 'authorization_code': {
        const code = form.get('code') ?? '';
        const issued = codes.get(code);
        codes.delete(code); // one use only, even when the rest of the request is wrong
        if (!issued || issued.expiresAt < Date.now()) {
          throw new OAuthError('invalid_grant', 'The authorization code is unknown, used or expired');
        }
        if (issued.clientId !== clientId)
          throw new OAuthError('invalid_grant', 'The code was issued to another client');
        if (issued.redirectUri !== form.get('redirect_uri')) {
          throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request');
        }
        const verifier = form.get('code_verifier') ?? '';
        if (!VERIFIER_PATTERN.test(verifier)) {
          throw new OAuthError('invalid_request', 'code_verifier must be 43-128 unreserved characters');
        }
        if (pkceChallenge(verifier) !== issued.codeChallenge) {
          throw new OAuthError('invalid_grant', 'PKCE verification failed: code_verifier does not match');
        }
        return issueTokens(issued.userId, clientId, issued.scope, issued.authTime, issued.nonce);
      }
      case 'refresh_token': {
        const presented = form.get('refresh_token') ?? '';
        const issued = refreshTokens.get(presented);
        refreshTokens.delete(presented); // rotated: the old one is spent
        if (!issued || issued.expiresAt < Date.now() || issued.clientId !== clientId) {
          throw new OAuthError('invalid_grant', 'The refresh token is unknown, used, expired or not yours');
        }
        return issueTokens(issued.userId, clientId, issued.scope, issued.authTime);
      }
      default:
        throw new OAuthError(
          'unsupported_grant_type',
          'grant_type must be authorization_code or refresh_token',
        );
    }
  }

  return {
    /** Discovery document fields of the authorization server. */
    metadata(issuer: string): Record<string, unknown> {
      return {
        authorization_endpoint: `${issuer}${AUTHORIZE_PATH}`,
        token_endpoint: `${issuer}${TOKEN_PATH}`,
        end_session_endpoint: `${issuer}${LOGOUT_PATH}`,
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none'],
        scopes_supported: ['openid', 'profile', 'email'],
      };
    },

    /** Answers the request if it is one of the authorization server's; false otherwise. */
    async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
      if (url.pathname === AUTHORIZE_PATH) {
        if (req.method !== 'GET' && req.method !== 'POST') {
          sendText(res, 405, 'Method Not Allowed');
          return true;
        }
        const params = req.method === 'GET' ? url.searchParams : await readForm(req);
        const parsed = parseAuthorization(params);
        if (!parsed.ok) {
          if ('redirect' in parsed) redirect(res, parsed.redirect);
          else
            sendHtml(
              res,
              400,
              page('Sign-in request refused', `<p class="error">${escapeHtml(parsed.page)}</p>`),
            );
          return true;
        }
        if (req.method === 'GET') {
          sendHtml(res, 200, loginPage(parsed.request));
          return true;
        }
        const userId = (params.get('pick') || params.get('typed') || '').trim();
        if (!USER_PATTERN.test(userId)) {
          sendHtml(
            res,
            400,
            loginPage(parsed.request, 'A user name is 1-64 letters, digits, ".", "_", "@" or "-".'),
          );
          return true;
        }
        const code = randomBytes(24).toString('base64url');
        codes.set(code, {
          ...parsed.request,
          userId,
          authTime: Math.floor(Date.now() / 1000),
          expiresAt: Date.now() + AUTHORIZATION_CODE_LIFETIME_MS,
        });
        const back = new URL(parsed.request.redirectUri);
        back.searchParams.set('code', code);
        if (parsed.request.state !== undefined) back.searchParams.set('state', parsed.request.state);
        back.searchParams.set('iss', options.issuer());
        redirect(res, back.toString());
        return true;
      }
      if (url.pathname === TOKEN_PATH) {
        allowCors(res);
        if (req.method === 'OPTIONS') {
          res.writeHead(204).end();
          return true;
        }
        if (req.method !== 'POST') {
          sendJson(res, 405, { error: 'invalid_request', error_description: 'Use POST' });
          return true;
        }
        try {
          if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
            throw new OAuthError('invalid_request', 'The body must be application/x-www-form-urlencoded');
          }
          sendJson(res, 200, await token(await readForm(req)), {
            'cache-control': 'no-store',
            pragma: 'no-cache',
          });
        } catch (error) {
          if (!(error instanceof OAuthError)) throw error;
          sendJson(res, error.status, { error: error.error, error_description: error.description });
        }
        return true;
      }
      if (url.pathname === LOGOUT_PATH && req.method === 'GET') {
        const hint = url.searchParams.get('id_token_hint');
        const sub = hint ? subjectOf(hint) : undefined;
        if (sub) for (const [t, r] of refreshTokens) if (r.userId === sub) refreshTokens.delete(t);
        const target = url.searchParams.get('post_logout_redirect_uri');
        const clientId = url.searchParams.get('client_id') ?? undefined;
        const registrations = clientId ? [client(clientId)].filter((c) => c !== undefined) : options.clients;
        if (target && registrations.some((c) => redirectAllowedForLogout(c, target))) {
          const back = new URL(target);
          const state = url.searchParams.get('state');
          if (state) back.searchParams.set('state', state);
          redirect(res, back.toString());
        } else {
          sendHtml(res, 200, page('Signed out', '<p>You are signed out of Parley (local).</p>'));
        }
        return true;
      }
      return false;
    },
  };

  /** After sign-out the app returns to its own root on the same loopback origin. */
  function redirectAllowedForLogout(registration: OAuthClientRegistration, uri: string): boolean {
    try {
      const url = new URL(uri);
      return redirectAllowed(
        { ...registration, loopbackPaths: [...(registration.loopbackPaths ?? []), '/'] },
        url.toString(),
      );
    } catch {
      return false;
    }
  }
}

function subjectOf(jwt: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      sub?: unknown;
    };
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

export function allowCors(res: ServerResponse): void {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  res.setHeader('access-control-allow-headers', 'content-type, authorization');
  res.setHeader('access-control-max-age', '600');
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new OAuthError('invalid_request', 'The request body is too large', 413);
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
button,input{font:inherit;padding:.4rem .7rem;margin:.2rem 0}.error{color:#b3261e}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'cache-control': 'no-store',
  });
  res.end(html);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store' }).end();
}
