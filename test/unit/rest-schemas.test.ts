import { z } from 'zod';
import { ConfigError, NotFoundError, UpstreamError } from '../../core/errors';
import { statusesBefore } from '../../core/meetings/lifecycle';
import {
  decodeMeetingsCursor,
  decodeTranscriptCursor,
  encodeMeetingsCursor,
  encodeTranscriptCursor,
} from '../../core/rest/cursor';
import { renderDocsPage } from '../../core/rest/docs-page';
import { REST_ERROR_CODES } from '../../core/rest/errors';
import { checkMeetingUrl } from '../../core/rest/meetings';
import { openApiDocument } from '../../core/rest/openapi';
import { REST_LAMBDAS, REST_ROUTES } from '../../core/rest/routes';
import {
  AskRequestSchema,
  CreateMeetingRequestSchema,
  MeetingSchema,
  TranscriptQuerySchema,
} from '../../core/rest/schemas';
import { type HttpEvent, httpRoute, logger } from '../../lambdas/shared/http';

function event(overrides: Partial<HttpEvent> & { sub?: string } = {}): HttpEvent {
  const { sub, ...rest } = overrides;
  return {
    version: '2.0',
    routeKey: 'POST /things/{thingId}',
    rawPath: '/things/t1',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    isBase64Encoded: false,
    pathParameters: { thingId: 't1' },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: 'POST',
        path: '/things/t1',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test',
      },
      requestId: 'req-1',
      routeKey: 'POST /things/{thingId}',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 0,
      ...(sub !== undefined ? { authorizer: { jwt: { claims: { sub }, scopes: null } } } : {}),
    },
    ...rest,
  } as HttpEvent;
}

function bodyOf(result: {
  body?: string;
}): { error?: { code: string; message: string; field?: string } } & Record<string, unknown> {
  return JSON.parse(result.body ?? '{}');
}

describe('REST request schemas', () => {
  it('accepts a minimal meeting and fills nothing it was not given', () => {
    const parsed = CreateMeetingRequestSchema.parse({ meetingUrl: ' https://zoom.us/j/1 ' });
    expect(parsed).toEqual({ meetingUrl: 'https://zoom.us/j/1' });
  });

  it('names the offending field: unknown keys, bad keywords, bad language', () => {
    const issues = (value: unknown) => CreateMeetingRequestSchema.safeParse(value).error?.issues[0];
    expect(issues({ meetingUrl: 'https://x', extra: 1 })).toMatchObject({
      code: 'unrecognized_keys',
      keys: ['extra'],
    });
    expect(issues({ meetingUrl: 'https://x', keywords: ['ok', ''] })?.path).toEqual(['keywords', 1]);
    expect(issues({ meetingUrl: 'https://x', language: 'english' })?.path).toEqual(['language']);
  });

  it('lowercases and de-duplicates keywords', () => {
    expect(
      CreateMeetingRequestSchema.parse({ meetingUrl: 'https://x', keywords: ['Budget', 'budget '] }).keywords,
    ).toEqual(['budget']);
  });

  it('defaults ask to not speaking and transcripts to JSON pages of 200', () => {
    expect(AskRequestSchema.parse({ question: 'Who?' })).toEqual({ question: 'Who?', speak: false });
    expect(TranscriptQuerySchema.parse({})).toEqual({ format: 'json', limit: 200 });
    expect(TranscriptQuerySchema.safeParse({ format: 'docx' }).success).toBe(false);
  });

  it('drops internal meeting fields when a response passes through the schema', () => {
    const view = MeetingSchema.parse({
      meetingId: 'm1',
      title: 't',
      status: 'live',
      paused: false,
      keywords: [],
      language: 'en',
      role: 'owner',
      lastSeq: 3,
      createdAt: 'x',
      updatedAt: 'x',
      endpointTokenHash: 'secret-hash',
      botId: 'bot',
      seqCounter: 9,
    });
    expect(view).not.toHaveProperty('endpointTokenHash');
    expect(view).not.toHaveProperty('botId');
    expect(view).not.toHaveProperty('seqCounter');
  });

  it('takes https meeting links everywhere and local:// meetings only in local mode', () => {
    expect(checkMeetingUrl('https://meet.google.com/abc', false)).toBe('https://meet.google.com/abc');
    expect(checkMeetingUrl('local://sample', true)).toBe('local://sample');
    expect(() => checkMeetingUrl('local://sample', false)).toThrow(
      expect.objectContaining({ field: 'meetingUrl' }),
    );
    expect(() => checkMeetingUrl('javascript:alert(1)', true)).toThrow(
      expect.objectContaining({ field: 'meetingUrl' }),
    );
    expect(() => checkMeetingUrl('not a url', true)).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
  });
});

