/**
 * The audio gateway's recordings: one MeetingArchive per live meeting, fed with exactly the
 * audio each MeetingSession forwards to the speech engine (so paused audio is never archived),
 * cut into chunks by size and by age, and, when a session finishes on a meeting that has ended,
 * assembled into the meeting's playable recording (core/recordings/assemble.ts).
 *
 * Recall audio is placed at the meeting time the session's clock gives it, never at Recall's raw
 * `timestamp.relative`: one frame with a wild timestamp (which the clock rejects) would otherwise
 * stretch the recording by hours of silence, and its assembly with it. A frame is placed as it
 * arrives once the clock has judged its timestamp, which is almost every frame: later frames
 * only add anchors after it, so its place cannot change. A frame whose time the clock still holds
 * (a stream's first frame, a forward jump) waits for the next frame, which judges it, or for the
 * session's end. (Holding every frame until its successor cost a map lookup and a record per
 * frame, and made the tick place the frames of streams gone quiet: docs/benchmarks.md, "Sixth
 * round: archive CPU".)
 *
 * It follows sessions by looking at their state once a second rather than through callbacks, so
 * the session code needs no hook: a session that finished by handing the meeting over to another
 * task (the meeting still live) only has its archive flushed.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { isTerminal } from '../meetings/lifecycle';
import type { MeetingRepository } from '../meetings/repository';
import { type AssembledRecording, assembleRecording } from '../recordings/assemble';
import type { RecordingFormat } from '../recordings/keys';
import type { RecordingStore } from '../recordings/store';
import { ChunkSpool, SpoolError } from './chunk-spool';
import { type ArchivedSpan, readArchivedRecall } from './lost-span-recovery';
import type { MeetingSession, SessionInput } from './meeting-session';
import { DEFAULT_CHUNK_MS, MeetingArchive } from './recording-archive';

export interface RecordingArchiverOptions {
  store: RecordingStore;
  repo: Pick<MeetingRepository, 'get'>;
  format: RecordingFormat;
  logger: Logger;
  chunkMs?: number;
  /** Keep the chunks after assembly (tests, benchmarks). */
  keepChunks?: boolean;
  /** How often open chunks are aged and followed sessions looked at. */
  tickMs?: number;
  onAssembled?: (meetingId: string, recording: AssembledRecording | undefined) => void;
  /**
   * Cut each meeting's Recall chunks on its own phase (a hash of its id), so the meetings of a
   * task that started together do not all cut and PUT in the same second. Default true; the
   * benchmark turns it off to measure the worst case (every cut at once).
   */
  staggerCuts?: boolean;
  /**
   * Spool each open chunk to a file under this directory (core/audio/chunk-spool.ts) instead of
   * holding it in memory until its PUT. Unset, or if the directory cannot be created (logged as
   * a SpoolError), chunks are held in memory.
   */
  spoolDir?: string;
}

export class RecordingArchiver {
  private readonly archives = new Map<string, MeetingArchive>();
  private readonly followed = new Map<string, MeetingSession>();
  private readonly finishing = new Set<Promise<void>>();
  /**
   * Per meeting, its last forwarded Recall frame if the clock has not judged that frame's
   * timestamp yet (see the module comment); empty while every stream's clock is settled.
   */
  private readonly held = new Map<string, HeldFrame>();
  private readonly timer: NodeJS.Timeout;
  private stopped = false;
  readonly stats = { assembled: 0, assemblyFailures: 0 };
  private readonly spool: ChunkSpool | undefined;

  constructor(private readonly opts: RecordingArchiverOptions) {
    this.spool = openSpool(opts);
    this.timer = setInterval(() => this.tick(), opts.tickMs ?? 1_000);
    this.timer.unref();
  }

  get chunkMs(): number {
    return this.opts.chunkMs ?? DEFAULT_CHUNK_MS;
  }

  /** The meeting's archive (created on first use). */
  archive(meetingId: string): MeetingArchive {
    let archive = this.archives.get(meetingId);
    if (!archive) {
      archive = new MeetingArchive({
        meetingId,
        store: this.opts.store,
        logger: this.opts.logger,
        chunkMs: this.chunkMs,
        ...(this.spool ? { spool: this.spool } : {}),
        ...(this.opts.staggerCuts === false ? {} : { cutPhaseMs: cutPhaseMs(meetingId, this.chunkMs) }),
      });
      this.archives.set(meetingId, archive);
    }
    return archive;
  }

