/**
 * A seeded, bounded fuzz of the Recall ingress on the whole local stack: 1,500 generated frames
 * (timestamps, sizes, encodings, shapes) into one meeting while another, well-behaved meeting
 * runs. Every bad frame is rejected and counted, no socket is closed, nothing crashes, the
 * fuzzed meeting still transcribes the audio sent after the garbage at sane times, and the
 * concurrent meeting loses nothing.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { BYTES_PER_MS } from '../../core/audio/pcm';
import { createLogger } from '../../core/logger';
import { wordErrorRate } from '../../core/wer';
import { parseWav } from '../../local/recall-simulator/fixture';
import { mixedAudioMessage, participantMessage } from '../../local/recall-simulator/messages';
import { startSampleMeeting } from '../../local/sample-meeting';
import { type LocalStack, SAMPLE_FIXTURE, startLocalStack } from '../../local/stack';
import {
  FAST_MEETING_STACK,
  FIXTURE,
  REFERENCE_TEXT,
  RecordingClient,
  storedFinals,
  waitFor,
} from '../helpers/live';
import { meetingWithToken } from '../helpers/meetings';
import { connectAsRecall, recallContext } from '../helpers/recall';

const logger = createLogger('e2e');
const PCM = parseWav(readFileSync(SAMPLE_FIXTURE.wavPath));
const SEED = 0x5eed_2026;
const FRAMES = 1_500;

const CTX = recallContext('fuzz');

/** mulberry32: a small seeded PRNG, so a failure replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Generated = { frame: string | Buffer; expect: 'reject' | 'maybe' };

/** One generated frame: mostly invalid at the schema, some valid in shape but with a wild time. */
function generator(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  // Silence: frames whose shape is valid add audio to the stream, but no words.
  const pcm = (ms: number) => Buffer.alloc(ms * BYTES_PER_MS);
  const audio = (relative: unknown, buffer: unknown) => {
    const m = mixedAudioMessage(CTX, 0, pcm(20)) as unknown as { data: { data: Record<string, unknown> } };
    m.data.data.timestamp = { relative, absolute: new Date().toISOString() };
    m.data.data.buffer = buffer;
    return JSON.stringify(m);
  };
  const good = pcm(20).toString('base64');
  const cases: (() => Generated)[] = [
    // Timestamps the schema rejects.
    () => ({
      frame: audio(pick([1e13, 1e9, 6.1e5, Number.MAX_SAFE_INTEGER, 1e300]), good),
      expect: 'reject',
    }),
    () => ({ frame: audio(pick([-1, -1e-9, '12', null, true, {}]), good), expect: 'reject' }),
    () => ({
      frame: audio(undefined, good).replace('"timestamp":{', '"timestamp":{"x":1,'),
      expect: 'reject',
    }),
    // In bounds but not following the stream's clock: rejected by the session (or harmlessly believed).
    () => ({ frame: audio(random() * 6e5, good), expect: 'maybe' }),
    // Sizes.
    () => ({ frame: audio(1, Buffer.alloc(32_002).toString('base64')), expect: 'reject' }),
    () => ({
      frame: audio(1, Buffer.alloc(1 + 2 * Math.floor(random() * 100)).toString('base64')),
      expect: 'reject',
    }),
    () => ({ frame: `"${'y'.repeat(131_073 + Math.floor(random() * 1_000))}"`, expect: 'reject' }),
    // Encodings.
    () => ({ frame: audio(1, `${good.slice(0, -4)}-_-_`), expect: 'reject' }),
    () => ({ frame: audio(1, `${good} `), expect: 'reject' }),
    () => ({ frame: audio(1, good.replace(/=+$/, '')), expect: good.endsWith('=') ? 'reject' : 'maybe' }),
    () => ({ frame: Buffer.from(good, 'base64'), expect: 'reject' }),
    () => ({ frame: Buffer.from([0xff, 0xfe, 0x00, 0x7b]).toString('latin1'), expect: 'reject' }),
    // Shapes.
    () => ({
      frame: pick(['', '[]', '1', 'null', '{"event":1}', '{"event":"audio_mixed_raw.data"}']),
      expect: 'reject',
    }),
    () => ({
      frame: JSON.stringify({ event: `x.${Math.floor(random() * 1e6)}`, data: {} }),
      expect: 'reject',
    }),
    () => {
      const m = participantMessage(CTX, 0, 'participant_events.speech_on', {
        id: 7,
        name: 'Eve',
        isHost: false,
      } as never) as unknown as { data: { data: { timestamp: { relative: number } } } };
      m.data.data.timestamp.relative = 1e12;
      return { frame: JSON.stringify(m), expect: 'reject' };
    },
  ];
  return () => pick(cases)();
}

