import { type IncomingHttpHeaders, request } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { createJwtVerifier } from '../../core/auth/jwt-verifier';
import { type DevIssuer, startDevIssuer } from '../../local/dev-issuer';
import { type HttpHost, type HttpRoute, type HttpRouteEvent, startHttpHost } from '../../local/http-host';

const silentLogger = new Logger({ serviceName: 'http-host-test', logLevel: 'SILENT' });
const MAX_BODY_BYTES = 4 * 1024;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** Plain node:http so the test controls raw headers (duplicates, cookies) and uses no keep-alive. */
function send(
  url: string,
  options: { method?: string; headers?: [string, string][]; body?: string | Buffer } = {},
): Promise<Reply> {
  // Raw header arrays are sent as given: Node adds neither Host nor Content-Length.
  const headers: [string, string][] = [['Host', new URL(url).host], ...(options.headers ?? [])];
  const chunked = headers.some(([name]) => name.toLowerCase() === 'transfer-encoding');
  if (options.body !== undefined && !chunked)
    headers.push(['Content-Length', String(Buffer.byteLength(options.body))]);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: headers.flat(), agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('HTTP API host', () => {
  const received: HttpRouteEvent[] = [];
  let issuer: DevIssuer;
  let host: HttpHost;

  const routes: HttpRoute[] = [
    {
      method: 'POST',
      path: '/meetings/{id}/notes',
      auth: true,
      handler: async (event) => {
        received.push(event);
        return { statusCode: 201, body: JSON.stringify({ ok: true }), headers: { 'x-handler': 'notes' } };
      },
    },
    {
      method: 'GET',
      path: '/meetings/{id}',
      auth: false,
      handler: async (event) => {
        received.push(event);
        return {
          statusCode: 200,
          body: JSON.stringify({ id: event.pathParameters?.id }),
          cookies: ['a=1; Path=/', 'b=2; HttpOnly'],
          headers: { 'access-control-allow-origin': 'https://evil.example', 'cache-control': 'no-store' },
        };
      },
    },
    { method: 'GET', path: '/meetings/search', auth: false, handler: async () => 'static route wins' },
    {
      method: 'GET',
      path: '/files/{key+}',
      auth: false,
      handler: async (event) => ({ statusCode: 200, body: event.pathParameters?.key ?? '' }),
    },
    { method: 'GET', path: '/inferred', auth: false, handler: async () => ({ hello: 'world' }) as never },
    {
      method: 'GET',
      path: '/image',
      auth: false,
      handler: async () => ({
        statusCode: 200,
        headers: { 'content-type': 'image/png' },
        body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff]).toString('base64'),
        isBase64Encoded: true,
      }),
    },
    {
      method: 'PUT',
      path: '/upload',
      auth: false,
      handler: async (event) => {
        received.push(event);
        return { statusCode: 204 };
      },
    },
    {
      method: 'GET',
      path: '/boom',
      auth: false,
      handler: async () => {
        throw new Error('secret stack detail');
      },
    },
  ];

  beforeAll(async () => {
    issuer = await startDevIssuer();
    host = await startHttpHost({
      routes,
      jwt: createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience }),
      maxBodyBytes: MAX_BODY_BYTES,
      cors: { allowOrigins: ['http://localhost:5173'], maxAgeSeconds: 600 },
      logger: silentLogger,
    });
  });

  afterAll(async () => {
    await host.stop();
    await issuer.stop();
  });

  beforeEach(() => {
    received.length = 0;
  });

  describe('events', () => {
    it('builds a payload 2.0 event with path, query, headers, cookies, body and JWT claims', async () => {
      const token = await issuer.mintToken('user-1', {
        email: 'ada@example.com',
        claims: { scope: 'notes/write' },
      });
      const body = JSON.stringify({ text: 'hello' });

      const reply = await send(`${host.url}/meetings/m%201/notes?x=1&x=2&y=%C3%A9`, {
        method: 'POST',
        headers: [
          ['Authorization', `Bearer ${token}`],
          ['Content-Type', 'application/json; charset=utf-8'],
          ['X-Dup', 'a'],
          ['X-Dup', 'b'],
          ['Cookie', 'session=abc; theme=dark'],
          ['User-Agent', 'parley-test'],
        ],
        body,
      });

      expect(reply.status).toBe(201);
      expect(reply.headers['x-handler']).toBe('notes');
      expect(reply.headers['apigw-requestid']).toMatch(/^[A-Za-z0-9_-]{15}=$/);
      const event = received[0] as APIGatewayProxyEventV2WithJWTAuthorizer;
      expect(event).toMatchObject({
        version: '2.0',
        routeKey: 'POST /meetings/{id}/notes',
        rawPath: '/meetings/m%201/notes',
        rawQueryString: 'x=1&x=2&y=%C3%A9',
        cookies: ['session=abc', 'theme=dark'],
        queryStringParameters: { x: '1,2', y: 'é' },
        pathParameters: { id: 'm 1' },
        body,
        isBase64Encoded: false,
        requestContext: {
          accountId: expect.any(String),
          apiId: 'local',
          domainName: `127.0.0.1:${host.port}`,
          http: {
            method: 'POST',
            path: '/meetings/m%201/notes',
            protocol: 'HTTP/1.1',
            sourceIp: '127.0.0.1',
            userAgent: 'parley-test',
          },
          requestId: reply.headers['apigw-requestid'],
          routeKey: 'POST /meetings/{id}/notes',
          stage: '$default',
          timeEpoch: expect.any(Number),
        },
      });
      expect(event.headers).toMatchObject({
        'x-dup': 'a,b',
        'content-type': 'application/json; charset=utf-8',
      });
      expect(event.headers.cookie).toBeUndefined();
      expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
      const { claims, scopes } = event.requestContext.authorizer.jwt;
      expect(claims).toMatchObject({ sub: 'user-1', email: 'ada@example.com', iss: issuer.issuer });
      expect(claims.exp).toMatch(/^\d+$/);
      expect(scopes).toEqual(['notes/write']);
    });

    it('omits absent parts and the authorizer on public routes', async () => {
      const reply = await send(`${host.url}/meetings/m-2`);

      expect(reply.status).toBe(200);
      const event = received[0]!;
      expect(event.rawQueryString).toBe('');
      expect(event.queryStringParameters).toBeUndefined();
      expect(event.cookies).toBeUndefined();
      expect(event.body).toBeUndefined();
      expect(event.isBase64Encoded).toBe(false);
      expect('authorizer' in event.requestContext).toBe(false);
    });

    it('base64-encodes bodies whose content type is not text', async () => {
      const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80]);

      await send(`${host.url}/upload`, {
        method: 'PUT',
        headers: [['Content-Type', 'application/octet-stream']],
        body: bytes,
      });

      expect(received[0]).toMatchObject({ isBase64Encoded: true, body: bytes.toString('base64') });
    });

    it('prefers a literal path segment over a parameter and supports greedy parameters', async () => {
      const literal = await send(`${host.url}/meetings/search`);
      const greedy = await send(`${host.url}/files/a/b/c.txt`);

      expect(literal.text).toBe('static route wins');
      expect(greedy.text).toBe('a/b/c.txt');
    });
  });

  describe('JWT authorizer', () => {
    it.each([
      ['no token', async () => undefined],
      ['a garbage token', async () => 'Bearer not.a.jwt'],
      ['an expired token', async () => `Bearer ${await issuer.mintToken('u', { expiresInSeconds: -60 })}`],
      [
        'a token for another audience',
        async () => `Bearer ${await issuer.mintToken('u', { audience: 'other' })}`,
      ],
    ])('answers 401 without calling the handler for %s', async (_name, authorization) => {
      const value = await authorization();
      const headers: [string, string][] = value ? [['Authorization', value]] : [];

      const reply = await send(`${host.url}/meetings/m-1/notes`, { method: 'POST', headers, body: '{}' });

      expect(reply.status).toBe(401);
      expect(JSON.parse(reply.text)).toEqual({ message: 'Unauthorized' });
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(received).toHaveLength(0);
    });

    it('accepts a token sent without the Bearer prefix', async () => {
      const token = await issuer.mintToken('user-2');

      const reply = await send(`${host.url}/meetings/m-1/notes`, {
        method: 'POST',
        headers: [['Authorization', token]],
      });

      expect(reply.status).toBe(201);
      expect(received).toHaveLength(1);
    });
  });

  describe('responses', () => {
    it('maps a structured result: status, headers, one set-cookie per cookie', async () => {
      const reply = await send(`${host.url}/meetings/m-3`);

      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toBe('application/json');
      expect(reply.headers['cache-control']).toBe('no-store');
      expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
      expect(JSON.parse(reply.text)).toEqual({ id: 'm-3' });
    });

    it('infers a 200 JSON response from a result without statusCode', async () => {
      const text = await send(`${host.url}/meetings/search`);
      const object = await send(`${host.url}/inferred`);

      expect([text.status, text.headers['content-type'], text.text]).toEqual([
        200,
        'application/json',
        'static route wins',
      ]);
      expect([object.status, JSON.parse(object.text)]).toEqual([200, { hello: 'world' }]);
    });

    it('decodes a base64 result body', async () => {
      const reply = await send(`${host.url}/image`);

      expect(reply.headers['content-type']).toBe('image/png');
      expect(reply.body.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff]))).toBe(true);
    });

    it('answers 404 Not Found for an unknown path or method', async () => {
      const path = await send(`${host.url}/nowhere`);
      const method = await send(`${host.url}/meetings/m-1`, { method: 'DELETE' });

      expect([path.status, JSON.parse(path.text)]).toEqual([404, { message: 'Not Found' }]);
      expect(method.status).toBe(404);
    });

    it('answers 500 without details when the handler throws', async () => {
      const reply = await send(`${host.url}/boom`);

      expect(reply.status).toBe(500);
      expect(JSON.parse(reply.text)).toEqual({ message: 'Internal Server Error' });
    });

    it('answers 413 for a body over the limit without calling the handler', async () => {
      const reply = await send(`${host.url}/upload`, {
        method: 'PUT',
        headers: [['Content-Type', 'text/plain']],
        body: 'x'.repeat(MAX_BODY_BYTES + 1),
      });

      expect(reply.status).toBe(413);
      expect(received).toHaveLength(0);
    });

    it('answers 413 for a chunked body that grows over the limit', async () => {
      const reply = await send(`${host.url}/upload`, {
        method: 'PUT',
        headers: [
          ['Content-Type', 'text/plain'],
          ['Transfer-Encoding', 'chunked'],
        ],
        body: 'x'.repeat(MAX_BODY_BYTES + 1),
      });

      expect(reply.status).toBe(413);
      expect(received).toHaveLength(0);
    });

    it('accepts a chunked body up to the limit', async () => {
      const reply = await send(`${host.url}/upload`, {
        method: 'PUT',
        headers: [
          ['Content-Type', 'text/plain'],
          ['Transfer-Encoding', 'chunked'],
        ],
        body: 'y'.repeat(MAX_BODY_BYTES),
      });

      expect(reply.status).toBe(204);
      expect(received[0]?.body).toHaveLength(MAX_BODY_BYTES);
    });
  });

  describe('CORS', () => {
    it('answers a preflight from an allowed origin itself', async () => {
      const reply = await send(`${host.url}/meetings/m-1/notes`, {
        method: 'OPTIONS',
        headers: [
          ['Origin', 'http://localhost:5173'],
          ['Access-Control-Request-Method', 'POST'],
          ['Access-Control-Request-Headers', 'authorization,content-type'],
        ],
      });

      expect(reply.status).toBe(204);
      expect(reply.headers).toMatchObject({
        'access-control-allow-origin': 'http://localhost:5173',
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'authorization,content-type',
        'access-control-max-age': '600',
      });
      expect(received).toHaveLength(0);
    });

    it('gives no CORS headers to a disallowed origin', async () => {
      const reply = await send(`${host.url}/meetings/m-1/notes`, {
        method: 'OPTIONS',
        headers: [
          ['Origin', 'https://evil.example'],
          ['Access-Control-Request-Method', 'POST'],
        ],
      });

      expect(reply.status).toBe(204);
      expect(reply.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('adds its own CORS headers to responses and drops the handler ones', async () => {
      const reply = await send(`${host.url}/meetings/m-1`, {
        headers: [['Origin', 'http://localhost:5173']],
      });

      expect(reply.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    });
  });

  it('stops idempotently and refuses connections afterwards', async () => {
    const other = await startHttpHost({ routes: [], logger: silentLogger });

    await Promise.all([other.stop(), other.stop()]);

    await expect(send(`${other.url}/anything`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('refuses to start auth routes without a verifier', async () => {
    await expect(startHttpHost({ routes: [{ ...routes[0]! }], logger: silentLogger })).rejects.toThrow(
      TypeError,
    );
  });
});
