/**
 * Browser microphone meetings and recordings, on the local stack over real sockets: the chunk
 * protocol's edge cases, a microphone meeting streamed by the reference client (IndexedDB
 * journal on fake-indexeddb) whose socket is cut, whose "page" is reloaded and whose gateway
 * crashes, checked sample-exact against what was sent. (A Recall meeting whose gateway is
 * replaced mid-meeting: test/e2e/gateway-fault-matrix.test.ts.)
 */
process.env.RECORDING_FORMAT = 'wav';
process.env.RECORDING_CHUNK_MS = '2000';
process.env.RECORDING_KEEP_CHUNKS = 'true';

import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import { encodeChunk, type MicServerMessage, micSubprotocols } from '../../core/audio/chunk-protocol';
import { MicClient, type WebSocketLike } from '../../core/audio/mic-client';
import { IndexedDbJournal } from '../../core/audio/mic-journal';
import { dynamo } from '../../core/clients/dynamodb';
import { s3 } from '../../core/clients/s3';
import { bucketName, tableName } from '../../core/config';
import { MeetingRepository } from '../../core/meetings/repository';
import { newMeetingRecord } from '../../core/meetings/service';
import { chunksPrefix, parseChunkKey } from '../../core/recordings/keys';
import { S3RecordingStore } from '../../core/recordings/store';
import { parseWav } from '../../local/recall-simulator/fixture';
import { type LocalStack, SAMPLE_FIXTURE, startLocalStack } from '../../local/stack';
import { RecordingClient, TEST_LIVE_DECODER_ARGS, waitFor } from '../helpers/live';

jest.setTimeout(240_000);

const PCM = parseWav(readFileSync(SAMPLE_FIXTURE.wavPath));
const CHUNK = 8_000; // 250 ms

let stack: LocalStack;
let store: S3RecordingStore;

beforeAll(async () => {
  stack = await startLocalStack({
    speed: 3,
    speechLiveDecoderArgs: TEST_LIVE_DECODER_ARGS,
    reconnectGraceMs: 1_500,
    recallReconnect: { intervalMs: 200 },
  });
  store = new S3RecordingStore(s3(), bucketName('media'));
});
afterAll(() => stack?.stop());

async function rest<T>(
  user: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${stack.urls.rest}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await stack.issuer.mintToken(user)}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as T };
}

async function micMeeting(user = 'alice'): Promise<{ meetingId: string; streamUrl: string }> {
  const { status, json } = await rest<{ meetingId: string; streamUrl: string; source: string }>(
    user,
    'POST',
    '/meetings',
    { source: 'microphone', title: 'Dictation' },
  );
  expect(status).toBe(201);
  expect(json.source).toBe('microphone');
  return json;
}

const session = () => Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');

/** A raw protocol client: every message and the close, recorded. */
class RawStream {
  readonly messages: MicServerMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly ws: WebSocket;

  constructor(url: string, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.messages.push(JSON.parse(data.toString()) as MicServerMessage);
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    this.ws.on('error', () => undefined);
  }

  static async open(
    streamUrl: string,
    sessionId: string,
    token: string,
    via: 'query' | 'protocol' = 'protocol',
  ) {
    const url = `${streamUrl}?session=${sessionId}${via === 'query' ? `&token=${encodeURIComponent(token)}` : ''}`;
    return new RawStream(url, via === 'protocol' ? micSubprotocols(token) : undefined);
  }

  ready(): Promise<Extract<MicServerMessage, { type: 'ready' }>> {
    return waitFor('ready', () => {
      if (this.closed) throw new Error(`closed ${this.closed.code} ${this.closed.reason}`);
      return this.messages.find((m) => m.type === 'ready') as Extract<MicServerMessage, { type: 'ready' }>;
    });
  }

  closeCode(): Promise<number> {
    return waitFor('close', () => this.closed?.code, 20_000);
  }

  lastAck(): number {
    let seq = 0;
    for (const m of this.messages) if (m.type === 'ack') seq = Math.max(seq, m.seq);
    return seq;
  }

  send(seq: number, pcm: Buffer): void {
    this.ws.send(encodeChunk(seq, pcm));
  }
}

const piece = (i: number) => PCM.subarray(i * CHUNK, (i + 1) * CHUNK);

