/**
 * Archives one meeting's audio to S3 as it arrives: the audio the session forwards to the speech
 * engine (never paused audio) is cut into chunks of up to `chunkMs` of meeting time and written,
 * one at a time and in order, under deterministic keys (core/recordings/keys.ts). A microphone
 * stream's paused spans are written as empty `.skip` markers so that their acknowledgement is as
 * durable as audio's. `onDurable` reports each chunk once it is stored: the browser ingress
 * acknowledges chunks only then.
 *
 * Recall frames are placed by their `timestamp.relative`; a frame within JOIN_TOLERANCE of the
 * end of the open chunk continues it sample-exactly (timestamps jitter by a few ms), anything
 * else starts a new chunk at its own position. Microphone chunks are placed by their stream
 * position (the ingress counts samples), so they are always exact.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { retry } from '../backoff';
import { bodyByteLength, type RecordingBody } from '../recordings/body';
import { type ChunkSource, chunkKey } from '../recordings/keys';
import type { RecordingStore } from '../recordings/store';
import type { SpoolError, SpoolFiles } from './chunk-spool';
import { type ChunkFile, SpooledChunk } from './spooled-chunk';

export const ARCHIVE_SAMPLE_RATE = 16_000;
const SAMPLES_PER_MS = ARCHIVE_SAMPLE_RATE / 1000;
/** Default chunk length: 15 s of meeting time (480 KB of PCM). */
export const DEFAULT_CHUNK_MS = 15_000;
/** A Recall frame this close (ms) to the open chunk's end continues it. */
export const JOIN_TOLERANCE_MS = 40;
/** Every Recall frame's source (`add` copies it into a new chunk; never changed). */
const RECALL: ChunkSource = Object.freeze({ kind: 'recall' });

interface Run {
  start: number;
  end: number;
  /** The chunk is cut once `end` reaches this (samples). */
  limit: number;
  /**
   * The audio, copied into pooled blocks that are spooled to disk as they fill (a Recall frame
   * is 20 ms, 750 a chunk: kept as they are, the frames would all survive into the old
   * generation for up to `chunkMs`; kept in blocks, the chunk would be 480 KB of memory).
   */
  audio: SpooledChunk;
  source: ChunkSource;
  skip: boolean;
  openedAt: number;
}

export interface DurableChunk {
  key: string;
  start: number;
  end: number;
  source: ChunkSource;
  skip: boolean;
  bytes: number;
}

export interface MeetingArchiveOptions {
  meetingId: string;
  store: RecordingStore;
  logger: Logger;
  chunkMs?: number;
  /** Called in order, once per stored chunk. */
  onDurable?: (chunk: DurableChunk) => void;
  /** Called once if a chunk cannot be stored after retries; later chunks are not written. */
  onFailed?: (error: unknown) => void;
  /** Retry policy of one PUT (tests shorten it). */
  putAttempts?: number;
  /**
   * Recall chunks end on the meeting-time grid `cutPhaseMs + k·chunkMs` instead of `chunkMs`
   * after their start, so meetings with different phases cut (and PUT) at different moments
   * even when their tasks started them together; the grid is the meeting's, so a task that
   * re-archives the same span writes the same keys. Unset: every chunk is `chunkMs` long.
   */
  cutPhaseMs?: number;
  /**
   * Where open chunks are spooled (core/audio/chunk-spool.ts). Unset, or after a spool error,
   * the chunks are held in memory until stored.
   */
  spool?: SpoolFiles;
}

export class MeetingArchive {
  readonly meetingId: string;
  private run: Run | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Samples closed into chunks but not stored yet. */
  private queuedSamples = 0;
  private abandoned = false;
  private failure: unknown;
  readonly stats = { chunks: 0, skips: 0, bytes: 0, puts: 0, failedPuts: 0, spoolFailures: 0 };
  /** Set by the first spool error: this archive's later chunks stay in memory. */
  private spoolError: SpoolError | undefined;
  private readonly chunkSamples: number;
  private readonly cutPhase: number | undefined;
  /** Called in order, once per stored chunk (besides `onDurable`): the browser ingress acks from here. */
  readonly durableListeners = new Set<(chunk: DurableChunk) => void>();
  readonly failureListeners = new Set<(error: unknown) => void>();

  constructor(private readonly opts: MeetingArchiveOptions) {
    this.meetingId = opts.meetingId;
    this.chunkSamples = Math.max(1, Math.round((opts.chunkMs ?? DEFAULT_CHUNK_MS) * SAMPLES_PER_MS));
    this.cutPhase =
      opts.cutPhaseMs === undefined
        ? undefined
        : Math.round(opts.cutPhaseMs * SAMPLES_PER_MS) % this.chunkSamples;
  }