describe('fuzzing the Recall ingress', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack(FAST_MEETING_STACK);
  });
  afterAll(() => stack?.stop(), 120_000);

  it('rejects and counts every bad frame of a seeded fuzz run, keeps the socket open, and a concurrent meeting loses nothing', async () => {
    const good = await startSampleMeeting(stack, logger);
    const goodClient = new RecordingClient(stack, 'alice', good.meetingId);

    const { meetingId: fuzzedId, token } = await meetingWithToken('bob', 'fuzzed');
    const fuzzClient = new RecordingClient(stack, 'bob', fuzzedId);
    const ws = await connectAsRecall(stack, fuzzedId, token);
    const closed: number[] = [];
    ws.on('close', (code) => closed.push(code));

    const total = () => Object.values(stack.audio.gateway.stats.rejectedFrames).reduce((n, v) => n + v, 0);
    const before = total();
    const next = generator(prng(SEED));
    let mustReject = 0;
    for (let i = 0; i < FRAMES; i++) {
      const { frame, expect: verdict } = next();
      if (verdict === 'reject') mustReject++;
      ws.send(frame);
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await waitFor('every bad frame counted', () => (total() - before >= mustReject ? true : undefined));
    expect(mustReject).toBeGreaterThan(1_000);
    expect(ws.readyState).toBe(WebSocket.OPEN);

    // Audio after the garbage, at the times Recall would give it: transcribed at sane times.
    const first = FIXTURE.segments[0]!;
    const started = performance.now();
    for (let t = 0; t < first.endMs + 1_000; t += 20) {
      ws.send(
        JSON.stringify(
          mixedAudioMessage(CTX, 60_000 + t, PCM.subarray(t * BYTES_PER_MS, (t + 20) * BYTES_PER_MS)),
        ),
      );
      const wait = (t + 20) / 8 - (performance.now() - started);
      if (wait > 2) await new Promise((r) => setTimeout(r, wait));
    }
    // Waited for before the socket closes, so no flush timeout on a slow speech engine can cut it.
    // The bound is the engine's on this one 22-word sentence, not the ingress's: measured through
    // the connector on clean audio, linear16 gives WER 0.36 and Ogg Opus (16 kb/s, complexity 0,
    // the default) 0.45-0.50; after the garbage, Opus gave 0.55 with the whole sentence in one
    // final at 61.1-67.8 s (spoken 60.8-67.9 s): no audio lost, so also ask that it is covered.
    await waitFor(
      'the utterance after the garbage',
      () =>
        wordErrorRate(first.text, fuzzClient.finals.map((f) => f.text).join(' ')).wer <= 0.6 &&
        fuzzClient.finals.some((f) => f.startMs < 60_000 + first.endMs && f.endMs > 60_000 + first.startMs)
          ? true
          : undefined,
      120_000,
    );
    ws.close(1000);
    await fuzzClient.waitForStatus('ended');
    expect(closed).toEqual([1000]);
    for (const f of fuzzClient.finals) expect(f.endMs).toBeLessThan(24 * 3_600_000);

    // The well-behaved meeting: complete, and the client's finals equal the store.
    await goodClient.waitForStatus('ended');
    expect(goodClient.finals.map((f) => ({ seq: f.seq, text: f.text }))).toEqual(
      await storedFinals(good.meetingId),
    );
    for (const s of FIXTURE.segments) {
      expect(goodClient.finals.some((f) => f.startMs < s.endMs && f.endMs > s.startMs)).toBe(true);
    }
    expect(
      wordErrorRate(REFERENCE_TEXT, goodClient.finals.map((f) => f.text).join(' ')).wer,
    ).toBeLessThanOrEqual(0.4);
    goodClient.close();
    fuzzClient.close();
  }, 300_000);
});
