/**
 * One live meeting in the audio gateway: takes Recall's audio and participant events,
 * streams the audio to the speech engine, turns results into segments and publishes them.
 * It survives Recall reconnects (the gateway re-attaches the new socket to the same session)
 * and speech socket drops (SttStream resends unfinalized audio).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { changeStatus, sessionMustEnd } from '../meetings/lifecycle';
import type { DesiredState, MeetingStatus } from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import { SeqAllocator } from '../meetings/seq-allocator';
import type { PipelineEvent } from '../pipeline/events';
import { segmentId } from '../pipeline/events';
import { published } from '../pipeline/segment-timing';
import { AudioArrivals } from './audio-arrivals';
import { AudioClock } from './audio-clock';
import type { SttConnector } from './deepgram-connector';
import { FloorTracker } from './floor-tracker';
import {
  type ArchivedAudioReader,
  MAX_RECOVERY_SPAN_MS,
  MIN_RECOVERY_SPAN_MS,
  transcribeSpan,
} from './lost-span-recovery';
import { bytesToMs } from './pcm';
import { SegmentAssembler } from './segment-assembler';
import { SttStream } from './stt-stream';

export type ParticipantAction = 'join' | 'leave' | 'update' | 'speech_on' | 'speech_off';

export type SessionInput =
  | { kind: 'audio'; pcm: Buffer; relativeMs: number }
  | { kind: 'separate_audio'; participantId: number; name: string | null; pcm: Buffer; relativeMs: number }
  | {
      kind: 'participant';
      action: ParticipantAction;
      participantId: number;
      name: string | null;
      relativeMs: number;
    };

export type SessionState = 'starting' | 'live' | 'paused' | 'handing_over' | 'ending' | 'ended';

/** How a session finished: `ended` announced the meeting's end; `handed_over` left it live for another task. */
export type SessionOutcome = 'ended' | 'handed_over';

export interface MeetingSessionOptions {
  meetingId: string;
  keywords: readonly string[];
  language: string;
  connector: SttConnector;
  repo: Pick<
    MeetingRepository,
    'get' | 'reserveSeqs' | 'releaseSeq' | 'setStatusIf' | 'ackCommands' | 'setHandover'
  >;
  publish: (event: PipelineEvent) => void;
  logger: Logger;
  /** The meeting's command log when the session starts: its net effect is the initial state. */
  commandLog?: readonly DesiredState[];
  /**
   * The meeting's seq counter when the session starts. Seqs up to it belong to an earlier
   * session (another task, maybe crashed): clients are told to drop interims among them that
   * never became final.
   */
  seqCounter?: number;
  /**
   * The meeting's `handoverUntil` when the session starts: a stopping task is still publishing
   * the meeting's last finals, so this session holds its own events until it is done.
   */
  handoverUntil?: number;
  /**
   * Set when an earlier task may have crashed on this meeting (it was live with no handover
   * mark): the session re-transcribes, from the recording archive, the span between the last
   * stored final and its own first audio (core/audio/lost-span-recovery.ts) and publishes those
   * finals, marked `recovered`, before its own.
   */
  recoverLostSpan?: ArchivedAudioReader;
  /** Called for each input rejected after parsing (a timestamp the audio clock does not believe). */
  onRejected?: (reason: 'timestamp_jump', detail: string) => void;
  /** Called once the session has finished and released everything. */
  onEnded?: (session: MeetingSession, outcome: SessionOutcome) => void;
  /** Called after an audio frame is handed to the speech socket (benchmarks measure this). */
  onAudioForwarded?: (receivedAt: number) => void;
  sttOptions?: {
    keepAliveMs?: number;
    reconnectDelayMs?: number;
    closeTimeoutMs?: number;
    closeIdleMs?: number;
  };
}

/** Separate-audio frames quieter than this (RMS of S16 samples) do not count as speech. */
const SPEECH_RMS = 300;
/** A participant event more than this far ahead of the audio's meeting time is not believed. */
const MAX_EVENT_LEAD_MS = 60_000;
/** A graceful handover cuts the stream after this much quiet audio (or at its deadline). */
export const HANDOVER_QUIET_MS = 200;
/** How long a handover waits for the speech engine's last results (Deepgram: well under a second). */
export const HANDOVER_FLUSH_MS = 60_000;
/**
 * At a meeting's end the session waits for the speech engine's last results for at most this
 * long while they keep coming (a lagging engine still decoding its backlog) …
 */
export const SPEECH_FLUSH_MAX_MS = 90_000;
/** … and gives the engine up after this long without a message from it (stuck or gone). */
export const SPEECH_FLUSH_IDLE_MS = 30_000;
/**
 * How long a stopping task may take to publish its last finals before the next one goes ahead
 * (the flush, plus the publisher's flush, with room to spare).
 */