  /** Archive what `session` does with its audio from now on, until it finishes. */
  follow(meetingId: string, session: MeetingSession): void {
    if (this.stopped) return;
    this.followed.set(meetingId, session);
    this.archive(meetingId);
  }

  /** Hand a Recall input to its session and archive its audio if the session forwarded it. */
  forward(session: MeetingSession, input: SessionInput, receivedAt: number): void {
    const before = session.stats.audioFrames;
    const streamMs = session.streamMs;
    session.handle(input, receivedAt);
    if (input.kind !== 'audio' || session.stats.audioFrames === before || this.stopped) return;
    const meetingId = session.meetingId;
    // The clock has just judged the meeting's held frame (this frame confirmed or refuted it):
    // it goes first, where the clock now places it.
    if (this.held.size > 0) this.placeHeld(meetingId);
    if (session.timestampPending) this.held.set(meetingId, { session, pcm: input.pcm, streamMs });
    else this.archive(meetingId).appendRecall(input.pcm, session.meetingMsAt(streamMs));
  }

  /** Stored Recall audio of [fromMs, untilMs) of the meeting (what a crashed task archived). */
  readArchived(meetingId: string, fromMs: number, untilMs: number): Promise<ArchivedSpan | undefined> {
    return readArchivedRecall(this.opts.store, meetingId, fromMs, untilMs);
  }

  /** Flush the archives of finished sessions and assemble the recordings of ended meetings. */
  async settle(): Promise<void> {
    this.tick();
    while (this.finishing.size > 0) await Promise.allSettled([...this.finishing]);
  }

  /** Flush every archive (live sessions included) and wait for the writes. */
  async flushAll(): Promise<void> {
    for (const meetingId of [...this.held.keys()]) this.placeHeld(meetingId);
    await Promise.allSettled([...this.archives.values()].map((a) => a.flush()));
  }

  /** A crashed task: drop whatever is not stored; write nothing more. */
  abandonAll(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const archive of this.archives.values()) archive.abandon();
    this.archives.clear();
    this.held.clear();
    this.followed.clear();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.stopped) return;
    for (const archive of this.archives.values()) archive.cutIfOlderThan(this.chunkMs);
    for (const [meetingId, session] of this.followed) {
      if (session.currentState !== 'ended') continue;
      this.followed.delete(meetingId);
      const done = this.finish(meetingId).finally(() => this.finishing.delete(done));
      this.finishing.add(done);
    }
  }

  /**
   * Archives the meeting's held frame, if any, at the meeting time its session's clock gives it
   * now (judged by a later frame, or at the session's end at the stream's own clock).
   */
  private placeHeld(meetingId: string): void {
    const held = this.held.get(meetingId);
    if (!held) return;
    this.held.delete(meetingId);
    this.archive(meetingId).appendRecall(held.pcm, held.session.meetingMsAt(held.streamMs));
  }

  private async finish(meetingId: string): Promise<void> {
    this.placeHeld(meetingId);
    const archive = this.archives.get(meetingId);
    if (archive) {
      await archive.flush();
      if (this.archives.get(meetingId) === archive && !this.followed.has(meetingId)) {
        this.archives.delete(meetingId);
      }
    }
    try {
      const meeting = await this.opts.repo.get(meetingId);
      if (!meeting || !isTerminal(meeting.status)) return;
      const recording = await assembleRecording(meetingId, {
        store: this.opts.store,
        format: this.opts.format,
        logger: this.opts.logger,
        keepChunks: this.opts.keepChunks,
      });
      this.stats.assembled++;
      this.opts.onAssembled?.(meetingId, recording);
    } catch (error) {
      this.stats.assemblyFailures++;
      this.opts.logger.error('recording assembly failed; the chunks are kept', {
        meetingId,
        error: String(error),
      });
    }
  }
}

interface HeldFrame {
  session: MeetingSession;
  pcm: Buffer;
  streamMs: number;
}

function openSpool(opts: RecordingArchiverOptions): ChunkSpool | undefined {
  if (opts.spoolDir === undefined) return undefined;
  try {
    return ChunkSpool.open(opts.spoolDir);
  } catch (error) {
    if (!(error instanceof SpoolError)) throw error;
    opts.logger.error('recording spool unavailable; open chunks are held in memory', {
      code: error.code,
      error: error.message,
    });
    return undefined;
  }
}

/** The meeting's cut phase in [0, chunkMs), whole ms: FNV-1a of its id, the same on every task. */
export function cutPhaseMs(meetingId: string, chunkMs: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < meetingId.length; i++) hash = Math.imul(hash ^ meetingId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % Math.max(1, Math.round(chunkMs));
}