/** Archived audio of a meeting, as chunks in timeline order. */
async function archived(meetingId: string) {
  const keys = await store.list(chunksPrefix(meetingId));
  const chunks = keys
    .map((key) => ({ key, ...parseChunkKey(meetingId, key)! }))
    .filter((c) => c.start !== undefined)
    .sort((a, b) => a.start - b.start);
  return chunks;
}

async function archivedAudio(meetingId: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let at = 0;
  for (const c of await archived(meetingId)) {
    if (c.skip) continue;
    expect(c.start).toBe(at); // contiguous: nothing lost, nothing twice
    parts.push(await store.get(c.key));
    at = c.end;
  }
  return Buffer.concat(parts);
}

describe('the microphone chunk protocol', () => {
  it('acknowledges a duplicate chunk and drops it, so the archive holds each chunk once', async () => {
    const { meetingId, streamUrl } = await micMeeting();
    const s = await RawStream.open(streamUrl, session(), await stack.issuer.mintToken('alice'));
    expect((await s.ready()).lastSeq).toBe(0);
    s.send(1, piece(0));
    s.send(2, piece(1));
    s.send(1, piece(0));
    s.send(2, piece(1));
    s.ws.send(JSON.stringify({ type: 'flush' }));
    await waitFor('ack 2', () => s.lastAck() >= 2 || undefined);
    expect(await archivedAudio(meetingId)).toEqual(PCM.subarray(0, 2 * CHUNK));
    expect(stack.audio.extensions.browser?.stats.duplicateChunks).toBeGreaterThanOrEqual(2);
    s.ws.close();
  });

  it('refuses a chunk that skips ahead with SEQ_GAP and the seq it expects, and takes an out-of-order resend in order', async () => {
    const { meetingId, streamUrl } = await micMeeting();
    const s = await RawStream.open(streamUrl, session(), await stack.issuer.mintToken('alice'), 'query');
    await s.ready();
    s.send(1, piece(0));
    s.send(3, piece(2)); // gap: 2 is missing
    await waitFor('SEQ_GAP', () => s.messages.find((m) => m.type === 'error'));
    expect(s.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'SEQ_GAP', expected: 2 });
    s.send(2, piece(1)); // the late one, then the one refused
    s.send(3, piece(2));
    s.ws.send(JSON.stringify({ type: 'flush' }));
    await waitFor('ack 3', () => s.lastAck() >= 3 || undefined);
    expect(await archivedAudio(meetingId)).toEqual(PCM.subarray(0, 3 * CHUNK));
    expect(s.closed).toBeUndefined();
    s.ws.close();
  });

  it('tells a reconnecting client the last seq it holds, so it resends only the rest', async () => {
    const { meetingId, streamUrl } = await micMeeting();
    const id = session();
    const first = await RawStream.open(streamUrl, id, await stack.issuer.mintToken('alice'));
    await first.ready();
    for (let i = 0; i < 5; i++) first.send(i + 1, piece(i));
    await waitFor(
      '5 accepted',
      () => (stack.audio.extensions.browser?.stream(meetingId)?.lastSeq ?? 0) >= 5 || undefined,
    );
    first.ws.terminate();
    const second = await RawStream.open(streamUrl, id, await stack.issuer.mintToken('alice'));
    expect((await second.ready()).lastSeq).toBe(5);
    for (let i = 5; i < 8; i++) second.send(i + 1, piece(i));
    second.ws.send(JSON.stringify({ type: 'flush' }));
    await waitFor('ack 8', () => second.lastAck() >= 8 || undefined);
    expect(await archivedAudio(meetingId)).toEqual(PCM.subarray(0, 8 * CHUNK));
    second.ws.close();
  });

  it('closes with 1009 on an oversized chunk and 4400 on a malformed one', async () => {
    const { streamUrl } = await micMeeting();
    const big = await RawStream.open(streamUrl, session(), await stack.issuer.mintToken('alice'));
    await big.ready();
    big.send(1, Buffer.alloc(32_002));
    expect(await big.closeCode()).toBe(1009);

    const bad = await RawStream.open(streamUrl, session(), await stack.issuer.mintToken('alice'));
    await bad.ready();
    bad.ws.send(Buffer.from([1, 0, 0, 0, 1, 7, 7, 7])); // odd PCM length
    expect(await bad.closeCode()).toBe(4400);
    const kind = await RawStream.open(streamUrl, session(), await stack.issuer.mintToken('alice'));
    await kind.ready();
    kind.ws.send(Buffer.from([9, 0, 0, 0, 1, 0, 0]));
    expect(await kind.closeCode()).toBe(4400);
    const text = await RawStream.open(streamUrl, session(), await stack.issuer.mintToken('alice'));
    await text.ready();
    text.ws.send('{"type":"nonsense"}');
    expect(await text.closeCode()).toBe(4400);
  });

  it('refuses another user (4403), a missing or bad token (4401), an unknown or bot meeting (4404) and a second live stream (4409)', async () => {
    const { streamUrl, meetingId } = await micMeeting();
    const bob = await RawStream.open(streamUrl, session(), await stack.issuer.mintToken('bob'));
    expect(await bob.closeCode()).toBe(4403);
    const none = new RawStream(`${streamUrl}?session=${session()}`);
    expect(await none.closeCode()).toBe(4401);
    const expired = await RawStream.open(
      streamUrl,
      session(),
      await stack.issuer.mintToken('alice', { expiresInSeconds: -60 }),
    );
    expect(await expired.closeCode()).toBe(4401);
    const unknown = await RawStream.open(
      streamUrl.replace(meetingId, 'no-such-meeting'),
      session(),
      await stack.issuer.mintToken('alice'),
    );
    expect(await unknown.closeCode()).toBe(4404);
    const { meeting: bot } = newMeetingRecord({ ownerId: 'alice', title: 'bot', meetingUrl: 'local://x' });
    await new MeetingRepository().create(bot);
    const botStream = await RawStream.open(
      streamUrl.replace(meetingId, bot.meetingId),
      session(),
      await stack.issuer.mintToken('alice'),
    );
    expect(await botStream.closeCode()).toBe(4404);
    const live = await RawStream.open(streamUrl, session(), await stack.issuer.mintToken('alice'));
    await live.ready();
    const second = await RawStream.open(streamUrl, session(), await stack.issuer.mintToken('alice'));
    expect(await second.closeCode()).toBe(4409);
    live.ws.close();
  });

  it('closes a stream with 4401 when its token expires mid-stream, unless the client sent a fresh one', async () => {
    const a = await micMeeting();
    const short = await RawStream.open(
      a.streamUrl,
      session(),
      await stack.issuer.mintToken('alice', { expiresInSeconds: 5 }),
    );
    await short.ready();
    short.send(1, piece(0));
    expect(await short.closeCode()).toBe(4401);

    const b = await micMeeting();
    const renewed = await RawStream.open(
      b.streamUrl,
      session(),
      await stack.issuer.mintToken('alice', { expiresInSeconds: 10 }),
    );
    await renewed.ready();
    const before = stack.audio.extensions.browser?.stream(b.meetingId)?.tokenExpiresAt ?? 0;
    renewed.ws.send(JSON.stringify({ type: 'token', token: await stack.issuer.mintToken('alice') }));
    await waitFor(
      'the renewed expiry',
      () =>
        (stack.audio.extensions.browser?.stream(b.meetingId)?.tokenExpiresAt ?? 0) > before + 60_000 ||
        undefined,
    );
    renewed.ws.send(JSON.stringify({ type: 'token', token: await stack.issuer.mintToken('bob') }));
    await waitFor('TOKEN_REJECTED', () => renewed.messages.find((m) => m.type === 'error'));
    // Past the first token's expiry, the stream is still open and still takes audio.
    await waitFor('the first token to expire', () => Date.now() > before + 1_000 || undefined);
    renewed.send(1, piece(0));
    renewed.ws.send(JSON.stringify({ type: 'flush' }));
    await waitFor('ack 1', () => renewed.lastAck() >= 1 || undefined);
    expect(renewed.closed).toBeUndefined();
    renewed.ws.close();
  });

  it('acknowledges paused audio without archiving or transcribing it', async () => {
    const { meetingId, streamUrl } = await micMeeting();
    const s = await RawStream.open(streamUrl, session(), await stack.issuer.mintToken('alice'));
    await s.ready();
    s.send(1, piece(0));
    s.send(2, piece(1));
    await waitFor('live', () => stack.audio.gateway.session(meetingId)?.currentState === 'live' || undefined);
    await new MeetingRepository().appendCommand(meetingId, 'pause');
    await waitFor(
      'paused',
      () => stack.audio.gateway.session(meetingId)?.currentState === 'paused' || undefined,
    );
    const frames = stack.audio.gateway.session(meetingId)!.stats.audioFrames;
    s.send(3, piece(2));
    s.send(4, piece(3));
    s.ws.send(JSON.stringify({ type: 'flush' }));
    await waitFor('ack 4', () => s.lastAck() >= 4 || undefined);
    expect(stack.audio.gateway.session(meetingId)!.stats.audioFrames).toBe(frames);
    const chunks = await archived(meetingId);
    const audio = chunks.filter((c) => !c.skip);
    const skips = chunks.filter((c) => c.skip);
    expect(audio.reduce((n, c) => n + c.end - c.start, 0)).toBe(CHUNK); // seqs 1-2: 8,000 samples
    expect(skips.map((c) => [c.start, c.end])).toEqual([[CHUNK, 2 * CHUNK]]);
    s.ws.close();
  });
});

