/**
 * Turns a meeting's archive chunks into one playable file when the meeting has ended.
 *
 * The chunks are laid on the meeting's timeline by their keys (sample offsets from the meeting's
 * start), so the file's time is meeting time and a transcript line's `startMs` is its seek
 * position. Where no audio was archived (before the first chunk, paused spans, reconnect gaps)
 * the file holds silence. Where chunks overlap (the same audio archived twice, e.g. by a task
 * that was replaced), each sample is taken once, from the chunk that starts first.
 *
 * Formats (core/recordings/keys.ts RECORDING_FORMATS): `webm` = Opus 24 kb/s in WebM through
 * ffmpeg (Debian's, in the container image and on local hosts); `wav` = lossless, pure JS.
 * Once the file is stored, the chunks are deleted (unless `keepChunks`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  type ChunkKey,
  chunksPrefix,
  parseChunkKey,
  RECORDING_FORMATS,
  type RecordingFormat,
  recordingKey,
} from './keys';
import type { RecordingStore } from './store';

export const RECORDING_SAMPLE_RATE = 16_000;
/** Opus bit rate of the `webm` format. */
export const OPUS_BITRATE = '24k';

export interface AssembledRecording {
  key: string;
  format: RecordingFormat;
  bytes: number;
  durationMs: number;
  /** Audio chunks used (skip markers not counted). */
  chunks: number;
  /** Samples of silence filling gaps. */
  silentSamples: number;
  /** Samples dropped because another chunk already covered them. */
  overlapSamples: number;
}

export interface AssembleOptions {
  store: RecordingStore;
  format: RecordingFormat;
  logger: Logger;
  keepChunks?: boolean;
  /** ffmpeg executable (default `ffmpeg` on PATH). */
  ffmpegPath?: string;
}

/** Audio chunk keys of a meeting, in timeline order (start ascending, longest first). */
export async function listAudioChunks(
  store: RecordingStore,
  meetingId: string,
): Promise<{ all: string[]; audio: (ChunkKey & { key: string })[] }> {
  const all = await store.list(chunksPrefix(meetingId));
  const audio: (ChunkKey & { key: string })[] = [];
  for (const key of all) {
    const parsed = parseChunkKey(meetingId, key);
    if (parsed && !parsed.skip) audio.push({ ...parsed, key });
  }
  audio.sort((a, b) => a.start - b.start || b.end - a.end);
  return { all, audio };
}

/**
 * Writes the meeting's timeline (PCM s16le) to `sink` in order, chunk by chunk (one chunk in
 * memory at a time). Returns the counts.
 */
export async function writeTimeline(
  store: RecordingStore,
  chunks: readonly (ChunkKey & { key: string })[],
  sink: (pcm: Buffer) => Promise<void>,
): Promise<{ samples: number; silentSamples: number; overlapSamples: number }> {
  let covered = 0;
  let silentSamples = 0;
  let overlapSamples = 0;
  for (const chunk of chunks) {
    if (chunk.end <= covered) {
      overlapSamples += chunk.end - chunk.start;
      continue;
    }
    const body = await store.get(chunk.key);
    const samples = Math.min(body.length >> 1, chunk.end - chunk.start);
    const end = chunk.start + samples;
    if (chunk.start > covered) {
      const gap = chunk.start - covered;
      silentSamples += gap;
      for (let left = gap; left > 0; ) {
        const n = Math.min(left, RECORDING_SAMPLE_RATE * 10);
        await sink(Buffer.alloc(n * 2));
        left -= n;
      }
      covered = chunk.start;
    }
    if (end <= covered) {
      overlapSamples += samples;
      continue;
    }
    const from = covered - chunk.start;
    overlapSamples += from;
    await sink(body.subarray(from * 2, samples * 2));
    covered = end;
  }
  return { samples: covered, silentSamples, overlapSamples };
}

/**
 * Assembles and stores the meeting's recording; undefined when nothing was archived (or an
 * earlier call already assembled it and deleted the chunks).
 */
export async function assembleRecording(
  meetingId: string,
  opts: AssembleOptions,
): Promise<AssembledRecording | undefined> {
  const { all, audio } = await listAudioChunks(opts.store, meetingId);
  if (audio.length === 0) {
    if (all.length > 0 && !opts.keepChunks) await opts.store.delete(all);
    return undefined;
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'parley-recording-'));
  try {
    const file = path.join(dir, `recording.${RECORDING_FORMATS[opts.format].extension}`);
    const counts =
      opts.format === 'wav'
        ? await encodeWav(opts.store, audio, file)
        : await encodeWebm(opts.store, audio, file, opts.ffmpegPath ?? 'ffmpeg');
    const body = await readFile(file);
    const key = recordingKey(meetingId, opts.format);
    await opts.store.put(key, body, RECORDING_FORMATS[opts.format].contentType);
    if (!opts.keepChunks) await opts.store.delete(all);
    const result: AssembledRecording = {
      key,
      format: opts.format,
      bytes: body.length,
      durationMs: Math.round((counts.samples * 1000) / RECORDING_SAMPLE_RATE),
      chunks: audio.length,
      silentSamples: counts.silentSamples,
      overlapSamples: counts.overlapSamples,
    };
    opts.logger.info('recording assembled', { meetingId, ...result });
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A canonical 44-byte WAV header for 16 kHz mono s16le. */
export function wavHeader(samples: number): Buffer {
  const data = samples * 2;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(RECORDING_SAMPLE_RATE, 24);
  h.writeUInt32LE(RECORDING_SAMPLE_RATE * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data, 40);
  return h;
}

async function encodeWav(
  store: RecordingStore,
  chunks: readonly (ChunkKey & { key: string })[],
  file: string,
): Promise<{ samples: number; silentSamples: number; overlapSamples: number }> {
  const { open } = await import('node:fs/promises');
  const handle = await open(file, 'w');
  try {
    await handle.write(wavHeader(0));
    const counts = await writeTimeline(store, chunks, async (pcm) => {
      await handle.write(pcm);
    });
    await handle.write(wavHeader(counts.samples), 0, 44, 0);
    return counts;
  } finally {
    await handle.close();
  }
}

async function encodeWebm(
  store: RecordingStore,
  chunks: readonly (ChunkKey & { key: string })[],
  file: string,
  ffmpeg: string,
): Promise<{ samples: number; silentSamples: number; overlapSamples: number }> {
  const child = spawn(
    ffmpeg,
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
      ...['-f', 's16le', '-ar', String(RECORDING_SAMPLE_RATE), '-ac', '1', '-i', 'pipe:0'],
      ...['-c:a', 'libopus', '-b:a', OPUS_BITRATE, '-application', 'voip', '-f', 'webm', '-y', file],
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${stderr.trim()}`)),
    );
  });
  // A failed spawn rejects `exited`; keep it observed while the timeline is written.
  exited.catch(() => undefined);
  child.stdin.on('error', () => undefined);
  const counts = await writeTimeline(
    store,
    chunks,
    (pcm) =>
      new Promise<void>((resolve, reject) => {
        if (child.stdin.destroyed) return reject(new Error(`ffmpeg stopped: ${stderr.trim()}`));
        child.stdin.write(pcm, (error) => (error ? reject(error) : resolve()));
      }),
  );
  child.stdin.end();
  await exited;
  return counts;
}
