import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { MeetingRepository } from '../../core/meetings/repository';
import { newMeetingRecord } from '../../core/meetings/service';
import { svixHeaders } from '../../core/recall/webhook-signature';
import type { MeetingView, TranscriptSegmentView } from '../../core/rest/schemas';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { TEST_LIVE_DECODER_ARGS } from '../helpers/live';

/**
 * The REST API through the local HTTP API host, with the real emulators, the audio gateway,
 * the speech server and the Recall simulator: real sockets end to end, no OpenAI (the embedded
 * engine answers).
 */

const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
process.env.RECALL_WEBHOOK_SECRET = WEBHOOK_SECRET;
delete process.env.OPENAI_API_KEY;
delete process.env.OPENAI_API_KEY_SECRET_ARN;

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field with expect
type Json = any;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Json;
}

let stack: LocalStack;
const tokens: Record<string, string> = {};

async function call(
  method: string,
  path: string,
  options: { user?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.user) headers.authorization = `Bearer ${tokens[options.user] ?? ''}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${stack.urls.rest}${path}`, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  // Generous: a loaded machine plays, transcribes and stores a meeting slowly; a condition that
  // holds returns at once.
  timeoutMs = 180_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A WebSocket API client subscribed to one meeting, collecting what it receives. */
async function subscribe(user: string, meetingId: string) {
  const socket = new WebSocket(`${stack.urls.ws}?token=${tokens[user]}`);
  const messages: Json[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ action: 'subscribe', meetingId }));
  await waitFor('subscribed', () => messages.some((m) => m.type === 'subscribed'));
  return {
    messages,
    // The `subscribed` reply carries the status at subscription time: a meeting may go live first.
    statusEvent: (status: string) =>
      waitFor(`status ${status}`, () =>
        messages.find((m) => (m.type === 'status' || m.type === 'subscribed') && m.status === status),
      ),
    close: () => socket.close(),
  };
}

function signedWebhook(body: unknown, options: { secret?: string; ageSeconds?: number } = {}) {
  const raw = JSON.stringify(body);
  const headers = svixHeaders(
    options.secret ?? WEBHOOK_SECRET,
    `msg_${randomBytes(8).toString('hex')}`,
    Math.floor(Date.now() / 1000) - (options.ageSeconds ?? 0),
    raw,
  );
  return { raw, headers: { ...headers, 'content-type': 'application/json' } };
}

function statusChange(botId: string, code: string) {
  return {
    event: 'bot.status_change',
    data: {
      bot_id: botId,
      status: { code, created_at: new Date().toISOString(), sub_code: null, message: null },
    },
  };
}

function botOf(meetingId: string) {
  return stack.recall.bots().find((bot) => bot.metadata.parleyMeetingId === meetingId);
}

// ---- tiny parsers for the downloads ----

interface Cue {
  startMs: number;
  endMs: number;
  speaker: string;
  text: string;
}

function parseTime(value: string): number {
  const m = /^(\d+):(\d\d):(\d\d)[,.](\d{3})$/.exec(value.trim());
  if (!m) throw new Error(`bad timestamp ${value}`);
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
}

function parseSrt(text: string): Cue[] {
  return text
    .trim()
    .split(/\n\n+/)
    .map((block, i) => {
      const [index, times, ...rest] = block.split('\n');
      expect(Number(index)).toBe(i + 1);
      const [start, end] = times!.split(' --> ');
      const payload = rest.join(' ');
      const colon = payload.indexOf(': ');
      return {
        startMs: parseTime(start!),
        endMs: parseTime(end!),
        speaker: payload.slice(0, colon),
        text: payload.slice(colon + 2),
      };
    });
}

function parseVtt(text: string): Cue[] {
  const [header, ...blocks] = text.trim().split(/\n\n+/);
  expect(header).toBe('WEBVTT');
  return blocks.map((block) => {
    const lines = block.split('\n');
    const timing = lines.findIndex((l) => l.includes(' --> '));
    const [start, end] = lines[timing]!.split(' --> ');
    const voice = /^<v ([^>]+)>(.*)$/.exec(lines.slice(timing + 1).join(' '))!;
    const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    return {
      startMs: parseTime(start!),
      endMs: parseTime(end!),
      speaker: decode(voice[1]!),
      text: decode(voice[2]!),
    };
  });
}