describe('paging cursors', () => {
  it('round-trip and refuse cursors of another owner, meeting or listing', () => {
    const key = { meetingId: 'm1', ownerId: 'alice', createdAt: '2026-01-01T00:00:00.000Z' };
    const position = { own: key, shared: { readerId: 'alice', meetingKey: '2026-01-02T00:00:00.000Z#m2' } };
    const cursor = encodeMeetingsCursor(position) as string;
    expect(decodeMeetingsCursor(cursor, 'alice')).toEqual(position);
    expect(() => decodeMeetingsCursor(cursor, 'bob')).toThrow(
      expect.objectContaining({ code: 'INVALID_CURSOR' }),
    );
    const ownDone = encodeMeetingsCursor({ own: 'end', shared: position.shared }) as string;
    expect(decodeMeetingsCursor(ownDone, 'alice')).toEqual({ own: 'end', shared: position.shared });
    expect(() => decodeMeetingsCursor(ownDone, 'bob')).toThrow(
      expect.objectContaining({ code: 'INVALID_CURSOR' }),
    );
    expect(encodeMeetingsCursor({ own: 'end', shared: 'end' })).toBeNull();
    // A cursor issued before shared meetings were listed still resumes the own listing.
    const older = Buffer.from(JSON.stringify({ l: 'meetings', k: key })).toString('base64url');
    expect(decodeMeetingsCursor(older, 'alice')).toEqual({ own: key, shared: 'end' });

    const page = encodeTranscriptCursor('m1', 42);
    expect(decodeTranscriptCursor(page, 'm1')).toBe(42);
    expect(() => decodeTranscriptCursor(page, 'm2')).toThrow(expect.objectContaining({ field: 'cursor' }));
    expect(() => decodeTranscriptCursor(cursor, 'm1')).toThrow(
      expect.objectContaining({ code: 'INVALID_CURSOR' }),
    );
    expect(() => decodeMeetingsCursor('%%%not-base64', 'alice')).toThrow(
      expect.objectContaining({ code: 'INVALID_CURSOR' }),
    );
  });
});

describe('Recall webhook status ordering', () => {
  it('only moves a meeting forward in its lifecycle', () => {
    expect(statusesBefore('joining')).toEqual([]);
    expect(statusesBefore('live')).toEqual(['joining']);
    expect(statusesBefore('ended')).toEqual(['joining', 'live', 'paused', 'disconnecting']);
  });
});

describe('the OpenAPI document', () => {
  const doc = openApiDocument();

  it('has every route of the route table with its method, auth and error statuses', () => {
    for (const route of REST_ROUTES) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()] as Record<string, unknown> | undefined;
      expect(op).toBeDefined();
      expect(op?.security).toEqual(route.auth ? [{ bearer: [] }] : []);
      const statuses = Object.keys(op?.responses as object);
      expect(statuses).toContain(String(route.success.status));
      for (const code of route.errors) expect(statuses).toContain(String(REST_ERROR_CODES[code].status));
      expect(REST_LAMBDAS[route.lambda]).toBeDefined();
    }
  });

  it('resolves every $ref to a component schema', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (m) => m[1]!,
    );
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(doc.components.schemas[ref]).toBeDefined();
  });

  it('describes request bodies as clients send them (defaults optional, unknown fields refused)', () => {
    const ask = doc.components.schemas.AskRequest as { required?: string[]; additionalProperties?: boolean };
    expect(ask.required).toEqual(['question']);
    expect(ask.additionalProperties).toBe(false);
    const meeting = doc.components.schemas.Meeting as { properties: Record<string, unknown> };
    expect(Object.keys(meeting.properties)).not.toContain('endpointTokenHash');
  });

  it('renders as a self-contained HTML page listing every path', () => {
    const html = renderDocsPage(doc);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!json-schema)/i);
    for (const route of REST_ROUTES) expect(html).toContain(route.path);
  });
});