export const HANDOVER_HOLD_MS = 90_000;
/** Live finals wait at most this long for the recovered ones (which then follow them). */
export const RECOVERY_HOLD_MS = 20_000;
/** A recovery waits this long for the session's first audio (its clock's first anchor). */
const RECOVERY_ANCHOR_WAIT_MS = 15_000;
/** Paused windows kept for inspection (the newest). */
const MAX_PAUSED_WINDOWS = 100;

/** A span of meeting time whose audio was never transcribed because the session was paused. */
export interface PausedWindow {
  /** Meeting ms where the forwarded audio stopped. */
  startMs: number;
  /** Meeting ms of the first audio forwarded after the resume (undefined while still paused). */
  endMs: number | undefined;
}

/** The state a command log leaves a meeting in: stop wins; otherwise the last pause / run. */
export function stateAfter(log: readonly DesiredState[]): DesiredState {
  if (log.includes('stop')) return 'stop';
  return log[log.length - 1] ?? 'run';
}

export class MeetingSession {
  readonly meetingId: string;
  private state: SessionState = 'starting';
  private readonly clock = new AudioClock();
  private readonly arrivals = new AudioArrivals();
  private readonly floor = new FloorTracker();
  private readonly stt: SttStream;
  private readonly assembler: SegmentAssembler;
  private readonly log: Logger;
  private readonly seqs: SeqAllocator;
  private finishing: Promise<void> | undefined;
  /** Resolves once this session may publish (a previous task has finished handing over). */
  private readonly ready: Promise<void>;
  /** How many entries of the meeting's command log this session has applied. */
  private applied: number;
  private acked: number;
  private heardAudio = false;
  private quietMs = 0;
  private onQuiet: (() => void) | undefined;
  /** Meeting ms of this session's first audio, once its clock has confirmed a timestamp. */
  private resolveFirstAudio: ((meetingMs: number) => void) | undefined;
  private readonly firstAudio = new Promise<number>((resolve) => {
    this.resolveFirstAudio = resolve;
  });
  /** The re-transcription of a crashed task's lost span, while it runs. */
  private recovery: Promise<void> | undefined;
  private readonly recoveryAbort = new AbortController();
  readonly pausedWindows: PausedWindow[] = [];
  readonly stats = {
    audioFrames: 0,
    pausedFrames: 0,
    audioMs: 0,
    pauses: 0,
    resumes: 0,
    badTimestamps: 0,
    /** Audio frames that arrived after the stream was cut (ending, or handing over to another task). */
    framesAfterCut: 0,
    /** Finals re-transcribed from the archive after an earlier task crashed (published `recovered`). */
    recoveredFinals: 0,
  };

  constructor(private readonly opts: MeetingSessionOptions) {
    this.meetingId = opts.meetingId;
    this.applied = this.acked = opts.commandLog?.length ?? 0;
    this.log = opts.logger.createChild({ persistentLogAttributes: { meetingId: opts.meetingId } });
    const seqs = new SeqAllocator(opts.repo, opts.meetingId);
    this.seqs = seqs;
    this.assembler = new SegmentAssembler({
      meetingId: opts.meetingId,
      nextSeq: () => this.ready.then(() => seqs.next()),
      clock: this.clock,
      floor: this.floor,
      emit: (segment) =>
        opts.publish({ v: 1, type: 'transcript', meetingId: opts.meetingId, segment: published(segment) }),
      arrivalOf: (streamMs) => this.arrivals.arrivalOf(streamMs),
      onFinal: (streamEndMs) => {
        this.stt.release(streamEndMs);
        this.clock.prune(streamEndMs);
        this.arrivals.prune(streamEndMs);
      },
      onError: (error) => this.log.error('segment lost', { error: String(error) }),
    });
    this.stt = new SttStream({
      connector: opts.connector,
      connect: { keyterms: opts.keywords, language: opts.language, tag: `meeting:${opts.meetingId}` },
      logger: this.log,
      onResult: (result) => this.assembler.push(result),
      closeTimeoutMs: SPEECH_FLUSH_MAX_MS,
      closeIdleMs: SPEECH_FLUSH_IDLE_MS,
      ...opts.sttOptions,
    });
    this.ready = this.afterPreviousTask().then(() => this.holdForRecovery());
  }

  get currentState(): SessionState {
    return this.state;
  }

  /** Commands applied so far (entries of the meeting's command log). */
  get appliedCommands(): number {
    return this.applied;
  }

