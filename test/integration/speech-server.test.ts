import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DeepgramClient, type listen } from '@deepgram/sdk';
import WebSocket from 'ws';
import { wordErrorRate } from '../../core/wer';
import { type SpeechServer, startSpeechServer } from '../../local/speech-server';
import { parseWavHeader } from '../../local/speech-server/audio-input';

/**
 * The local speech server driven by the real @deepgram/sdk v5 client, as the audio gateway
 * drives Deepgram. Audio: fixtures/meeting-librivox.wav (16 kHz mono S16LE, 29.5 s, one reader).
 */

const FIXTURE_DIR = path.join(__dirname, '../../fixtures');
const wav = readFileSync(path.join(FIXTURE_DIR, 'meeting-librivox.wav'));
const fixture = JSON.parse(readFileSync(path.join(FIXTURE_DIR, 'meeting-librivox.json'), 'utf8')) as {
  durationMs: number;
  segments: { text: string }[];
};
const header = parseWavHeader(wav);
if (header.status !== 'ok') throw new Error('fixture is not a PCM WAV file');
const pcm = wav.subarray(header.dataOffset);
const AUDIO_SECONDS = pcm.length / 32_000;
const BYTES_PER_100_MS = 3_200;

type Message = { type: string } & Record<string, unknown>;
type Results = listen.ListenV1Results;
type Close = { code: number; reason: string };
type LiveSocket = Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>;

/** Everything one socket received, with promises that settle on what a test waits for. */
class Recorder {
  readonly messages: Message[] = [];
  readonly closed: Promise<Close>;
  private markClosed: (close: Close) => void = () => {};
  private waiters: { test: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];

  constructor() {
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
  }

  add(message: Message): void {
    this.messages.push(message);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(message)) return true;
      w.resolve(message);
      return false;
    });
  }

  close(close: Close): void {
    this.markClosed(close);
  }

  waitFor(test: (m: Message) => boolean, what: string, timeoutMs = 20_000): Promise<Message> {
    const seen = this.messages.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  results(): Results[] {
    return this.messages.filter((m) => m.type === 'Results') as unknown as Results[];
  }

  finals(): Results[] {
    return this.results().filter((r) => r.is_final);
  }
}

function client(server: SpeechServer): DeepgramClient {
  return new DeepgramClient({
    apiKey: 'local-test-key',
    // REST uses `base`, the live socket uses `production` (see the SDK's CustomClient).
    environment: { base: server.url, production: server.wsUrl, agent: server.wsUrl, agentRest: server.url },
  });
}

type ConnectArgs = Parameters<DeepgramClient['listen']['v1']['connect']>[0];

async function open(server: SpeechServer, args: Partial<ConnectArgs> = {}): Promise<[LiveSocket, Recorder]> {
  const socket = await client(server).listen.v1.connect({
    model: 'nova-3',
    encoding: 'linear16',
    sample_rate: 16000,
    channels: 1,
    // The SDK passes booleans as the strings "true"/"false".
    interim_results: 'true',
    punctuate: 'true',
    smart_format: 'true',
    diarize: 'true',
    endpointing: 300,
    utterance_end_ms: 1000,
    vad_events: 'true',
    // The SDK reconnects by itself (30 attempts) after any close but 1000: these tests observe closes.
    reconnectAttempts: 0,
    ...args,
  });
  const recorder = new Recorder();
  socket.on('message', (message) => recorder.add(message as unknown as Message));
  socket.on('close', (event) => recorder.close({ code: event.code, reason: event.reason ?? '' }));
  socket.on('error', () => {});
  socket.connect();
  await socket.waitForOpen();
  return [socket, recorder];
}

/** Sends `audio` in 100 ms frames, `speed` times faster than real time. */
async function stream(socket: LiveSocket, audio: Buffer, speed: number): Promise<void> {
  for (let offset = 0; offset < audio.length; offset += BYTES_PER_100_MS) {
    socket.sendMedia(audio.subarray(offset, offset + BYTES_PER_100_MS));
    await new Promise((resolve) => setTimeout(resolve, 100 / speed));
  }
}

const seconds = (s: number) => s * 32_000;