  /** Audio accepted but not stored yet, in ms. */
  get pendingMs(): number {
    const open = this.run && !this.run.skip ? this.run.end - this.run.start : 0;
    return (open + this.queuedSamples) / SAMPLES_PER_MS;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Recall audio heard at `relativeMs` of meeting time. */
  appendRecall(pcm: Buffer, relativeMs: number): void {
    if (pcm.length < 2) return;
    const at = Math.max(0, Math.round(relativeMs * SAMPLES_PER_MS));
    const run = this.run;
    const continues =
      run !== undefined &&
      run.source.kind === 'recall' &&
      Math.abs(at - run.end) <= JOIN_TOLERANCE_MS * SAMPLES_PER_MS;
    this.add(pcm, continues ? (run as Run).end : at, RECALL, false);
  }

  /**
   * Chunk `seq` of microphone stream `session`, at stream position `start` (samples). `skip`:
   * the session was paused, so only the span (not the audio) is recorded.
   */
  appendMic(pcm: Buffer, start: number, session: string, seq: number, skip: boolean): void {
    this.add(
      skip ? Buffer.alloc(0) : pcm,
      start,
      { kind: 'mic', session, firstSeq: seq, lastSeq: seq },
      skip,
      pcm.length >> 1,
    );
  }

  /** Close the open chunk now (age limit, a socket went away, end of meeting). */
  cut(): void {
    const run = this.run;
    if (!run) return;
    this.run = undefined;
    this.enqueue(run);
  }

  /** Close the open chunk if it was opened more than `chunkMs` ago (called about once a second). */
  cutIfOlderThan(ms: number, now = performance.now()): void {
    if (this.run && now - this.run.openedAt >= ms) this.cut();
  }

  /** Close the open chunk and wait until every chunk is stored (or has failed). */
  async flush(): Promise<void> {
    this.cut();
    await this.queue;
  }

  /** A crashed task: whatever is not stored yet is lost; nothing more is written. */
  abandon(): void {
    this.abandoned = true;
    this.run?.audio.release();
    this.run = undefined;
  }

  /** A spool file for a new chunk, unless there is no spool or it has failed for this archive. */
  private chunkFile(): ChunkFile | undefined {
    const spool = this.opts.spool;
    if (!spool || this.spoolError) return undefined;
    return { path: spool.nextPath(), budget: spool.budget, onError: this.onSpoolError };
  }

  private readonly onSpoolError = (error: SpoolError): void => this.spoolFailed(error);

  /** The archive goes on in memory (the chunk that failed keeps what it had not written). */
  private spoolFailed(error: SpoolError): void {
    if (this.spoolError) return;
    this.spoolError = error;
    this.stats.spoolFailures++;
    this.opts.logger.error("archive spool failed; this meeting's chunks are held in memory from now on", {
      meetingId: this.meetingId,
      code: error.code,
      error: error.message,
    });
  }

  private add(
    pcm: Buffer,
    start: number,
    source: ChunkSource,
    skip: boolean,
    samples = pcm.length >> 1,
  ): void {
    if (this.abandoned || this.failure !== undefined || samples === 0) return;
    const run = this.run;
    if (run && !(run.end === start && run.skip === skip && sameStream(run.source, source))) this.cut();
    if (!this.run) {
      this.run = {
        start,
        end: start,
        limit: this.chunkLimit(start, source),
        audio: new SpooledChunk(skip ? undefined : this.chunkFile()),
        source: { ...source },
        skip,
        openedAt: performance.now(),
      };
    }
    const open = this.run as Run;
    if (!skip) open.audio.append(pcm);
    open.end += samples;
    if (open.source.kind === 'mic' && source.kind === 'mic') open.source.lastSeq = source.lastSeq;
    if (open.end >= open.limit) this.cut();
  }

  /** Where a chunk opened at `start` is cut: `chunkSamples` on, or the next line of the Recall grid. */
  private chunkLimit(start: number, source: ChunkSource): number {
    if (this.cutPhase === undefined || source.kind !== 'recall') return start + this.chunkSamples;
    const into = (((start - this.cutPhase) % this.chunkSamples) + this.chunkSamples) % this.chunkSamples;
    return start + this.chunkSamples - into;
  }

  private enqueue(run: Run): void {
    const samples = run.skip ? 0 : run.end - run.start;
    this.queuedSamples += samples;
    const body = run.audio.seal();
    this.queue = this.queue.then(async () => {
      try {
        if (this.abandoned || this.failure !== undefined) return;
        await this.store(run, body);
      } finally {
        this.queuedSamples -= samples;
        // Only now: every attempt of the PUT read this body (see store()).
        run.audio.release();
      }
    });
  }

  private async store(run: Run, body: RecordingBody): Promise<void> {
    const key = chunkKey({
      meetingId: this.meetingId,
      start: run.start,
      end: run.end,
      source: run.source,
      skip: run.skip,
    });
    // The chunk as it is held (its spool file and the blocks not written to it), not copied into
    // one buffer: each attempt below reads the same file and blocks, and they are deleted and
    // released only once the PUT has succeeded or failed for good (enqueue()).
    const bytes = bodyByteLength(body);
    try {
      await retry(
        async () => {
          this.stats.puts++;
          await this.opts.store.put(key, body, 'application/octet-stream');
        },
        {
          maxAttempts: this.opts.putAttempts ?? 6,
          baseMs: 200,
          maxDelayMs: 5_000,
          onRetry: ({ error, attempt }) => {
            this.stats.failedPuts++;
            this.opts.logger.warn('archive chunk write failed; retrying', {
              meetingId: this.meetingId,
              key,
              attempt,
              error: String(error),
            });
          },
        },
      );
    } catch (error) {
      this.stats.failedPuts++;
      this.failure = error;
      this.opts.logger.error('archive chunk lost: could not be written', {
        meetingId: this.meetingId,
        key,
        error: String(error),
      });
      this.opts.onFailed?.(error);
      for (const listener of this.failureListeners) listener(error);
      return;
    }
    if (run.skip) this.stats.skips++;
    else this.stats.chunks++;
    this.stats.bytes += bytes;
    const chunk: DurableChunk = {
      key,
      start: run.start,
      end: run.end,
      source: run.source,
      skip: run.skip,
      bytes,
    };
    this.opts.onDurable?.(chunk);
    for (const listener of this.durableListeners) listener(chunk);
  }
}

function sameStream(a: ChunkSource, b: ChunkSource): boolean {
  if (a.kind === 'recall' || b.kind === 'recall') return a.kind === b.kind;
  return a.session === b.session && b.firstSeq === a.lastSeq + 1;
}