describe('a microphone meeting streamed by the reference client', () => {
  it('archives exactly the audio sent, across a cut socket, a reloaded page and a crashed gateway', async () => {
    const { meetingId, streamUrl } = await micMeeting();
    const watcher = new RecordingClient(stack, 'alice', meetingId);
    const sockets: WebSocket[] = [];
    const connect = (url: string, protocols: string[]) => {
      const ws = new WebSocket(url, protocols);
      sockets.push(ws);
      return ws as unknown as WebSocketLike;
    };
    const newClient = () =>
      new MicClient({
        streamUrl,
        meetingId,
        token: () => stack.issuer.mintToken('alice'),
        journal: new IndexedDbJournal(indexedDB, 'parley-mic-test'),
        connect,
        backoff: { baseMs: 100, maxMs: 500 },
      });
    const total = Math.floor(PCM.length / CHUNK);
    const third = Math.floor(total / 3);
    /** Captures pieces [from, to) at 4× real time, as an AudioWorklet would hand them over. */
    const capture = async (client: MicClient, from: number, to: number) => {
      const started = performance.now();
      for (let i = from; i < to; i++) {
        await client.push(new Uint8Array(piece(i)));
        const wait = ((i + 1 - from) * 250) / 4 - (performance.now() - started);
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      }
    };

    let client = newClient();
    await client.start();
    await capture(client, 0, Math.floor(third / 2));
    sockets[sockets.length - 1]!.terminate(); // the network drops
    await capture(client, Math.floor(third / 2), third);
    // The page reloads: the client is gone; a new one finds the session in IndexedDB.
    const sessionId = client.session;
    client.close();
    client = newClient();
    await client.start();
    expect(client.session).toBe(sessionId);
    await capture(client, third, 2 * third);
    await waitFor('some acks', () => client.status.lastAckedSeq > third || undefined);
    await stack.restartAudioGateway(); // the task crashes; unacknowledged chunks are resent
    await capture(client, 2 * third, total);
    await client.flush();
    expect(client.status.bufferedMs).toBe(0);

    const sent = PCM.subarray(0, total * CHUNK);
    expect((await archivedAudio(meetingId)).equals(sent)).toBe(true);

    // Stop the meeting: the recording is assembled, and plays exactly what was sent.
    const leave = await rest('alice', 'POST', `/meetings/${meetingId}/leave`);
    expect(leave.status).toBe(200);
    await watcher.waitForStatus('ended');
    let url = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const r = await rest<{ url: string; contentType: string }>(
        'alice',
        'GET',
        `/meetings/${meetingId}/recording`,
      );
      if (r.status === 200) {
        expect(r.json.contentType).toBe('audio/wav');
        url = r.json.url;
        break;
      }
      expect([404, 409]).toContain(r.status);
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(url).not.toBe('');
    const wav = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(parseWav(wav).equals(sent)).toBe(true);

    // The transcript: seqs unique and increasing, every final the client saw is stored.
    const stored = await dynamo().send(
      new QueryCommand({
        TableName: tableName('segments'),
        KeyConditionExpression: 'meetingId = :m',
        ExpressionAttributeValues: { ':m': meetingId },
      }),
    );
    const seqs = (stored.Items ?? []).map((i) => Number(i.seq));
    expect(seqs.length).toBeGreaterThan(0);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    expect(watcher.finals.map((f) => f.seq)).toEqual(seqs);
    watcher.close();
    client.close();
  });

  it('lets shared readers fetch the recording URL and hides it from everyone else', async () => {
    const { meetingId } = await micMeeting();
    expect((await rest('alice', 'GET', `/meetings/${meetingId}/recording`)).json).toMatchObject({
      error: { code: 'RECORDING_NOT_READY' },
    });
    expect((await rest('bob', 'GET', `/meetings/${meetingId}/recording`)).status).toBe(404);
  });
});