describe('local speech server with the Deepgram SDK', () => {
  let server: SpeechServer;

  beforeAll(async () => {
    server = await startSpeechServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('transcribes the fixture with interims before finals, timed words, UtteranceEnd and a clean close', async () => {
    // Prepare
    const hooked: number[] = [];
    server.onAudio = (_info, frame) => hooked.push(frame.length);
    const before = server.stats();
    const [socket, recorder] = await open(server, { keyterm: ['Dashwood', 'amiable'] });

    // Act: stream the whole fixture at 10× real time, then CloseStream.
    const t0 = performance.now();
    await stream(socket, pcm, 10);
    socket.sendCloseStream({ type: 'CloseStream' });
    const close = await recorder.closed;
    const wallSeconds = (performance.now() - t0) / 1000;
    server.onAudio = undefined;

    // Assess: a clean close after a final Metadata that accounts for all the audio.
    expect(close.code).toBe(1000);
    const metadata = recorder.messages.at(-1) as Message;
    expect(metadata).toMatchObject({ type: 'Metadata', transaction_key: 'deprecated', channels: 1 });
    expect(metadata.duration).toBeCloseTo(AUDIO_SECONDS, 2);
    const results = recorder.results();
    expect(results.every((r) => r.metadata.request_id === metadata.request_id)).toBe(true);

    // Interim results come before the first final, and finals cover the speech.
    const firstInterim = recorder.messages.findIndex((m) => m.type === 'Results' && m.is_final === false);
    const firstFinal = recorder.messages.findIndex((m) => m.type === 'Results' && m.is_final === true);
    expect(firstInterim).toBeGreaterThanOrEqual(0);
    expect(firstInterim).toBeLessThan(firstFinal);
    const finals = recorder.finals();
    expect(finals.filter((f) => f.speech_final).length).toBeGreaterThanOrEqual(3);

    // Final transcript accuracy against the reference reading.
    const hypothesis = finals.map((f) => f.channel.alternatives[0]?.transcript ?? '').join(' ');
    const reference = fixture.segments.map((s) => s.text).join(' ');
    const { wer } = wordErrorRate(reference, hypothesis);
    expect(wer).toBeLessThanOrEqual(0.4);

    // Words: monotonic, inside the audio, punctuated, speaker 0; windows are contiguous.
    let previousEnd = 0;
    let windowEnd = 0;
    for (const final of finals) {
      expect(final.start).toBeCloseTo(windowEnd, 3);
      windowEnd = final.start + final.duration;
      const words = final.channel.alternatives[0]?.words ?? [];
      words.forEach((word, i) => {
        expect(word.start).toBeGreaterThanOrEqual(previousEnd);
        expect(word.end).toBeGreaterThanOrEqual(word.start);
        expect(word.end).toBeLessThanOrEqual(AUDIO_SECONDS);
        expect(word.speaker).toBe(0);
        if (i === 0) expect(word.punctuated_word?.[0]).toMatch(/[A-Z]/);
        previousEnd = word.end;
      });
      if (words.length > 0) expect(words.at(-1)?.punctuated_word).toMatch(/\.$/);
    }
    expect(previousEnd).toBeGreaterThan(AUDIO_SECONDS - 3);

    // VAD and utterance-end events.
    const started = recorder.messages.filter((m) => m.type === 'SpeechStarted');
    expect(started.length).toBeGreaterThanOrEqual(3);
    expect(started[0]?.timestamp).toBeLessThan(1.5);
    const utteranceEnds = recorder.messages.filter((m) => m.type === 'UtteranceEnd');
    expect(utteranceEnds.length).toBeGreaterThanOrEqual(3);
    for (const ue of utteranceEnds) {
      expect(ue.channel).toEqual([0, 1]);
      expect(ue.last_word_end).toBeLessThanOrEqual(AUDIO_SECONDS);
    }

    // Server-side accounting and the audio hook.
    const stats = server.stats();
    expect(stats.bytesReceived - before.bytesReceived).toBe(pcm.length);
    expect(hooked.reduce((a, b) => a + b, 0)).toBe(pcm.length);
    console.info(
      `speech server: WER ${(wer * 100).toFixed(1)}% over ${finals.length} finals; ` +
        `decode ${stats.realtimeFactor}× real time; ${AUDIO_SECONDS.toFixed(1)} s of audio in ${wallSeconds.toFixed(1)} s`,
    );
  });

  it('flushes the current utterance on Finalize and closes with Metadata on CloseStream', async () => {
    const [socket, recorder] = await open(server, { utterance_end_ms: undefined, vad_events: undefined });

    // Mid-sentence: 0.8 s of silence and 2.7 s of speech.
    await stream(socket, pcm.subarray(0, seconds(3.5)), 20);
    socket.sendFinalize({ type: 'Finalize' });
    const flushed = (await recorder.waitFor(
      (m) => m.type === 'Results' && m.from_finalize === true,
      'a Results from Finalize',
    )) as unknown as Results;

    expect(flushed.is_final).toBe(true);
    expect(flushed.speech_final).toBe(false);
    expect(flushed.channel.alternatives[0]?.transcript).toMatch(/john/i);
    expect(flushed.start + flushed.duration).toBeCloseTo(3.5, 1);

    socket.sendCloseStream({ type: 'CloseStream' });
    const close = await recorder.closed;
    expect(close.code).toBe(1000);
    expect(recorder.messages.at(-1)?.type).toBe('Metadata');
    expect(recorder.messages.some((m) => m.type === 'SpeechStarted' || m.type === 'UtteranceEnd')).toBe(
      false,
    );
  });

  it('ends the stream on an empty binary frame, as Deepgram did before CloseStream', async () => {
    const ws = new WebSocket(`${server.wsUrl}/v1/listen?encoding=linear16&sample_rate=16000`, {
      headers: { Authorization: 'Token local-test-key' },
    });
    const messages: Message[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
    await new Promise((resolve) => ws.once('open', resolve));

    ws.send(pcm.subarray(0, seconds(1)));
    ws.send(Buffer.alloc(0));
    const code = await new Promise<number>((resolve) => ws.once('close', resolve));

    expect(code).toBe(1000);
    expect(messages.at(-1)).toMatchObject({ type: 'Metadata', duration: 1 });
  });

  it('drops every client connection abnormally on dropConnections()', async () => {
    const [socket, recorder] = await open(server);
    await stream(socket, pcm.subarray(0, seconds(1)), 20);

    server.dropConnections();
    const close = await recorder.closed;

    expect(close.code).toBe(1006);
    await expectEventually(() => server.stats().streams === 0, 'the server to forget the stream');
  });

  it('closes with 1008 DATA-0000 once audio arrives in an encoding it cannot decode', async () => {
    const [socket, recorder] = await open(server, { encoding: 'mulaw', sample_rate: 8000 });

    socket.sendMedia(Buffer.alloc(800, 0xff));
    const close = await recorder.closed;

    expect(close).toEqual({ code: 1008, reason: 'DATA-0000' });
  });

  it('refuses the handshake for an unknown encoding and for a missing key', async () => {
    const unknownEncoding = await handshakeStatus(
      `${server.wsUrl}/v1/listen?encoding=wav49&sample_rate=16000`,
      {
        Authorization: 'Token local-test-key',
      },
    );
    const noKey = await handshakeStatus(`${server.wsUrl}/v1/listen?encoding=linear16&sample_rate=16000`, {});

    expect(unknownEncoding.status).toBe(400);
    expect(unknownEncoding.dgError).toMatch(/encoding/);
    expect(noKey.status).toBe(401);
  });

  it('accepts the browser form of authentication, the subprotocols "token, <key>"', async () => {
    const ws = new WebSocket(`${server.wsUrl}/v1/listen?encoding=linear16&sample_rate=16000`, [
      'token',
      'local-test-key',
    ]);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });

    expect(ws.protocol).toBe('token');
    ws.close();
  });
});

describe('local speech server inactivity timeout', () => {
  let server: SpeechServer;

  beforeAll(async () => {
    server = await startSpeechServer({ silenceTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('keeps a stream open while KeepAlive arrives, then closes 1011 NET-0001 after Metadata', async () => {
    const [socket, recorder] = await open(server);
    const openedAt = performance.now();
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      socket.sendKeepAlive({ type: 'KeepAlive' });
    }
    const lastKeepAliveAt = performance.now();

    const close = await recorder.closed;

    expect(lastKeepAliveAt - openedAt).toBeGreaterThan(1_000); // outlived the timeout thanks to KeepAlive
    expect(performance.now() - lastKeepAliveAt).toBeGreaterThan(900);
    expect(close.code).toBe(1011);
    expect(close.reason).toMatch(/net0001/);
    expect(recorder.messages.at(-1)).toMatchObject({ type: 'Metadata', sha256: 'incomplete' });
  });
});

async function handshakeStatus(url: string, headers: Record<string, string>) {
  const ws = new WebSocket(url, { headers });
  return new Promise<{ status: number; dgError: string | undefined }>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, dgError: res.headers['dg-error'] as string | undefined });
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('the handshake was accepted')));
    ws.once('error', () => {});
  });
}

async function expectEventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