  get sttStats(): SttStream['stats'] {
    return this.stt.stats;
  }

  get segmentStats(): SegmentAssembler['stats'] {
    return this.assembler.stats;
  }

  /** Stream ms of the audio forwarded to the speech engine so far (where the next frame starts). */
  get streamMs(): number {
    return this.stt.positionMs;
  }

  /** Audio forwarded but not yet written to the speech engine (its socket is down), in ms. */
  get speechBacklogMs(): number {
    return this.stt.unsentMs;
  }

  /**
   * Meeting ms of the audio at `streamMs` by the session's clock, which believes Recall's
   * timestamps only once the stream confirms them (the recording archive places audio by it).
   */
  meetingMsAt(streamMs: number): number {
    return this.clock.toMeetingMs(streamMs);
  }

  /**
   * The clock has not judged the last forwarded frame's timestamp yet (it waits for the next
   * frame): `meetingMsAt` would place that frame at the stream's own clock, not where it was
   * heard.
   */
  get timestampPending(): boolean {
    return this.clock.pending;
  }

  /**
   * Connect the speech stream and announce the meeting. Audio handled before the speech
   * socket is open is kept and sent once it is.
   */
  async start(): Promise<void> {
    const initial = stateAfter(this.opts.commandLog ?? []);
    if (initial === 'stop') {
      await this.end('stopped before start');
      return;
    }
    this.state = initial === 'pause' ? 'paused' : 'live';
    const status = this.state === 'live' ? 'live' : 'paused';
    await Promise.all([this.stt.start(), this.ready.then(() => this.announce(status))]);
  }

  handle(input: SessionInput, receivedAt = performance.now()): void {
    if (this.state === 'ending' || this.state === 'ended') {
      if (input.kind === 'audio') this.stats.framesAfterCut++;
      return;
    }
    switch (input.kind) {
      case 'audio': {
        if (this.state === 'paused' || this.state === 'starting') {
          this.stats.pausedFrames++; // paused audio never reaches the speech engine
          return;
        }
        const verdict = this.clock.observe(this.stt.positionMs, input.relativeMs);
        if (verdict === 'rejected') this.badTimestamp(input.relativeMs);
        if (verdict === 'confirmed' && this.resolveFirstAudio) {
          this.resolveFirstAudio(this.clock.toMeetingMs(0));
          this.resolveFirstAudio = undefined;
        }
        const open = this.pausedWindows[this.pausedWindows.length - 1];
        if (open && open.endMs === undefined) open.endMs = Math.max(open.startMs, input.relativeMs);
        this.heardAudio = true;
        this.stats.audioFrames++;
        this.stats.audioMs += bytesToMs(input.pcm.length);
        this.stt.send(input.pcm);
        this.arrivals.mark(this.stt.positionMs);
        this.opts.onAudioForwarded?.(receivedAt);
        if (this.state === 'handing_over') this.watchForQuiet(input.pcm);
        return;
      }
      case 'separate_audio': {
        if (this.implausible(input.relativeMs)) return;
        this.floor.join(input.participantId, input.name);
        if (this.state === 'live' && rms(input.pcm) >= SPEECH_RMS) {
          this.floor.heard(
            input.participantId,
            input.relativeMs,
            input.relativeMs + bytesToMs(input.pcm.length),
          );
        }
        return;
      }
      case 'participant': {
        if (this.implausible(input.relativeMs)) return;
        const { participantId: id, relativeMs: at } = input;
        if (input.action === 'join' || input.action === 'update') this.floor.join(id, input.name);
        else if (input.action === 'speech_on') {
          this.floor.join(id, input.name);
          this.floor.speechOn(id, at);
        } else if (input.action === 'speech_off') this.floor.speechOff(id, at);
        else if (input.action === 'leave') this.floor.leave(id, at);
        return;
      }
    }
  }

  /** Recall's socket went away: flush what was said so far (it may reconnect). */
  recallDetached(): void {
    this.stt.finalize();
  }

  /**
   * Follow the meeting: apply every command in `log` not applied yet, in order (a pause is
   * applied even when a resume follows it in the same read), acknowledge them, and finish the
   * session when the meeting is over (`disconnecting`, `ended`, `failed`).
   */
  async applyCommands(log: readonly DesiredState[], status: MeetingStatus): Promise<void> {
    if (this.finishing) return;
    if (sessionMustEnd(status)) {
      await this.end('the meeting is over');
      return;
    }
    if (this.state === 'starting') return; // applied on the next read, once started
    let stop = false;
    while (this.applied < log.length && !stop) {
      const transition = log[this.applied] as DesiredState;
      this.applied++;
      stop = this.transition(transition);
    }
    if (this.applied > this.acked) {
      const count = this.applied;
      this.acked = count;
      await this.opts.repo.ackCommands(this.meetingId, count).catch((error: unknown) => {
        this.log.warn('could not acknowledge commands', { count, error: String(error) });
      });
    }
    if (stop) await this.end('stopped by command');
  }

