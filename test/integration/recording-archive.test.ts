/**
 * The recording archive against s3rver: deterministic chunk keys, ordered writes, and assembly
 * that takes every sample once at its meeting time, to WAV (sample-exact) and Opus/WebM (ffmpeg).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { decodeChunk, encodeChunk, MIC_LIMITS } from '../../core/audio/chunk-protocol';
import { MeetingArchive } from '../../core/audio/recording-archive';
import { createLogger } from '../../core/logger';
import { assembleRecording } from '../../core/recordings/assemble';
import type { RecordingBody } from '../../core/recordings/body';
import { chunkKey, chunksPrefix, parseChunkKey, recordingKey } from '../../core/recordings/keys';
import { type RecordingStore, S3RecordingStore } from '../../core/recordings/store';
import { createLocalClients, type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { parseWav } from '../../local/recall-simulator/fixture';
import { SAMPLE_FIXTURE } from '../../local/stack';

const logger = createLogger('test');
const PCM = parseWav(readFileSync(SAMPLE_FIXTURE.wavPath));
let emulators: RunningEmulators;
let client: S3Client;
let store: S3RecordingStore;

beforeAll(async () => {
  emulators = await startEmulators({ logger });
  client = createLocalClients(emulators.endpoints).s3;
  store = new S3RecordingStore(client, emulators.env.MEDIA_BUCKET as string);
});
afterAll(async () => {
  client?.destroy();
  await emulators?.stop();
});

describe('chunk keys and frames', () => {
  it('round-trips a chunk key and ignores foreign keys under the prefix', () => {
    const key = chunkKey({
      meetingId: 'm1',
      start: 16_000,
      end: 48_000,
      source: { kind: 'mic', session: 'a'.repeat(32), firstSeq: 5, lastSeq: 12 },
      skip: true,
    });
    expect(key).toBe(`recordings/m1/chunks/000000016000-000000048000.mic-${'a'.repeat(32)}-5-12.skip`);
    expect(parseChunkKey('m1', key)).toMatchObject({ start: 16_000, end: 48_000, skip: true });
    expect(parseChunkKey('m1', `${chunksPrefix('m1')}notes.txt`)).toBeUndefined();
    expect(parseChunkKey('m2', key)).toBeUndefined();
  });

  it('decodes what it encodes and names what is wrong with a bad frame', () => {
    const frame = encodeChunk(7, new Uint8Array([1, 2, 3, 4]));
    const decoded = decodeChunk(frame);
    expect(decoded.ok && decoded.chunk.seq).toBe(7);
    expect(decodeChunk(frame.subarray(0, 5))).toEqual({ ok: false, reason: 'chunk shorter than its header' });
    expect(decodeChunk(encodeChunk(1, new Uint8Array(3)))).toMatchObject({ ok: false });
    expect(decodeChunk(encodeChunk(1, new Uint8Array(MIC_LIMITS.maxChunkBytes + 2)))).toMatchObject({
      ok: false,
    });
    expect(() => encodeChunk(0, new Uint8Array(2))).toThrow(RangeError);
  });
});

describe('a meeting archive', () => {
  it('cuts Recall audio into chunks at its meeting time and writes the same keys when it is archived twice', async () => {
    const durable: string[] = [];
    const archive = new MeetingArchive({
      meetingId: 'twice',
      store,
      logger,
      chunkMs: 1_000,
      onDurable: (c) => durable.push(c.key),
    });
    // 3 s of 20 ms frames from meeting time 5 s, then the same 3 s again (a replaced task re-archiving).
    for (let pass = 0; pass < 2; pass++) {
      for (let t = 5_000; t < 8_000; t += 20) archive.appendRecall(PCM.subarray(t * 32, (t + 20) * 32), t);
      await archive.flush();
    }
    const keys = (await store.list(chunksPrefix('twice'))).sort();
    expect(keys).toHaveLength(3);
    expect(keys.map((k) => parseChunkKey('twice', k)?.start)).toEqual([80_000, 96_000, 112_000]);
    expect(durable).toHaveLength(6);
    const wav = await assembleRecording('twice', { store, format: 'wav', logger, keepChunks: true });
    expect(wav).toMatchObject({ chunks: 3, silentSamples: 80_000, overlapSamples: 0 });
    const pcm = parseWav(await store.get(recordingKey('twice', 'wav')));
    expect(pcm.subarray(0, 160_000).equals(Buffer.alloc(160_000))).toBe(true);
    expect(pcm.subarray(160_000).equals(PCM.subarray(160_000, 256_000))).toBe(true);
  });

  it('takes each sample once where chunks of different keys overlap, and deletes the chunks once assembled', async () => {
    const a = new MeetingArchive({ meetingId: 'overlap', store, logger, chunkMs: 60_000 });
    a.appendRecall(PCM.subarray(0, 64_000), 0); // 0-2 s
    await a.flush();
    const b = new MeetingArchive({ meetingId: 'overlap', store, logger, chunkMs: 60_000 });
    b.appendRecall(PCM.subarray(48_000, 128_000), 1_500); // 1.5-4 s: 0.5 s overlap
    await b.flush();
    const result = await assembleRecording('overlap', { store, format: 'wav', logger });
    expect(result).toMatchObject({ chunks: 2, overlapSamples: 8_000, silentSamples: 0, durationMs: 4_000 });
    expect(parseWav(await store.get(recordingKey('overlap', 'wav'))).equals(PCM.subarray(0, 128_000))).toBe(
      true,
    );
    expect(await store.list(chunksPrefix('overlap'))).toEqual([]);
  });

  it('encodes Opus in WebM with ffmpeg: the file plays for the meeting time and is about 3 KB per second', async () => {
    const archive = new MeetingArchive({ meetingId: 'opus', store, logger, chunkMs: 5_000 });
    for (let t = 0; t + 20 <= 29_000; t += 20) archive.appendRecall(PCM.subarray(t * 32, (t + 20) * 32), t);
    await archive.flush();
    const result = await assembleRecording('opus', { store, format: 'webm', logger });
    expect(result?.durationMs).toBe(29_000);
    const body = await store.get(recordingKey('opus', 'webm'));
    expect(body.subarray(0, 4).toString('hex')).toBe('1a45dfa3'); // EBML (WebM) magic
    expect(body.length).toBeGreaterThan(29 * 1_000);
    expect(body.length).toBeLessThan(29 * 5_000);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'opus-')), 'r.webm');
    writeFileSync(file, body);
    const probe = execFileSync('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_name:format=duration',
      '-of',
      'json',
      file,
    ]);
    const info = JSON.parse(probe.toString()) as {
      streams: { codec_name: string }[];
      format: { duration: string };
    };
    expect(info.streams[0]?.codec_name).toBe('opus');
    expect(Number(info.format.duration)).toBeCloseTo(29, 0);
  });

  it('stores a chunk written as its blocks after a PUT that S3 refused, byte for byte', async () => {
    // Arrange: the first PUT of each chunk goes to a bucket that does not exist (s3rver reads
    // and refuses it), the retry to the real one, over the same client and sockets
    const wrongBucket = new S3RecordingStore(client, 'no-such-bucket');
    const puts: string[] = [];
    const flaky: RecordingStore = Object.assign(Object.create(store) as S3RecordingStore, {
      put: (key: string, body: RecordingBody, type: string) => {
        puts.push(key);
        const first = puts.filter((k) => k === key).length === 1;
        return (first ? wrongBucket : store).put(key, body, type);
      },
    });
    const archive = new MeetingArchive({ meetingId: 'retried', store: flaky, logger, chunkMs: 1_000 });
    // Act: 2.5 s of 20 ms frames from meeting time 0 (chunks of 4, 4 and 2.5 blocks)
    for (let t = 0; t < 2_500; t += 20) archive.appendRecall(PCM.subarray(t * 32, (t + 20) * 32), t);
    await archive.flush();
    // Assess: every chunk took two PUTs, and the chunks are the audio
    expect(puts).toHaveLength(6);
    expect(archive.stats).toMatchObject({ chunks: 3, failedPuts: 3, bytes: 80_000 });
    const keys = (await store.list(chunksPrefix('retried'))).sort();
    const stored = await Promise.all(keys.map((k) => store.get(k)));
    expect(Buffer.concat(stored).equals(PCM.subarray(0, 80_000))).toBe(true);
  });

  it('stores a microphone chunk made of several received chunks as their bytes in order', async () => {
    const durable: string[] = [];
    const archive = new MeetingArchive({
      meetingId: 'mic-parts',
      store,
      logger,
      chunkMs: 15_000,
      onDurable: (c) => durable.push(c.key),
    });
    const session = 'c'.repeat(32);
    for (let seq = 1; seq <= 3; seq++) {
      archive.appendMic(PCM.subarray((seq - 1) * 8_000, seq * 8_000), (seq - 1) * 4_000, session, seq, false);
    }
    await archive.flush();
    expect(durable).toHaveLength(1);
    expect((await store.get(durable[0] as string)).equals(PCM.subarray(0, 24_000))).toBe(true);
  });

  it('stops writing and reports the failure when a chunk cannot be stored, so nothing after it is acknowledged', async () => {
    const failures: unknown[] = [];
    const durable: number[] = [];
    const broken = new MeetingArchive({
      meetingId: 'broken',
      store: { ...store, put: () => Promise.reject(new Error('S3 down')) } as unknown as S3RecordingStore,
      logger,
      chunkMs: 250,
      putAttempts: 2,
      onDurable: (c) => durable.push(c.end),
      onFailed: (e) => failures.push(e),
    });
    broken.appendMic(PCM.subarray(0, 8_000), 0, 'b'.repeat(32), 1, false);
    broken.appendMic(PCM.subarray(8_000, 16_000), 4_000, 'b'.repeat(32), 2, false);
    await broken.flush();
    expect(failures).toHaveLength(1);
    expect(durable).toEqual([]);
    expect(broken.failed).toBe(true);
  });
});
