/**
 * Re-transcribes what a crashed audio-gateway task lost, from the meeting's recording archive.
 *
 * A task that dies without SIGTERM loses the audio its speech engine had not finalized (the
 * utterance in flight) and what Recall sends before it reconnects (docs/architecture.md, "Crash
 * bound"). Its archive (core/audio/recording-archive.ts) has stored every chunk it had closed,
 * so the span between the end of the last stored final and the next task's first audio is on S3
 * except the chunk that was still open (at most RECORDING_CHUNK_MS). The next task's session
 * reads that span back (Recall chunks only: a browser microphone resends what was not
 * acknowledged, so its audio is never lost), streams it through a speech socket of its own, and
 * publishes the finals with fresh seqs, marked `recovered`, before its own live finals.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Segment } from '../pipeline/events';
import { listAudioChunks } from '../recordings/assemble';
import type { RecordingStore } from '../recordings/store';
import { AudioClock } from './audio-clock';
import type { SttConnector } from './deepgram-connector';
import { FloorTracker } from './floor-tracker';
import { SegmentAssembler } from './segment-assembler';
import { SttStream } from './stt-stream';

const SAMPLES_PER_MS = 16;
/** Frames sent to the speech engine (as a live stream sends them). */
const FRAME_BYTES = 250 * SAMPLES_PER_MS * 2;
/**
 * At most this much audio before the next task's first frame is re-transcribed: the crashed
 * task's speech stream kept at most this much unfinalized audio (its AudioRing), and audio older
 * than that had been finalized, so its text (if any) is stored.
 */
export const MAX_RECOVERY_SPAN_MS = 60_000;
/** A lost span shorter than this holds no word worth a second pass. */
export const MIN_RECOVERY_SPAN_MS = 300;
/** How long the recovery's speech stream may take to return its last results. */
export const RECOVERY_FLUSH_MS = 30_000;

/** Archived audio of a span of meeting time. */
export interface ArchivedSpan {
  /** Meeting ms of the first sample (the span may start later than asked: nothing archived before). */
  startMs: number;
  /** 16 kHz mono S16LE; silence where nothing was archived inside the span. */
  pcm: Buffer;
}

/** Reads archived Recall audio overlapping [fromMs, untilMs) of meeting time. */
export type ArchivedAudioReader = (
  meetingId: string,
  fromMs: number,
  untilMs: number,
) => Promise<ArchivedSpan | undefined>;

/** The archive's Recall chunks that overlap [fromMs, untilMs), laid on one buffer. */
export async function readArchivedRecall(
  store: RecordingStore,
  meetingId: string,
  fromMs: number,
  untilMs: number,
): Promise<ArchivedSpan | undefined> {
  const from = Math.max(0, Math.round(fromMs * SAMPLES_PER_MS));
  const until = Math.round(untilMs * SAMPLES_PER_MS);
  if (until <= from) return undefined;
  const { audio } = await listAudioChunks(store, meetingId);
  const chunks = audio.filter((c) => c.source.kind === 'recall' && c.end > from && c.start < until);
  const first = chunks[0];
  if (!first) return undefined;
  const start = Math.max(from, first.start);
  const end = Math.min(until, Math.max(...chunks.map((c) => c.end)));
  const pcm = Buffer.alloc((end - start) * 2);
  for (const chunk of chunks) {
    const body = await store.get(chunk.key);
    // Overlapping chunks hold the same audio (a chunk archived twice): the later copy overwrites.
    const skip = Math.max(0, start - chunk.start);
    const take = Math.min(chunk.end, end) - (chunk.start + skip);
    if (take <= 0) continue;
    body.copy(pcm, (chunk.start + skip - start) * 2, skip * 2, (skip + take) * 2);
  }
  return { startMs: start / SAMPLES_PER_MS, pcm };
}

export interface TranscribeSpanOptions {
  meetingId: string;
  connector: SttConnector;
  keywords: readonly string[];
  language: string;
  logger: Logger;
  span: ArchivedSpan;
  /** Aborts the pass (the session ended): no result is returned. */
  signal?: AbortSignal;
  closeTimeoutMs?: number;
}

/**
 * Streams the span through a speech socket of its own and returns its finals in meeting time,
 * without seqs (seq 0): the caller numbers the ones it publishes.
 */
export async function transcribeSpan(opts: TranscribeSpanOptions): Promise<Segment[]> {
  const clock = new AudioClock();
  // Two observations of one point make it an anchor: stream 0 is the span's first sample.
  clock.observe(0, opts.span.startMs);
  clock.observe(0, opts.span.startMs);
  const finals: Segment[] = [];
  let failure: unknown;
  const assembler = new SegmentAssembler({
    meetingId: opts.meetingId,
    nextSeq: async () => 1,
    clock,
    floor: new FloorTracker(),
    emit: (segment) => {
      if (segment.isFinal) finals.push({ ...segment, seq: 0, id: '' });
    },
    onFinal: (streamEndMs) => stt.release(streamEndMs),
    onError: (error) => {
      failure = error;
    },
  });
  const stt = new SttStream({
    connector: opts.connector,
    connect: { keyterms: opts.keywords, language: opts.language, tag: `recovery:${opts.meetingId}` },
    logger: opts.logger,
    // Interims are of no use here: nobody watches this pass.
    onResult: (result) => {
      if (result.isFinal) assembler.push(result);
    },
    closeTimeoutMs: opts.closeTimeoutMs ?? RECOVERY_FLUSH_MS,
  });
  const abort = () => stt.abandon();
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    await stt.start();
    const { pcm } = opts.span;
    for (let offset = 0; offset < pcm.length; offset += FRAME_BYTES) {
      if (opts.signal?.aborted) break;
      stt.send(pcm.subarray(offset, Math.min(pcm.length, offset + FRAME_BYTES)));
    }
    await stt.close();
    await assembler.drain();
  } finally {
    opts.signal?.removeEventListener('abort', abort);
  }
  opts.signal?.throwIfAborted();
  if (failure) throw failure;
  return finals;
}
