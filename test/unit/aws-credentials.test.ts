/**
 * Where the lean AWS calls find credentials: the environment (Lambda, local mode) and the
 * container credentials endpoint (Fargate), served here on loopback over a real socket.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CredentialsError,
  credentialsFromEnvironment,
  REFRESH_BEFORE_EXPIRY_MS,
} from '../../core/clients/aws-credentials';

let server: Server;
let url: string;
const requests: IncomingHttpHeaders[] = [];
/** What the endpoint answers next: a credential set, or an HTTP status to fail with. */
let answer: { status: number; expiresAtMs?: number } = { status: 200 };
let issued = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.headers);
    if (answer.status !== 200) return res.writeHead(answer.status).end('{"message":"unavailable"}');
    issued++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        AccessKeyId: `ASIA${issued}`,
        SecretAccessKey: `secret-${issued}`,
        Token: `token-${issued}`,
        Expiration: new Date(answer.expiresAtMs ?? Date.now() + 3_600_000).toISOString(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/credentials/abc`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  requests.length = 0;
  answer = { status: 200 };
});

describe('credentialsFromEnvironment', () => {
  it('uses the key pair and session token from the environment, as Lambda sets them', async () => {
    const source = credentialsFromEnvironment({
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
    });
    await expect(source()).resolves.toEqual({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    });
    expect(requests).toHaveLength(0);
  });

  it('fails with a message naming the variables when no credentials are set', async () => {
    const error = await credentialsFromEnvironment({})().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toMatch(/AWS_ACCESS_KEY_ID.*AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/);
  });

  it('refuses a plain-http FULL_URI that is neither loopback nor the ECS/EKS credentials host', () => {
    expect(() =>
      credentialsFromEnvironment({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://example.com/creds' }),
    ).toThrow(CredentialsError);
  });

  it('fetches container credentials with the authorization token from its file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-creds-'));
    writeFileSync(join(dir, 'token'), 'file-token\n');
    const source = credentialsFromEnvironment({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, 'token'),
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'env-token',
    });
    const credentials = await source();
    expect(credentials).toMatchObject({
      accessKeyId: expect.stringMatching(/^ASIA/),
      sessionToken: expect.any(String),
    });
    expect(credentials.expiresAtMs).toBeGreaterThan(Date.now());
    expect(requests.at(-1)?.authorization).toBe('file-token');
  });

  it('reuses container credentials until five minutes before they expire, then fetches once for all callers', async () => {
    let now = Date.now();
    answer = { status: 200, expiresAtMs: now + 60 * 60_000 };
    const source = credentialsFromEnvironment(
      { AWS_CONTAINER_CREDENTIALS_FULL_URI: url, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'env-token' },
      () => now,
    );
    const first = await source();
    expect(requests.at(-1)?.authorization).toBe('env-token');
    now += 60 * 60_000 - REFRESH_BEFORE_EXPIRY_MS - 1_000;
    await expect(source()).resolves.toBe(first);
    expect(requests).toHaveLength(1);

    now += 2_000; // inside the refresh window
    answer = { status: 200, expiresAtMs: now + 60 * 60_000 };
    const [a, b, c] = await Promise.all([source(), source(), source()]);
    expect(a).not.toEqual(first);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(requests).toHaveLength(2);
  });

  it('keeps still-valid credentials when a refresh fails, and fails once they have expired', async () => {
    let now = Date.now();
    answer = { status: 200, expiresAtMs: now + 10 * 60_000 };
    const source = credentialsFromEnvironment({ AWS_CONTAINER_CREDENTIALS_FULL_URI: url }, () => now);
    const first = await source();
    now += 6 * 60_000; // four minutes left: refresh due
    answer = { status: 500 };
    await expect(source()).resolves.toBe(first);
    expect(requests.length).toBeGreaterThanOrEqual(2);
    now += 5 * 60_000; // expired
    await expect(source()).rejects.toBeInstanceOf(CredentialsError);
  });
});
