/**
 * The dev issuer as an authorization server, spoken to over HTTP exactly as oidc-client-ts in
 * the browser speaks to it: discovery, the login page, authorization code with PKCE (S256),
 * refresh tokens, sign-out, CORS.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createJwtVerifier } from '../../core/auth/jwt-verifier';
import { LOCAL_WEB_CLIENT_ID } from '../../core/web/config';
import { type DevIssuer, startDevIssuer } from '../../local/dev-issuer';

const REDIRECT_URI = 'http://127.0.0.1:45999/callback';

interface Pkce {
  verifier: string;
  challenge: string;
}
function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeParams(p: Pkce, overrides: Record<string, string | undefined> = {}): URLSearchParams {
  const params: Record<string, string | undefined> = {
    client_id: LOCAL_WEB_CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid profile',
    state: 'st-1',
    nonce: 'n-1',
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  return new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
}

function claimsOfToken(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

describe('the dev issuer as an OAuth authorization server', () => {
  let issuer: DevIssuer;

  beforeAll(async () => {
    issuer = await startDevIssuer();
  });
  afterAll(() => issuer.stop());

  async function login(p: Pkce, user = 'alice'): Promise<URL> {
    const form = authorizeParams(p);
    form.set('pick', user);
    const res = await fetch(`${issuer.issuer}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location') as string);
  }

  function token(body: Record<string, string>): Promise<Response> {
    return fetch(`${issuer.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://127.0.0.1:45999' },
      body: new URLSearchParams(body),
    });
  }

  function exchange(code: string, verifier: string, extra: Record<string, string> = {}): Promise<Response> {
    return token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT_URI,
      client_id: LOCAL_WEB_CLIENT_ID,
      ...extra,
    });
  }

  it('publishes the authorization, token and end-session endpoints with S256 PKCE, readable cross-origin', async () => {
    const res = await fetch(`${issuer.issuer}/.well-known/openid-configuration`);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      issuer: issuer.issuer,
      authorization_endpoint: `${issuer.issuer}/authorize`,
      token_endpoint: `${issuer.issuer}/token`,
      end_session_endpoint: `${issuer.issuer}/logout`,
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
    });
    const jwks = await fetch(issuer.jwksUri);
    expect(jwks.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('shows a login page to pick or type a user name', async () => {
    const res = await fetch(`${issuer.issuer}/authorize?${authorizeParams(pkce())}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Sign in as alice');
    expect(html).toContain('name="typed"');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('exchanges a code and its PKCE verifier for tokens the APIs accept', async () => {
    const p = pkce();
    const back = await login(p, 'carol');
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
    expect(back.searchParams.get('state')).toBe('st-1');
    expect(back.searchParams.get('iss')).toBe(issuer.issuer);

    const res = await exchange(back.searchParams.get('code') as string, p.verifier);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const tokens = (await res.json()) as Record<string, string | number>;
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'openid profile' });

    const verifier = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: issuer.jwksUri,
    });
    const access = await verifier.verify(tokens.access_token as string);
    expect(access.userId).toBe('carol');
    expect(access.claims.client_id).toBe(LOCAL_WEB_CLIENT_ID);
    // The ID token is for the web app only: the APIs refuse it (wrong audience).
    await expect(verifier.verify(tokens.id_token as string)).rejects.toThrow('audience');
    const idClaims = JSON.parse(
      Buffer.from((tokens.id_token as string).split('.')[1] as string, 'base64url').toString(),
    );
    expect(idClaims).toMatchObject({ sub: 'carol', aud: LOCAL_WEB_CLIENT_ID, nonce: 'n-1' });
  });

  it('refuses a code whose PKCE verifier does not match, and burns the code', async () => {
    const p = pkce();
    const code = (await login(p)).searchParams.get('code') as string;
    const wrong = await exchange(code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({
      error: 'invalid_grant',
      error_description: expect.stringContaining('PKCE'),
    });
    const retry = await exchange(code, p.verifier);
    expect(retry.status).toBe(400);
    expect(await retry.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a code used twice, a missing verifier, another redirect_uri and another client', async () => {
    const p = pkce();
    const code = (await login(p)).searchParams.get('code') as string;
    expect((await exchange(code, p.verifier)).status).toBe(200);
    expect(await (await exchange(code, p.verifier)).json()).toMatchObject({ error: 'invalid_grant' });

    const p2 = pkce();
    const code2 = (await login(p2)).searchParams.get('code') as string;
    expect(await (await exchange(code2, '')).json()).toMatchObject({ error: 'invalid_request' });

    const p3 = pkce();
    const code3 = (await login(p3)).searchParams.get('code') as string;
    const otherRedirect = await exchange(code3, p3.verifier, { redirect_uri: 'http://127.0.0.1:1/callback' });
    expect(await otherRedirect.json()).toMatchObject({ error: 'invalid_grant' });

    const p4 = pkce();
    const code4 = (await login(p4)).searchParams.get('code') as string;
    const otherClient = await exchange(code4, p4.verifier, { client_id: 'someone-else' });
    expect(otherClient.status).toBe(401);
    expect(await otherClient.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('refuses authorization requests without PKCE, with another response type, client or redirect', async () => {
    const p = pkce();
    const noPkce = await fetch(
      `${issuer.issuer}/authorize?${authorizeParams(p, { code_challenge: undefined, code_challenge_method: undefined })}`,
      { redirect: 'manual' },
    );
    expect(noPkce.status).toBe(302);
    const back = new URL(noPkce.headers.get('location') as string);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('state')).toBe('st-1');

    const plain = await fetch(
      `${issuer.issuer}/authorize?${authorizeParams(p, { code_challenge_method: 'plain' })}`,
      {
        redirect: 'manual',
      },
    );
    expect(new URL(plain.headers.get('location') as string).searchParams.get('error')).toBe(
      'invalid_request',
    );

    const implicit = await fetch(
      `${issuer.issuer}/authorize?${authorizeParams(p, { response_type: 'token' })}`,
      {
        redirect: 'manual',
      },
    );
    expect(new URL(implicit.headers.get('location') as string).searchParams.get('error')).toBe(
      'unsupported_response_type',
    );

    // Never redirect to an unregistered place: the error is shown on the issuer's own page.
    const elsewhere = await fetch(
      `${issuer.issuer}/authorize?${authorizeParams(p, { redirect_uri: 'https://evil.example/callback' })}`,
      { redirect: 'manual' },
    );
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.get('location')).toBeNull();
    const wrongPath = await fetch(
      `${issuer.issuer}/authorize?${authorizeParams(p, { redirect_uri: 'http://127.0.0.1:45999/elsewhere' })}`,
      { redirect: 'manual' },
    );
    expect(wrongPath.status).toBe(400);
    const unknown = await fetch(`${issuer.issuer}/authorize?${authorizeParams(p, { client_id: 'nope' })}`, {
      redirect: 'manual',
    });
    expect(unknown.status).toBe(400);
  });

  it('asks again for a user name that is not valid', async () => {
    const form = authorizeParams(pkce());
    form.set('typed', 'not a name!');
    const res = await fetch(`${issuer.issuer}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('A user name is');
  });

  it('renews tokens with a refresh token (same sub and auth_time), which is rotated and then refused', async () => {
    const p = pkce();
    const code = (await login(p, 'dave')).searchParams.get('code') as string;
    const first = (await (await exchange(code, p.verifier)).json()) as Record<string, string>;
    // Refresh in a later second than the sign-in (auth_time has second resolution).
    const signedInAt = claimsOfToken(first.id_token as string).auth_time as number;
    while (Math.floor(Date.now() / 1000) <= signedInAt) await new Promise((r) => setTimeout(r, 50));
    const renewed = await token({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token as string,
      client_id: LOCAL_WEB_CLIENT_ID,
    });
    expect(renewed.status).toBe(200);
    const second = (await renewed.json()) as Record<string, string>;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const verifier = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: issuer.jwksUri,
    });
    expect((await verifier.verify(second.access_token as string)).userId).toBe('dave');
    // oidc-client-ts refuses a refreshed ID token whose sub or auth_time differs from the first.
    const [before, after] = [
      claimsOfToken(first.id_token as string),
      claimsOfToken(second.id_token as string),
    ];
    expect(after.sub).toBe('dave');
    expect(after.auth_time).toBe(before.auth_time);

    const reused = await token({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token as string,
      client_id: LOCAL_WEB_CLIENT_ID,
    });
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ error: 'invalid_grant' });
    const unsupported = await token({ grant_type: 'password', client_id: LOCAL_WEB_CLIENT_ID });
    expect(await unsupported.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('answers the browser’s CORS preflight on the token endpoint', async () => {
    const res = await fetch(`${issuer.issuer}/token`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:45999', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('signs out: forgets the user’s refresh tokens and returns to the app', async () => {
    const p = pkce();
    const code = (await login(p, 'erin')).searchParams.get('code') as string;
    const tokens = (await (await exchange(code, p.verifier)).json()) as Record<string, string>;
    const res = await fetch(
      `${issuer.issuer}/logout?${new URLSearchParams({
        id_token_hint: tokens.id_token as string,
        post_logout_redirect_uri: 'http://127.0.0.1:45999/',
        client_id: LOCAL_WEB_CLIENT_ID,
      })}`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('http://127.0.0.1:45999/');
    const refused = await token({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
      client_id: LOCAL_WEB_CLIENT_ID,
    });
    expect(refused.status).toBe(400);
  });

  it('still mints tokens directly for tests and the CLI', async () => {
    const verifier = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: issuer.jwksUri,
    });
    expect((await verifier.verify(await issuer.mintToken('frank'))).userId).toBe('frank');
  });
});