describe('httpRoute, the REST handler wrapper', () => {
  const Body = z.strictObject({ name: z.string().min(1), count: z.number().int().optional() });
  const Params = z.object({ thingId: z.string().regex(/^t\d+$/) });
  const calls: unknown[] = [];
  const handler = httpRoute(
    {
      name: 'test',
      auth: true,
      body: Body,
      params: Params,
      response: z.object({ id: z.string(), name: z.string() }),
    },
    async (req) => {
      calls.push(req);
      if (req.body.name === 'missing') throw new NotFoundError('No such thing', 'JOB_NOT_FOUND');
      if (req.body.name === 'upstream') throw new UpstreamError('AI_BAD_RESPONSE', 'The model said nonsense');
      if (req.body.name === 'config') throw new ConfigError('OPENAI_MODEL environment variable is not set');
      if (req.body.name === 'crash') throw new TypeError('x is undefined at /var/task/index.js:1:2');
      return { status: 201, json: { id: req.params.thingId, name: req.body.name, secret: 'internal' } };
    },
  );

  beforeAll(() => logger.setLogLevel('SILENT'));
  beforeEach(() => {
    calls.length = 0;
  });

  it('passes the validated body, params and user, and filters the reply through the response schema', async () => {
    const result = await handler(event({ sub: 'alice', body: JSON.stringify({ name: 'lamp' }) }));

    expect(result.statusCode).toBe(201);
    expect(result.headers?.['content-type']).toMatch(/^application\/json/);
    expect(bodyOf(result)).toEqual({ id: 't1', name: 'lamp' });
    expect(calls[0]).toMatchObject({ userId: 'alice', body: { name: 'lamp' }, params: { thingId: 't1' } });
  });

  it('decodes base64 bodies', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'lamp' })).toString('base64');
    const result = await handler(event({ sub: 'alice', body, isBase64Encoded: true }));
    expect(result.statusCode).toBe(201);
  });

  it('answers 400 naming the field for invalid bodies, unknown fields and params', async () => {
    const invalid = await handler(event({ sub: 'alice', body: JSON.stringify({ name: '' }) }));
    expect(invalid.statusCode).toBe(400);
    expect(bodyOf(invalid).error).toMatchObject({ code: 'INVALID_REQUEST', field: 'name' });
    expect(bodyOf(invalid).error?.message).toMatch(/^name: /);

    const unknown = await handler(
      event({ sub: 'alice', body: JSON.stringify({ name: 'a', colour: 'red' }) }),
    );
    expect(bodyOf(unknown).error).toMatchObject({ code: 'INVALID_REQUEST', field: 'colour' });

    const missing = await handler(event({ sub: 'alice' }));
    expect(bodyOf(missing).error).toMatchObject({ code: 'INVALID_REQUEST', field: 'name' });

    const param = await handler(
      event({ sub: 'alice', pathParameters: { thingId: 'x' }, body: '{"name":"a"}' }),
    );
    expect(bodyOf(param).error).toMatchObject({ code: 'INVALID_REQUEST', field: 'thingId' });
    expect(calls).toHaveLength(0);
  });

  it('answers 400 BAD_JSON, 415 for other content types and 413 above the size limit', async () => {
    const bad = await handler(event({ sub: 'alice', body: '{"name": ' }));
    expect(bad.statusCode).toBe(400);
    expect(bodyOf(bad).error?.code).toBe('BAD_JSON');

    const form = await handler(
      event({
        sub: 'alice',
        body: 'name=lamp',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
    expect(form.statusCode).toBe(415);
    expect(bodyOf(form).error?.code).toBe('UNSUPPORTED_MEDIA_TYPE');

    const big = await handler(event({ sub: 'alice', body: JSON.stringify({ name: 'x'.repeat(70 * 1024) }) }));
    expect(big.statusCode).toBe(413);
    expect(bodyOf(big).error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(calls).toHaveLength(0);
  });

  it('refuses a request without a user on an authenticated route', async () => {
    const result = await handler(event({ body: '{"name":"a"}' }));
    expect(result.statusCode).toBe(401);
    expect(bodyOf(result).error?.code).toBe('UNAUTHORIZED');
  });

  it('maps typed errors to their status and code, and never returns internals', async () => {
    const missing = await handler(event({ sub: 'alice', body: '{"name":"missing"}' }));
    expect(missing.statusCode).toBe(404);
    expect(bodyOf(missing)).toEqual({ error: { code: 'JOB_NOT_FOUND', message: 'No such thing' } });

    const upstream = await handler(event({ sub: 'alice', body: '{"name":"upstream"}' }));
    expect(upstream.statusCode).toBe(502);
    expect(bodyOf(upstream).error?.code).toBe('AI_BAD_RESPONSE');

    for (const name of ['config', 'crash']) {
      const result = await handler(event({ sub: 'alice', body: JSON.stringify({ name }) }));
      expect(result.statusCode).toBe(500);
      expect(bodyOf(result).error?.code).toBe('INTERNAL_ERROR');
      expect(result.body).not.toMatch(/OPENAI_MODEL|\/var\/task|TypeError|at /);
    }
  });
});