function parseTxt(text: string): { second: number; speaker: string; text: string }[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('['))
    .map((line) => {
      const m = /^\[(\d\d):(\d\d):(\d\d)\] ([^:]+): (.*)$/.exec(line)!;
      return { second: (Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3]), speaker: m[4]!, text: m[5]! };
    });
}

const normalise = (s: string) => s.replace(/\s+/g, ' ').trim();

// A loaded machine plays, transcribes and stores meetings slowly (see waitFor).
jest.setTimeout(240_000);

const LONG_RECORDING = 'quiet-ten-minutes.wav';

describe('REST API (local stack)', () => {
  let recordingDir: string | undefined;
  let live: { meetingId: string; botId: string };
  let subscriber: Awaited<ReturnType<typeof subscribe>>;
  let finals: TranscriptSegmentView[];

  beforeAll(async () => {
    recordingDir = mkdtempSync(path.join(tmpdir(), 'parley-rest-api-'));
    // Ten minutes of near silence: a meeting that lasts while a test makes its bot leave.
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'anoisesrc=a=0.001:r=16000',
      '-t',
      '600',
      '-ac',
      '1',
      '-c:a',
      'pcm_s16le',
      path.join(recordingDir, LONG_RECORDING),
    ]);
    stack = await startLocalStack({
      recordingDirs: [recordingDir],
      speed: 8,
      speechLiveDecoderArgs: TEST_LIVE_DECODER_ARGS,
      logLevel: 'ERROR',
      reconnectGraceMs: 300,
      // This file checks the answer without text-to-speech; test/e2e/spoken-answer.test.ts speaks.
      speechSynthesis: 'none',
    });
    for (const user of ['alice', 'bob', 'mallory', 'carol'])
      tokens[user] = await stack.issuer.mintToken(user);
    tokens.expired = await stack.issuer.mintToken('alice', { expiresInSeconds: -60 });
  });

  afterAll(async () => {
    subscriber?.close();
    await stack?.stop();
    if (recordingDir) rmSync(recordingDir, { recursive: true, force: true });
  });

  it('creates a meeting whose bot streams the local sample into the audio gateway with its token', async () => {
    // Act
    const created = await call('POST', '/meetings', {
      user: 'alice',
      body: { meetingUrl: 'local://sample', title: 'Sense and Sensibility', keywords: ['Amiable'] },
    });

    // Assess
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      status: 'joining',
      title: 'Sense and Sensibility',
      keywords: ['amiable'],
      role: 'owner',
    });
    expect(created.headers.get('location')).toBe(`/meetings/${created.json.meetingId}`);
    for (const internal of [
      'endpointTokenHash',
      'botId',
      'seqCounter',
      'statusEpoch',
      'ownerId',
      'desiredState',
    ]) {
      expect(created.json).not.toHaveProperty(internal);
    }
    const meetingId: string = created.json.meetingId;
    subscriber = await subscribe('alice', meetingId);
    const bot = await waitFor('the bot', () => botOf(meetingId));
    live = { meetingId, botId: bot.id };
    const endpoint = await waitFor('a realtime connection', () => {
      const view = stack.recall.bot(bot.id)?.endpoints[0];
      return view && view.connections >= 1 ? view : undefined;
    });
    expect(endpoint.url).toMatch(
      new RegExp(`^${stack.urls.audioGateway}/recall/${meetingId}\\?token=[A-Za-z0-9_-]{43}$`),
    );
    // The token lives only in the URL Recall was given, never in an API response.
    const token = new URL(endpoint.url).searchParams.get('token')!;
    expect(created.text).not.toContain(token);
  });

  it('refuses the audio gateway upgrade with a wrong token (401)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(
        `${stack.urls.audioGateway}/recall/${live.meetingId}?token=${'x'.repeat(43)}`,
      );
      socket.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        socket.terminate();
      });
      socket.on('open', () => reject(new Error('a wrong token was accepted')));
      socket.on('error', () => undefined);
    });
    expect(status).toBe(401);
  });

  it('returns the finals in order once the meeting has ended', async () => {
    // Finals and the ended status travel the same FIFO group: after `ended`, every final is stored.
    await subscriber.statusEvent('live');
    await subscriber.statusEvent('ended');

    const page = await call('GET', `/meetings/${live.meetingId}/transcript`, { user: 'alice' });

    expect(page.status).toBe(200);
    finals = page.json.segments;
    expect(finals.length).toBeGreaterThanOrEqual(3);
    expect(finals.length).toBeLessThanOrEqual(8);
    const seqs = finals.map((s) => s.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    for (let i = 1; i < finals.length; i++)
      expect(finals[i]!.startMs).toBeGreaterThanOrEqual(finals[i - 1]!.endMs - 50);
    expect(finals.map((s) => s.text).join(' ')).toMatch(/amiable/i);
    expect(page.json.nextCursor).toBeNull();
    const status = await call('GET', `/meetings/${live.meetingId}/status`, { user: 'alice' });
    expect(status.json).toMatchObject({ status: 'ended', lastSeq: seqs.at(-1) });
    expect(subscriber.messages.filter((m) => m.type === 'keyword_alert').length).toBeGreaterThanOrEqual(1);
  });

  it('pages the transcript with an opaque cursor', async () => {
    const first = await call('GET', `/meetings/${live.meetingId}/transcript?limit=2`, { user: 'alice' });
    expect(first.json.segments).toHaveLength(2);
    expect(typeof first.json.nextCursor).toBe('string');
    const rest: TranscriptSegmentView[] = [];
    let cursor: string | null = first.json.nextCursor;
    while (cursor) {
      const page = await call(
        'GET',
        `/meetings/${live.meetingId}/transcript?limit=2&cursor=${encodeURIComponent(cursor)}`,
        {
          user: 'alice',
        },
      );
      rest.push(...page.json.segments);
      cursor = page.json.nextCursor;
    }
    expect([...first.json.segments, ...rest].map((s) => s.seq)).toEqual(finals.map((s) => s.seq));
  });

  it('downloads the transcript as txt, srt and vtt with the same text and times', async () => {
    const [txt, srt, vtt] = await Promise.all(
      ['txt', 'srt', 'vtt'].map((format) =>
        call('GET', `/meetings/${live.meetingId}/transcript?format=${format}`, { user: 'alice' }),
      ),
    );

    expect(txt!.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(srt!.headers.get('content-type')).toBe('application/x-subrip; charset=utf-8');
    expect(vtt!.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    for (const [reply, ext] of [
      [txt!, 'txt'],
      [srt!, 'srt'],
      [vtt!, 'vtt'],
    ] as const) {
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-disposition')).toMatch(
        new RegExp(`^attachment; filename="Sense-and-Sensibility-transcript\\.${ext}"`),
      );
    }
    const expected = finals.map((s) => ({
      startMs: s.startMs,
      endMs: s.endMs,
      speaker: s.speaker,
      text: normalise(s.text),
    }));
    expect(parseSrt(srt!.text)).toEqual(expected);
    expect(parseVtt(vtt!.text)).toEqual(expected);
    expect(parseTxt(txt!.text)).toEqual(
      expected.map((s) => ({
        second: Math.floor(Math.round(s.startMs) / 1000),
        speaker: s.speaker,
        text: s.text,
      })),
    );
    expect(txt!.text.startsWith('Sense and Sensibility\n\n')).toBe(true);
  });

  it('briefs and answers with the embedded engine, and refuses to speak without any text-to-speech', async () => {
    const brief = await call('GET', `/meetings/${live.meetingId}/brief`, { user: 'alice' });
    expect(brief.status).toBe(200);
    expect(brief.json).toMatchObject({ engine: 'embedded-extractive', coversSeq: finals.at(-1)!.seq });
    expect(brief.json.summary.length).toBeGreaterThan(10);
    const words = new Set(finals.flatMap((s) => s.text.toLowerCase().match(/[a-z']+/g) ?? []));
    expect(
      (brief.json.summary.toLowerCase().match(/[a-z']+/g) ?? []).every((w: string) => words.has(w)),
    ).toBe(true);
    const again = await call('GET', `/meetings/${live.meetingId}/brief`, { user: 'alice' });
    expect(again.json.generatedAt).toBe(brief.json.generatedAt); // cached: the transcript did not grow

    const answer = await call('POST', `/meetings/${live.meetingId}/ask`, {
      user: 'alice',
      body: { question: 'Who was amiable?' },
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ engine: 'embedded-retrieval', spoken: false });
    expect(answer.json.citations.length).toBeGreaterThan(0);
    for (const seq of answer.json.citations) expect(finals.map((s) => s.seq)).toContain(seq);

    const spoken = await call('POST', `/meetings/${live.meetingId}/ask`, {
      user: 'alice',
      body: { question: 'Who was amiable?', speak: true },
    });
    expect(spoken.status).toBe(409);
    expect(spoken.json.error.code).toBe('SPEECH_UNAVAILABLE');
  });

  it('answers 404 to another user on every meeting route, exactly as for a meeting that does not exist', async () => {
    const id = live.meetingId;
    const routes: [string, string, unknown?][] = [
      ['GET', `/meetings/${id}`],
      ['GET', `/meetings/${id}/status`],
      ['GET', `/meetings/${id}/transcript`],
      ['GET', `/meetings/${id}/transcript?format=srt`],
      ['GET', `/meetings/${id}/brief`],
      ['POST', `/meetings/${id}/ask`, { question: 'What was said?' }],
      ['POST', `/meetings/${id}/leave`],
      ['POST', `/meetings/${id}/shares`, { userId: 'mallory' }],
      ['DELETE', `/meetings/${id}/shares/bob`],
    ];
    for (const [method, path, body] of routes) {
      const theirs = await call(method, path, { user: 'mallory', body });
      const missing = await call(method, path.replace(id, 'no-such-meeting'), { user: 'alice', body });
      expect([method, path, theirs.status]).toEqual([method, path, 404]);
      expect(theirs.json.error.code).toBe('MEETING_NOT_FOUND');
      expect(theirs.json.error.code).toBe(missing.json.error.code);
      expect(Object.keys(theirs.json)).toEqual(['error']);
    }
    const list = await call('GET', '/meetings', { user: 'mallory' });
    expect(list.json.meetings).toEqual([]);
  });

  it('shares a meeting for reading: the reader sees it but may not control it, until unshared', async () => {
    const id = live.meetingId;
    const shared = await call('POST', `/meetings/${id}/shares`, { user: 'alice', body: { userId: 'bob' } });
    expect(shared.json).toEqual({ meetingId: id, sharedWith: ['bob'] });
    expect(
      (await call('POST', `/meetings/${id}/shares`, { user: 'alice', body: { userId: 'bob' } })).json
        .sharedWith,
    ).toEqual(['bob']);

    const seen = await call('GET', `/meetings/${id}`, { user: 'bob' });
    expect(seen.status).toBe(200);
    expect(seen.json.role).toBe('viewer');
    expect(seen.json).not.toHaveProperty('meetingUrl');
    expect(seen.json).not.toHaveProperty('sharedWith');
    expect((await call('GET', `/meetings/${id}/transcript?format=vtt`, { user: 'bob' })).status).toBe(200);
    const leave = await call('POST', `/meetings/${id}/leave`, { user: 'bob' });
    expect(leave.status).toBe(403);
    expect(leave.json.error.code).toBe('FORBIDDEN');
    expect(
      (await call('POST', `/meetings/${id}/shares`, { user: 'bob', body: { userId: 'mallory' } })).status,
    ).toBe(403);
    expect(
      (await call('POST', `/meetings/${id}/shares`, { user: 'alice', body: { userId: 'alice' } })).json.error
        .field,
    ).toBe('userId');

    const unshared = await call('DELETE', `/meetings/${id}/shares/bob`, { user: 'alice' });
    expect(unshared.json).toEqual({ meetingId: id, sharedWith: [] });
    expect((await call('GET', `/meetings/${id}`, { user: 'bob' })).status).toBe(404);
  });

  it('answers 400 naming the field for invalid input, 413 for large bodies, 401 without a valid token', async () => {
    const cases: [
      string,
      string,
      { body?: unknown; raw?: string; headers?: Record<string, string> },
      string,
      string?,
    ][] = [
      ['POST', '/meetings', { body: {} }, 'INVALID_REQUEST', 'meetingUrl'],
      [
        'POST',
        '/meetings',
        { body: { meetingUrl: 'ftp://files.example.com/x' } },
        'INVALID_REQUEST',
        'meetingUrl',
      ],
      [
        'POST',
        '/meetings',
        { body: { meetingUrl: 'local://sample', keywords: 'amiable' } },
        'INVALID_REQUEST',
        'keywords',
      ],
      [
        'POST',
        '/meetings',
        { body: { meetingUrl: 'local://sample', language: 'klingon!' } },
        'INVALID_REQUEST',
        'language',
      ],
      [
        'POST',
        '/meetings',
        { body: { meetingUrl: 'local://sample', owner: 'bob' } },
        'INVALID_REQUEST',
        'owner',
      ],
      [
        'POST',
        '/meetings',
        { raw: '{"meetingUrl": ', headers: { 'content-type': 'application/json' } },
        'BAD_JSON',
      ],
      [
        'POST',
        `/meetings/${live.meetingId}/ask`,
        { body: { question: '   ' } },
        'INVALID_REQUEST',
        'question',
      ],
      [
        'POST',
        `/meetings/${live.meetingId}/ask`,
        { body: { question: 'x', speak: 'yes' } },
        'INVALID_REQUEST',
        'speak',
      ],
      ['POST', `/meetings/${live.meetingId}/shares`, { body: { userId: 7 } }, 'INVALID_REQUEST', 'userId'],
      ['GET', '/meetings?limit=0', {}, 'INVALID_REQUEST', 'limit'],
      ['GET', '/meetings?cursor=bm90LWEtY3Vyc29y', {}, 'INVALID_CURSOR', 'cursor'],
      ['GET', `/meetings/${live.meetingId}/transcript?format=pdf`, {}, 'INVALID_REQUEST', 'format'],
    ];
    for (const [method, path, options, code, field] of cases) {
      const reply = await call(method, path, { user: 'alice', ...options });
      expect([method, path, reply.status, reply.json.error.code]).toEqual([method, path, 400, code]);
      if (field) expect(reply.json.error.field).toBe(field);
      expect(reply.json.error.message).not.toMatch(/\n\s+at /);
    }

    const big = await call('POST', '/meetings', {
      user: 'alice',
      body: { meetingUrl: 'local://sample', title: 'x'.repeat(70_000) },
    });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    const form = await call('POST', '/meetings', {
      user: 'alice',
      raw: 'meetingUrl=local://sample',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);

    expect((await call('GET', '/meetings')).status).toBe(401);
    expect((await call('GET', '/meetings', { user: 'expired' })).status).toBe(401);
  });

  it('lists the caller’s meetings newest first, a page at a time', async () => {
    const titles = ['first', 'second', 'third'];
    for (const title of titles) {
      const created = await call('POST', '/meetings', {
        user: 'carol',
        body: { meetingUrl: 'https://zoom.us/j/123', title },
      });
      expect(created.status).toBe(201);
    }
    const first = await call('GET', '/meetings?limit=2', { user: 'carol' });
    expect(first.json.meetings.map((m: MeetingView) => m.title)).toEqual(['third', 'second']);
    const second = await call(
      'GET',
      `/meetings?limit=2&cursor=${encodeURIComponent(first.json.nextCursor)}`,
      { user: 'carol' },
    );
    expect(second.json.meetings.map((m: MeetingView) => m.title)).toEqual(['first']);
    expect(second.json.nextCursor).toBeNull();
    // A cursor is only good for its own listing.
    const stolen = await call('GET', `/meetings?cursor=${encodeURIComponent(first.json.nextCursor)}`, {
      user: 'alice',
    });
    expect(stolen.json.error.code).toBe('INVALID_CURSOR');
  });

  it('applies Recall status webhooks only with a valid signature, moving the meeting forward', async () => {
    // Prepare: a meeting whose bot the simulator does not run, so only these webhooks change it.
    const created = await call('POST', '/meetings', {
      user: 'alice',
      body: { meetingUrl: 'https://meet.google.com/abc-defg-hij' },
    });
    const meetingId: string = created.json.meetingId;
    const bot = { id: randomUUID() };
    await new MeetingRepository().setBot(meetingId, bot.id);
    const watcher = await subscribe('alice', meetingId);
    const status = async () =>
      (await call('GET', `/meetings/${meetingId}/status`, { user: 'alice' })).json.status;

    try {
      // A wrong secret, a stale timestamp, a tampered body, no headers: 401 and nothing changes.
      const forged = signedWebhook(statusChange(bot.id, 'in_call_recording'), {
        secret: `whsec_${randomBytes(24).toString('base64')}`,
      });
      const stale = signedWebhook(statusChange(bot.id, 'in_call_recording'), { ageSeconds: 600 });
      const good = signedWebhook(statusChange(bot.id, 'in_call_recording'));
      const attempts = [
        { raw: forged.raw, headers: forged.headers },
        { raw: stale.raw, headers: stale.headers },
        { raw: good.raw.replace('in_call_recording', 'fatal'), headers: good.headers },
        { raw: good.raw, headers: { 'content-type': 'application/json' } },
      ];
      for (const attempt of attempts) {
        const refused = await call('POST', '/webhooks/recall', attempt);
        expect(refused.status).toBe(401);
        expect(refused.json.error.code).toBe('INVALID_SIGNATURE');
      }
      expect(await status()).toBe('joining');

      // Act: a good signature.
      const accepted = await call('POST', '/webhooks/recall', good);

      // Assess
      expect(accepted.status).toBe(200);
      expect(accepted.json).toEqual({ received: true, applied: true, status: 'live' });
      expect(await status()).toBe('live');
      await watcher.statusEvent('live');

      // Out of order (joining after live), unknown codes and unknown bots change nothing.
      for (const body of [
        statusChange(bot.id, 'joining_call'),
        statusChange(bot.id, 'in_waiting_room'),
        statusChange('00000000-0000-0000-0000-000000000000', 'fatal'),
        { event: 'recording.done', data: { recording: { id: 'r1' } } },
      ]) {
        const reply = await call('POST', '/webhooks/recall', signedWebhook(body));
        expect(reply.json).toMatchObject({ received: true, applied: false });
      }
      expect(await status()).toBe('live');

      // The bot left a meeting it was recording: the audio gateway finalizes and ends it.
      const left = await call('POST', '/webhooks/recall', signedWebhook(statusChange(bot.id, 'call_ended')));
      expect(left.json.status).toBe('disconnecting');
      await watcher.statusEvent('disconnecting');
      expect(await status()).toBe('disconnecting');
    } finally {
      watcher.close();
    }
  });

  it('ends a meeting at once when its bot leaves before it ever recorded', async () => {
    // Stored directly, so no simulated bot races the webhook this test sends.
    const { meeting: record } = newMeetingRecord({
      ownerId: 'alice',
      title: 'Bot left while joining',
      meetingUrl: 'https://meet.google.com/xyz-defg-hij',
    });
    await new MeetingRepository().create(record);
    const meetingId = record.meetingId;
    const botId = randomUUID();
    await new MeetingRepository().setBot(meetingId, botId);
    const reply = await call('POST', '/webhooks/recall', signedWebhook(statusChange(botId, 'call_ended')));
    expect(reply.json).toMatchObject({ applied: true, status: 'ended' });
    const meeting = await call('GET', `/meetings/${meetingId}`, { user: 'alice' });
    expect(meeting.json).toMatchObject({ status: 'ended', endedAt: expect.any(String) });
  });

  it('makes the bot leave on the owner’s request', async () => {
    // A long recording, so the bot is still in the call however slowly this machine answers.
    const created = await call('POST', '/meetings', {
      user: 'alice',
      body: { meetingUrl: `local://recordings/${LONG_RECORDING}` },
    });
    expect(created.status).toBe(201);
    const meetingId: string = created.json.meetingId;
    const bot = await waitFor('the bot in the call', () => {
      const view = botOf(meetingId);
      return view?.status === 'in_call_recording' ? view : undefined;
    });

    const left = await call('POST', `/meetings/${meetingId}/leave`, { user: 'alice' });

    expect(left.status).toBe(200);
    expect(left.json).toMatchObject({ meetingId, status: 'disconnecting' });
    await waitFor('the bot to leave', () => stack.recall.bot(bot.id)?.status === 'done');
    await waitFor(
      'the meeting to end',
      async () =>
        (await call('GET', `/meetings/${meetingId}/status`, { user: 'alice' })).json.status === 'ended',
    );
    const again = await call('POST', `/meetings/${meetingId}/leave`, { user: 'alice' });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('INVALID_STATE');
  });

  it('reports health and serves its documentation without a token', async () => {
    const health = await call('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({
      status: 'ok',
      checks: { dynamodb: { status: 'ok' }, sqs: { status: 'ok' } },
    });

    const page = await call('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.text).toContain('/meetings/{meetingId}/transcript');

    const doc = await call('GET', '/docs/openapi.json');
    expect(doc.json.openapi).toBe('3.1.0');
    expect(Object.keys(doc.json.paths)).toEqual(
      expect.arrayContaining(['/meetings', '/webhooks/recall', '/health']),
    );
  });
});