  /** Finalize the speech stream, publish the last segments and the `ended` status. Idempotent. */
  end(reason: string, status: MeetingStatus = 'ended'): Promise<void> {
    return this.finish(reason, 'ended', status);
  }

  /**
   * Graceful stop of this task (deploy, scale-in): keep transcribing until the audio goes quiet
   * (HANDOVER_QUIET_MS of silence) or `maxWaitMs` passes, then cut the stream there, flush the
   * speech engine and publish the last finals. The meeting stays `live`: the caller then closes
   * Recall's socket so that Recall reconnects to another task, whose session continues the seqs.
   */
  handover(maxWaitMs = 5_000, onCut: () => void = () => undefined): Promise<void> {
    if (this.finishing) return this.finishing;
    const cut = async () => {
      this.state = 'ending';
      try {
        await this.opts.repo.setHandover(this.meetingId, Date.now() + HANDOVER_HOLD_MS);
      } catch (error) {
        this.log.warn('could not mark the handover; the next task may publish first', {
          error: String(error),
        });
      }
      onCut(); // Recall reconnects to another task while this one flushes
      this.finishing = undefined; // this promise waits for finish(); it must not be finish() itself
      return this.finish('handed over', 'handed_over');
    };
    if (this.state !== 'live') {
      this.finishing = cut();
      return this.finishing;
    }
    this.state = 'handing_over';
    this.quietMs = 0;
    const quiet = new Promise<void>((resolve) => {
      this.onQuiet = resolve;
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, maxWaitMs);
    });
    this.finishing = Promise.race([quiet, deadline]).then(() => {
      clearTimeout(timer);
      return cut();
    });
    return this.finishing;
  }

  /** Stop at once without finalizing or announcing anything (simulates a crashed task). */
  abandon(): void {
    this.state = 'ended';
    this.recoveryAbort.abort();
    this.stt.abandon();
  }

  private finish(reason: string, outcome: SessionOutcome, status: MeetingStatus = 'ended'): Promise<void> {
    this.finishing ??= (async () => {
      this.state = 'ending';
      this.log.info(outcome === 'ended' ? 'session ending' : 'session handing over', { reason });
      // The last finals take one seq at a time: no block of them outlives this task's handover.
      void this.seqs.singles();
      try {
        await this.stt.close(outcome === 'handed_over' ? HANDOVER_FLUSH_MS : undefined);
        await this.assembler.drain();
        await this.recovery; // bounded by its speech flush; its finals take seqs from this session
        const pending = this.assembler.pendingSeq;
        if (pending !== undefined) this.dropInterimsBelow(pending + 1);
        await this.seqs.release();
        if (outcome === 'ended') await this.announce(status, reason);
      } finally {
        this.state = 'ended';
        this.opts.onEnded?.(this, outcome);
      }
    })();
    return this.finishing;
  }

  /** Applies one transition; returns true for `stop`. */
  private transition(transition: DesiredState): boolean {
    if (transition === 'stop') return true;
    if (transition === 'pause' && (this.state === 'live' || this.state === 'handing_over')) {
      this.state = 'paused';
      this.stats.pauses++;
      this.stt.finalize(); // what was said before the pause becomes final
      this.pausedWindows.push({ startMs: this.clock.toMeetingMs(this.stt.positionMs), endMs: undefined });
      if (this.pausedWindows.length > MAX_PAUSED_WINDOWS) this.pausedWindows.shift();
      this.onQuiet?.(); // nothing more to wait for in a handover
      this.log.info('session paused');
    } else if (transition === 'run' && this.state === 'paused') {
      this.state = 'live';
      this.stats.resumes++;
      this.log.info('session resumed');
    }
    return false;
  }

  private watchForQuiet(pcm: Buffer): void {
    this.quietMs = rms(pcm) < SPEECH_RMS ? this.quietMs + bytesToMs(pcm.length) : 0;
    if (this.quietMs >= HANDOVER_QUIET_MS) this.onQuiet?.();
  }

  private badTimestamp(relativeMs: number): void {
    this.stats.badTimestamps++;
    this.opts.onRejected?.(
      'timestamp_jump',
      `timestamp.relative ${relativeMs / 1000} s does not follow the stream's clock`,
    );
  }

  /** A participant event or separate-audio frame far ahead of the audio is not believed. */
  private implausible(relativeMs: number): boolean {
    if (!this.heardAudio || relativeMs <= this.clock.toMeetingMs(this.stt.positionMs) + MAX_EVENT_LEAD_MS) {
      return false;
    }
    this.badTimestamp(relativeMs);
    return true;
  }

  /**
   * Waits while a stopping task still publishes this meeting (bounded by its mark), then tells
   * clients that interims of earlier sessions that are not final never will be.
   */
  private async afterPreviousTask(): Promise<void> {
    let seqCounter = this.opts.seqCounter ?? 0;
    let until = this.opts.handoverUntil ?? 0;
    while (until > Date.now() && this.state !== 'ended') {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const meeting = await this.opts.repo.get(this.meetingId);
        until = meeting?.handoverUntil ?? 0;
        seqCounter = meeting?.seqCounter ?? seqCounter;
      } catch (error) {
        this.log.warn('could not read the handover mark', { error: String(error) });
      }
    }
    if (seqCounter > 0) this.dropInterimsBelow(seqCounter + 1);
  }

  /**
   * Runs the lost-span recovery (when asked for) and holds this session's own events until it is
   * done, for at most RECOVERY_HOLD_MS: the recovered finals, older audio, come first.
   */
  private async holdForRecovery(): Promise<void> {
    const read = this.opts.recoverLostSpan;
    if (!read || this.state === 'ended') return;
    this.recovery = this.recover(read).catch((error: unknown) => {
      if (!this.recoveryAbort.signal.aborted) {
        this.log.warn('lost span not recovered', { error: String(error) });
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const hold = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, RECOVERY_HOLD_MS);
      timer.unref();
    });
    await Promise.race([this.recovery, hold]);
    clearTimeout(timer);
  }

  private async recover(read: ArchivedAudioReader): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const untilMs = await Promise.race([
      this.firstAudio,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), RECOVERY_ANCHOR_WAIT_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (untilMs === undefined) {
      this.log.info('no audio to place a lost span by; nothing recovered');
      return;
    }
    const before = await this.opts.repo.get(this.meetingId);
    const fromMs = Math.max(before?.lastFinalEndMs ?? 0, untilMs - MAX_RECOVERY_SPAN_MS);
    if (untilMs - fromMs < MIN_RECOVERY_SPAN_MS) return;
    const span = await read(this.meetingId, fromMs, untilMs);
    if (!span || span.pcm.length < MIN_RECOVERY_SPAN_MS * 32) return;
    const finals = await transcribeSpan({
      meetingId: this.meetingId,
      connector: this.opts.connector,
      keywords: this.opts.keywords,
      language: this.opts.language,
      logger: this.log,
      span,
      signal: this.recoveryAbort.signal,
    });
    // The crashed task's last finals may have been stored meanwhile (they were in the queue).
    const after = await this.opts.repo.get(this.meetingId);
    const storedUntilMs = Math.max(fromMs, after?.lastFinalEndMs ?? 0);
    const fresh = finals.filter((f) => f.startMs >= storedUntilMs && f.text.trim() !== '');
    for (const final of fresh) {
      if (this.recoveryAbort.signal.aborted) return;
      const seq = await this.seqs.next();
      this.stats.recoveredFinals++;
      this.opts.publish({
        v: 1,
        type: 'transcript',
        meetingId: this.meetingId,
        segment: published({ ...final, seq, id: segmentId(this.meetingId, seq), recovered: true }),
      });
    }
    this.log.info('lost span re-transcribed from the recording archive', {
      fromMs: span.startMs,
      untilMs: span.startMs + span.pcm.length / 32,
      finals: fresh.length,
      skippedAsStored: finals.length - fresh.length,
    });
  }

  /** Tells clients that interims with a seq below `beforeSeq` that are not final never will be. */
  private dropInterimsBelow(beforeSeq: number): void {
    this.opts.publish({
      v: 1,
      type: 'interim_dropped',
      meetingId: this.meetingId,
      beforeSeq,
      at: new Date().toISOString(),
    });
  }

  private async announce(status: MeetingStatus, reason?: string): Promise<void> {
    try {
      // `ended` / `failed` are set once, whoever gets there first (a webhook may have).
      await changeStatus({ meetings: this.opts.repo, publish: this.opts.publish }, this.meetingId, status, {
        ...(reason ? { reason } : {}),
      });
    } catch (error) {
      this.log.error('could not record meeting status', { status, error: String(error) });
    }
  }
}

function rms(pcm: Buffer): number {
  const n = pcm.length >> 1;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const s = pcm.readInt16LE(i * 2);
    sum += s * s;
  }
  return Math.sqrt(sum / n);
}
