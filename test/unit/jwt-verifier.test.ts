import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJwtVerifier } from '../../core/auth/jwt-verifier';
import { UnauthorizedError, UpstreamError } from '../../core/errors';
import { type DevIssuer, startDevIssuer } from '../../local/dev-issuer';

describe('createJwtVerifier', () => {
  let issuer: DevIssuer;

  beforeAll(async () => {
    issuer = await startDevIssuer();
  });
  afterAll(async () => {
    await issuer.stop();
  });

  function verifier(overrides: { issuer?: string; audience?: string | string[] } = {}) {
    return createJwtVerifier({
      issuer: overrides.issuer ?? issuer.issuer,
      audience: overrides.audience ?? issuer.audience,
      jwksUri: issuer.jwksUri,
    });
  }

  async function rejection(promise: Promise<unknown>): Promise<Error> {
    try {
      await promise;
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected a rejection');
  }

  it('returns the subject as userId and the claims of a valid token', async () => {
    const token = await issuer.mintToken('user-1', { email: 'ada@example.com' });

    const verified = await verifier().verify(token);

    expect(verified.userId).toBe('user-1');
    expect(verified.claims).toMatchObject({ sub: 'user-1', email: 'ada@example.com', iss: issuer.issuer });
  });

  it('accepts a Bearer-less token with surrounding whitespace', async () => {
    const token = await issuer.mintToken('user-2');

    await expect(verifier().verify(`  ${token}\n`)).resolves.toMatchObject({ userId: 'user-2' });
  });

  it('accepts client_id in place of aud, as in Cognito access tokens', async () => {
    const token = await issuer.mintToken('user-3', {
      audience: null,
      claims: { client_id: issuer.audience },
    });

    await expect(verifier().verify(token)).resolves.toMatchObject({ userId: 'user-3' });
  });

  it('evaluates aud and ignores client_id when both are present', async () => {
    const token = await issuer.mintToken('user-4', {
      audience: 'someone-else',
      claims: { client_id: issuer.audience },
    });

    const error = await rejection(verifier().verify(token));

    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toBe('Token does not have a valid audience');
  });

  it('accepts any of several configured audiences', async () => {
    const token = await issuer.mintToken('user-5', { audience: 'web' });

    await expect(verifier({ audience: ['cli', 'web'] }).verify(token)).resolves.toMatchObject({
      userId: 'user-5',
    });
  });

  it.each([
    ['an expired token', () => issuer.mintToken('u', { expiresInSeconds: -60 }), 'Token has expired'],
    [
      'a token for another audience',
      () => issuer.mintToken('u', { audience: 'other-app' }),
      'Token does not have a valid audience',
    ],
    ['a token with neither aud nor client_id', () => issuer.mintToken('u', { audience: null }), 'audience'],
    ['a malformed token', async () => 'not-a-jwt', 'Token is malformed'],
    ['an empty token', async () => '', 'Token is missing'],
    [
      'a token with a tampered payload',
      async () => {
        const [header, , signature] = (await issuer.mintToken('u')).split('.');
        const payload = Buffer.from(JSON.stringify({ sub: 'admin', exp: 9999999999 })).toString('base64url');
        return `${header}.${payload}.${signature}`;
      },
      'Token signature is invalid',
    ],
  ])('rejects %s with UnauthorizedError', async (_name, mint, message) => {
    const token = await mint();

    const error = await rejection(verifier().verify(token));

    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toContain(message);
    if (token) expect(error.message).not.toContain(token);
  });

  it('rejects a token without a kid even though the issuer publishes only one key', async () => {
    const token = await issuer.mintToken('u', { omitKid: true });

    const error = await rejection(verifier().verify(token));

    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toBe('Token has no key id (kid)');
  });

  it('answers a token that is not a JWT at all as malformed', async () => {
    const error = await rejection(verifier().verify('not-a-jwt'));

    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toBe('Token is malformed');
  });

  it('rejects a token from another issuer', async () => {
    const token = await issuer.mintToken('u');

    const error = await rejection(verifier({ issuer: 'https://cognito-idp.example/pool' }).verify(token));

    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toBe('Token issuer is not trusted');
  });

  it('rejects a token signed by a key the issuer does not publish', async () => {
    const stranger = await startDevIssuer();
    try {
      const token = await stranger.mintToken('u');

      const error = await rejection(verifier({ issuer: stranger.issuer }).verify(token));

      expect(error).toBeInstanceOf(UnauthorizedError);
      expect(error.message).toBe('Token was not signed by a key of the issuer');
    } finally {
      await stranger.stop();
    }
  });

  it('raises UpstreamError, not UnauthorizedError, when the JWKS cannot be fetched', async () => {
    const gone = await startDevIssuer();
    const token = await gone.mintToken('u');
    await gone.stop();
    const offline = createJwtVerifier({ issuer: gone.issuer, audience: gone.audience });

    const error = await rejection(offline.verify(token));

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).code).toBe('JWKS_UNAVAILABLE');
  });
});

describe('startDevIssuer', () => {
  it('serves an OpenID discovery document that points at its JWKS', async () => {
    const issuer = await startDevIssuer({ audience: 'my-app' });
    try {
      const discovery = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as {
        issuer: string;
        jwks_uri: string;
      };
      const jwks = (await (await fetch(discovery.jwks_uri)).json()) as {
        keys: { kid: string; d?: string }[];
      };

      expect(discovery.issuer).toBe(issuer.issuer);
      expect(discovery.jwks_uri).toBe(issuer.jwksUri);
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]?.d).toBeUndefined();
      expect(issuer.audience).toBe('my-app');
    } finally {
      await issuer.stop();
    }
  });

  it('reuses the key pair stored in keyFile across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-issuer-'));
    const keyFile = join(dir, 'nested', 'issuer-key.json');
    try {
      const first = await startDevIssuer({ keyFile });
      const firstKeys = await (await fetch(first.jwksUri)).json();
      await first.stop();
      const second = await startDevIssuer({ keyFile });
      const secondKeys = await (await fetch(second.jwksUri)).json();
      await second.stop();

      expect(secondKeys).toEqual(firstKeys);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops idempotently', async () => {
    const issuer = await startDevIssuer();

    await Promise.all([issuer.stop(), issuer.stop()]);

    await expect(fetch(issuer.jwksUri)).rejects.toThrow();
  });
});
