/**
 * Seeded, bounded fuzzing of the client WebSocket protocol and the REST API on the whole local
 * stack, while a well-behaved meeting runs beside it. Every hostile input must get a typed
 * error from the one set of codes (core/error-codes.ts), the socket must stay open unless a
 * limit says close, no handler may answer 5xx, and the well-behaved client must lose nothing.
 * Replay a failure with FUZZ_SEED=<seed printed in the failure>.
 */
import WebSocket from 'ws';
import { ERROR_CODE_LIST } from '../../core/error-codes';
import { MAX_CLIENT_MESSAGE_BYTES } from '../../core/realtime/protocol';
import { toWellFormed } from '../../core/transcript/formats';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { FUZZ_SEED, nastyString, randomBody, randomJson, rng } from '../helpers/fuzz';
import { RecordingClient, TEST_LIVE_DECODER_ARGS, waitFor } from '../helpers/live';

// biome-ignore lint/suspicious/noExplicitAny: replies are checked field by field
type Json = any;

let stack: LocalStack;
const tokens: Record<string, string> = {};
let control: { meetingId: string; client: RecordingClient };

async function call(
  method: string,
  path: string,
  user: string | undefined,
  body?: string | Buffer,
  contentType = 'application/json',
): Promise<{ status: number; headers: Headers; text: string; json: Json }> {
  const headers: Record<string, string> = {};
  if (user) headers.authorization = `Bearer ${tokens[user]}`;
  if (body !== undefined) headers['content-type'] = contentType;
  const res = await fetch(`${stack.urls.rest}${path}`, {
    method,
    headers,
    body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body),
  });
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

beforeAll(async () => {
  stack = await startLocalStack({
    speed: 2,
    speechLiveDecoderArgs: TEST_LIVE_DECODER_ARGS,
    logLevel: 'ERROR',
    reconnectGraceMs: 300,
  });
  for (const user of ['alice', 'mallory']) tokens[user] = await stack.issuer.mintToken(user);
  // The well-behaved meeting runs while the fuzzers do their worst.
  const created = await call(
    'POST',
    '/meetings',
    'alice',
    JSON.stringify({ meetingUrl: 'local://sample', title: 'control' }),
  );
  expect(created.status).toBe(201);
  control = { meetingId: created.json.meetingId, client: new RecordingClient(stack, 'alice') };
  control.client.client.subscribe(control.meetingId);
}, 120_000);

afterAll(async () => {
  control?.client.close();
  await stack?.stop();
});

