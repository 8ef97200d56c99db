/**
 * The audio gateway's capacity limit (MAX_SESSIONS) applies to browser microphone streams as to
 * Recall bots: on the local stack with room for one meeting, a second microphone meeting and a
 * Recall bot are refused while the first streams, the first may reconnect, and the slot frees
 * when it ends.
 */
process.env.MAX_SESSIONS = '1';

import WebSocket from 'ws';
import { MIC_CLOSE_CODES, type MicServerMessage, micSubprotocols } from '../../core/audio/chunk-protocol';
import { MeetingRepository } from '../../core/meetings/repository';
import { newMeetingRecord } from '../../core/meetings/service';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../helpers/live';

jest.setTimeout(180_000);

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ speed: 1 });
});
afterAll(async () => {
  await stack?.stop();
  delete process.env.MAX_SESSIONS;
});

const sessionId = () =>
  Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');

async function rest<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${stack.urls.rest}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await stack.issuer.mintToken('alice')}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as T };
}

async function micMeeting(): Promise<{ meetingId: string; streamUrl: string }> {
  const { status, json } = await rest<{ meetingId: string; streamUrl: string }>('POST', '/meetings', {
    source: 'microphone',
    title: 'Capacity',
  });
  expect(status).toBe(201);
  return json;
}

/** Opens a microphone stream; resolves with `ready`, or with the close code if it is refused. */
async function openStream(
  streamUrl: string,
  session: string,
): Promise<{ ws: WebSocket; ready?: MicServerMessage; closed?: number }> {
  const ws = new WebSocket(
    `${streamUrl}?session=${session}`,
    micSubprotocols(await stack.issuer.mintToken('alice')),
  );
  const result: { ws: WebSocket; ready?: MicServerMessage; closed?: number } = { ws };
  ws.on('message', (data, isBinary) => {
    const message = isBinary ? undefined : (JSON.parse(data.toString()) as MicServerMessage);
    if (message?.type === 'ready') result.ready = message;
  });
  ws.on('close', (code) => {
    result.closed = code;
  });
  ws.on('error', () => undefined);
  await waitFor('ready or a close', () => result.ready !== undefined || result.closed !== undefined, 30_000);
  return result;
}

/** Upgrades a Recall bot connection; resolves with the HTTP status of a refusal, or 101. */
function recallUpgrade(meetingId: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(
      `${stack.urls.audioGateway}/recall/${meetingId}?token=${encodeURIComponent(token)}`,
    );
    ws.once('open', () => {
      ws.close(1000);
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => undefined);
  });
}

describe('the capacity limit and browser microphones', () => {
  it('refuses a microphone stream and a Recall bot beyond maxSessions, and takes them once the slot frees', async () => {
    const first = await micMeeting();
    const second = await micMeeting();
    const firstSession = sessionId();

    const a = await openStream(first.streamUrl, firstSession);
    expect(a.ready).toMatchObject({ type: 'ready', lastSeq: 0 });
    expect(stack.audio.gateway.sessionCount).toBe(1);

    // A second microphone meeting: refused with 4503 (retry later), no session started.
    const b = await openStream(second.streamUrl, sessionId());
    expect(b.ready).toBeUndefined();
    expect(b.closed).toBe(MIC_CLOSE_CODES.UNAVAILABLE.code);
    expect(stack.audio.gateway.sessionCount).toBe(1);

    // A Recall bot for another meeting: refused with 503, as when Recall meetings fill the task.
    const { meeting: bot, token } = newMeetingRecord({
      ownerId: 'alice',
      title: 'Bot',
      meetingUrl: 'local://x',
    });
    await new MeetingRepository().create(bot);
    expect(await recallUpgrade(bot.meetingId, token)).toBe(503);

    // The meeting that holds the slot may reconnect (a network cut) at capacity.
    const again = await openStream(first.streamUrl, firstSession);
    expect(again.ready).toMatchObject({ type: 'ready' });
    expect(stack.audio.gateway.sessionCount).toBe(1);

    // The first meeting ends: the slot frees and the second meeting streams.
    expect((await rest('POST', `/meetings/${first.meetingId}/leave`)).status).toBe(200);
    await waitFor('the first session to end', () => stack.audio.gateway.sessionCount === 0, 60_000);
    const c = await openStream(second.streamUrl, sessionId());
    expect(c.ready).toMatchObject({ type: 'ready', lastSeq: 0 });
    expect(stack.audio.gateway.sessionCount).toBe(1);
    for (const s of [a, b, again, c]) s.ws.terminate();
  });
});
