import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { awsCredentials } from '../../core/clients/aws-credentials';
import { destroyClients } from '../../core/clients/lifecycle';
import { isGone } from '../../core/clients/management-api';
import { SigV4Signer } from '../../core/clients/sigv4';
import { SignedConnectionPoster } from '../../core/pipeline/signed-post';

/** A stand-in for the management API that answers by connection id and records requests. */
let server: Server;
let endpoint: string;
/** How many more requests to `/flaky` fail with 503. */
let flaky = 0;
const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  // Local mode's credentials (any key pair is signed with; the stand-in does not check them).
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      if (req.url?.endsWith('/gone')) {
        res.writeHead(410, { 'x-amzn-errortype': 'GoneException:http://internal' }).end('{}');
      } else if (req.url?.endsWith('/flaky') && flaky-- > 0) {
        res.writeHead(503, { 'x-amzn-errortype': 'ServiceUnavailableException' }).end('{}');
      } else if (req.url?.endsWith('/broken')) {
        res.writeHead(500, { 'x-amzn-errortype': 'InternalServerErrorException' }).end('{}');
      } else if (req.url?.endsWith('/throttled')) {
        res.writeHead(429, { 'x-amzn-errortype': 'LimitExceededException' }).end('{"message":"slow down"}');
      } else if (req.url?.endsWith('/hung')) {
        // Never answers (the socket is closed when the server is).
      } else res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/local`;
});

afterAll(async () => {
  destroyClients();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('SignedConnectionPoster', () => {
  it('posts the data SigV4-signed for execute-api to the path the SDK uses', async () => {
    const poster = new SignedConnectionPoster(endpoint);
    await expect(poster.post('L0SM9cOFvHcCIhw=', Buffer.from('{"type":"pong"}'))).resolves.toBe('sent');
    const request = seen.at(-1);
    expect(request?.url).toBe('/local/@connections/L0SM9cOFvHcCIhw%3D');
    expect(request?.body).toBe('{"type":"pong"}');
    expect(String(request?.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(request?.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('signs each post of one body (a broadcast) for its own connection path', async () => {
    const poster = new SignedConnectionPoster(endpoint);
    const data = Buffer.from('{"type":"transcript"}');
    const ids = ['AAAAconnA=', 'BBBBconnB=', 'CCCC(conn)*C='];
    expect(await Promise.all(ids.map((id) => poster.post(id, data)))).toEqual(['sent', 'sent', 'sent']);
    const signer = new SigV4Signer('execute-api', 'us-east-1', awsCredentials());
    const credentials = await awsCredentials()();
    for (const id of ids) {
      const request = seen.find((r) => r.url === `/local/@connections/${encodeURIComponent(id)}`);
      const date = String(request?.headers['x-amz-date']);
      const at = Date.UTC(
        Number(date.slice(0, 4)),
        Number(date.slice(4, 6)) - 1,
        Number(date.slice(6, 8)),
        Number(date.slice(9, 11)),
        Number(date.slice(11, 13)),
        Number(date.slice(13, 15)),
      );
      const expected = signer.signWith(
        credentials,
        {
          method: 'POST',
          path: String(request?.url),
          headers: {
            host: new URL(endpoint).host,
            'content-type': 'application/octet-stream',
            'content-length': String(data.length),
            'x-amz-content-sha256': String(request?.headers['x-amz-content-sha256']),
          },
          payloadHash: String(request?.headers['x-amz-content-sha256']),
        },
        at,
      );
      expect(request?.headers.authorization).toBe(expected.authorization);
    }
  });

  it('fails a request that gets no answer with a TimeoutError, and still posts afterwards', async () => {
    const poster = new SignedConnectionPoster(endpoint, 1, 200);
    await expect(poster.post('hung', Buffer.from('{}'))).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(poster.post('after', Buffer.from('{}'))).resolves.toBe('sent');
  });

  it('answers gone on 410 and throws a typed error with the status for anything else', async () => {
    const poster = new SignedConnectionPoster(endpoint);
    await expect(poster.post('gone', Buffer.from('{}'))).resolves.toBe('gone');
    const error = await poster.post('throttled', Buffer.from('{}')).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'LimitExceededException', $metadata: { httpStatusCode: 429 } });
    expect(isGone(error)).toBe(false);
  });

  it('closes a connection with a signed DELETE to the same path, counting one already gone as closed', async () => {
    const poster = new SignedConnectionPoster(endpoint);
    await expect(poster.remove('L0SM9cOFvHcCIhw=')).resolves.toBeUndefined();
    const request = seen.at(-1);
    expect(request).toMatchObject({
      method: 'DELETE',
      url: '/local/@connections/L0SM9cOFvHcCIhw%3D',
      body: '',
    });
    expect(String(request?.headers.authorization)).toMatch(
      /\/execute-api\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=/,
    );
    await expect(poster.remove('gone')).resolves.toBeUndefined();
    await expect(poster.remove('broken')).rejects.toMatchObject({
      name: 'InternalServerErrorException',
      $metadata: { httpStatusCode: 500 },
    });
  });

  it('tries a throttled or failed request once more when built with two attempts, and never a gone one', async () => {
    const once = new SignedConnectionPoster(endpoint);
    const twice = new SignedConnectionPoster(endpoint, 2);
    flaky = 1;
    await expect(once.post('flaky', Buffer.from('{}'))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 503 },
    });
    flaky = 1;
    const before = seen.length;
    await expect(twice.post('flaky', Buffer.from('{}'))).resolves.toBe('sent');
    expect(seen.length - before).toBe(2);
    flaky = 5;
    await expect(twice.post('flaky', Buffer.from('{}'))).rejects.toMatchObject({
      name: 'ServiceUnavailableException',
      $metadata: { httpStatusCode: 503 },
    });
    const beforeGone = seen.length;
    await expect(twice.post('gone', Buffer.from('{}'))).resolves.toBe('gone');
    expect(seen.length - beforeGone).toBe(1);
  });
});