describe(`fuzzing (seed ${FUZZ_SEED})`, () => {
  it('downloads a transcript whose title is 119 characters plus an emoji, or holds a lone surrogate', async () => {
    for (const title of [`${'a'.repeat(119)}\u{1F600}`, `bad \uD800 title`, `\uDE00${'é'.repeat(150)}`]) {
      const created = await call(
        'POST',
        '/meetings',
        'alice',
        JSON.stringify({ meetingUrl: 'https://zoom.us/j/1', title }),
      );
      expect(created.status).toBe(201);
      for (const format of ['txt', 'srt', 'vtt']) {
        const file = await call(
          'GET',
          `/meetings/${created.json.meetingId}/transcript?format=${format}`,
          'alice',
        );
        expect([title.length, format, file.status]).toEqual([title.length, format, 200]);
        const disposition = file.headers.get('content-disposition') ?? '';
        const encoded = /filename\*=UTF-8''([A-Za-z0-9!#$&+.^_`|~%-]+)$/.exec(disposition)?.[1];
        expect(encoded).toBeDefined();
        expect(() => decodeURIComponent(encoded as string)).not.toThrow();
      }
    }
  });

  it('answers seeded hostile REST titles, bodies and ids with typed 4xx errors, never a 5xx', async () => {
    const r = rng(FUZZ_SEED);
    const failures: string[] = [];
    const check = (what: string, reply: { status: number; json: Json }, ok: number[]) => {
      const code = reply.json?.error?.code;
      const typed = reply.status < 400 || ERROR_CODE_LIST.includes(code);
      if (!ok.includes(reply.status) || !typed || reply.status >= 500) {
        failures.push(`${what} → ${reply.status} ${JSON.stringify(reply.json)?.slice(0, 200)}`);
      }
    };
    for (let i = 0; i < 60; i++) {
      const title = nastyString(r, 260);
      const reply = await call(
        'POST',
        '/meetings',
        'mallory',
        JSON.stringify({ meetingUrl: 'https://zoom.us/j/2', title }),
      );
      check(`title ${JSON.stringify(title)}`, reply, [201, 400]);
      if (reply.status === 201) {
        const format = r.pick(['txt', 'srt', 'vtt', 'json']);
        const file = await call(
          'GET',
          `/meetings/${reply.json.meetingId}/transcript?format=${format}`,
          'mallory',
        );
        check(`download of ${JSON.stringify(title)}`, file, [200]);
      } else if (reply.json?.error?.field !== 'title') {
        failures.push(`title ${JSON.stringify(title)} refused without naming the field`);
      }
    }
    const bodyRoutes = [
      '/meetings',
      `/meetings/${control.meetingId}/ask`,
      `/meetings/${control.meetingId}/shares`,
    ];
    for (let i = 0; i < 60; i++) {
      const path = r.pick(bodyRoutes);
      const body = randomBody(r);
      const reply = await call('POST', path, 'mallory', body, r.pick(['application/json', 'text/plain']));
      check(`POST ${path} with ${String(body).slice(0, 60)}`, reply, [400, 404, 413, 415]);
    }
    for (let i = 0; i < 60; i++) {
      const id = encodeURIComponent(toWellFormed(nastyString(r, 90))).replace(/%2F/gi, '_') || 'x';
      const suffix = r.pick(['', '/status', '/transcript', '/transcript?format=srt', '/brief']);
      const reply = await call('GET', `/meetings/${id}${suffix}`, 'mallory');
      check(`GET /meetings/${id}${suffix}`, reply, [400, 404]);
    }
    // Mallory may not see Alice's meeting, whatever route: 404 as for one that does not exist.
    const peek = await call('GET', `/meetings/${control.meetingId}`, 'mallory');
    check('peek at the control meeting', peek, [404]);
    expect(failures).toEqual([]);
    expect((await call('GET', '/health', undefined)).status).toBe(200);
  }, 300_000);

  it('answers seeded hostile WebSocket frames with typed errors and keeps the socket open', async () => {
    const r = rng(FUZZ_SEED + 1);
    const socket = new WebSocket(`${stack.urls.ws}?token=${tokens.mallory}`);
    const replies: Json[] = [];
    socket.on('message', (data) => replies.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const actions = [
      'subscribe',
      'unsubscribe',
      'command',
      'subscribe_job',
      'get_state',
      'ping',
      'dance',
      '',
    ];
    const ids = () =>
      r.pick([control.meetingId, nastyString(r, 80), 'a'.repeat(r.int(60, 70)), r.int(0, 9), null, '../x']);
    const total = 400;
    const sent: string[] = [];
    for (let i = 0; i < total; i++) {
      let frame: string;
      switch (r.int(0, 4)) {
        case 0:
          frame = JSON.stringify(randomJson(r));
          break;
        case 1:
          frame = nastyString(r, 200);
          break;
        case 2:
          frame = JSON.stringify({
            action: r.pick(actions),
            meetingId: ids(),
            pad: 'x'.repeat(r.int(0, 20_000)),
          });
          break;
        default:
          frame = JSON.stringify({
            action: r.pick(actions),
            meetingId: ids(),
            jobId: r.next() < 0.3 ? ids() : undefined,
            lastSeq: r.pick([undefined, -1, 0, 1.5, 2 ** 60, 'x']),
            command: r.pick(['pause', 'resume', 'stop', 'configure', 'explode']),
            config: r.next() < 0.5 ? randomJson(r, 2) : undefined,
            requestId: nastyString(r, 80),
          });
      }
      sent.push(frame);
      socket.send(frame);
      if (i % 50 === 49) await waitFor(`${i + 1} replies`, () => replies.length >= i + 1, 60_000);
    }
    await waitFor(`${total} replies`, () => replies.length >= total, 60_000);
    const bad = replies.filter(
      (m) =>
        !(m.type === 'error' && ERROR_CODE_LIST.includes(m.code)) &&
        !['pong', 'unsubscribed'].includes(m.type),
    );
    expect(bad).toEqual([]);
    expect(replies.filter((m) => m.type === 'subscribed' || m.type === 'state')).toEqual([]);
    expect(replies.length).toBe(total);
    expect(replies.some((m) => m.code === 'MESSAGE_TOO_LARGE')).toBe(
      sent.some((f) => Buffer.byteLength(f) > MAX_CLIENT_MESSAGE_BYTES),
    );
    expect(socket.readyState).toBe(WebSocket.OPEN);
    const pongs = () => replies.filter((m) => m.type === 'pong' && typeof m.serverTime === 'number').length;
    const pongsBefore = pongs();
    socket.send(JSON.stringify({ action: 'ping' }));
    await waitFor('the pong', () => pongs() > pongsBefore);

    // Limits that do close, as API Gateway does: a binary frame (1003) and a message over 128 KB (1009).
    for (const [payload, expected] of [
      [Buffer.from([0xff, 0x00, 0x81]), 1003],
      ['x'.repeat(130 * 1024), 1009],
    ] as const) {
      const s = new WebSocket(`${stack.urls.ws}?token=${tokens.mallory}`);
      await new Promise((resolve, reject) => {
        s.once('open', resolve);
        s.once('error', reject);
      });
      const closed = new Promise<number>((resolve) => s.once('close', (code) => resolve(code)));
      s.send(payload);
      expect(await closed).toBe(expected);
    }
    socket.close();
  }, 300_000);

  it('loses nothing of the well-behaved meeting that ran meanwhile', async () => {
    await control.client.waitForStatus('ended', 180_000);
    await stack.fanout.idle();
    const stored: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await call(
        'GET',
        `/meetings/${control.meetingId}/transcript?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        'alice',
      );
      expect(page.status).toBe(200);
      stored.push(...page.json.segments.map((s: { seq: number }) => s.seq));
      cursor = page.json.nextCursor ?? undefined;
    } while (cursor);
    expect([control.client.statuses, stored.length > 0]).toEqual([control.client.statuses, true]);
    expect(control.client.finals.map((f) => f.seq)).toEqual(stored);
  }, 240_000);
});
