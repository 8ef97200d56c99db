/**
 * One live meeting in the audio gateway: takes Recall's audio and participant events,
 * streams the audio to the speech engine, turns results into segments and publishes them.
 * It survives Recall reconnects (the gateway re-attaches the new socket to the same session)
 * and speech socket drops (SttStream resends unfinalized audio).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  type DesiredState,
  MEETING_STATUSES,
  type MeetingStatus,
  TERMINAL_STATUSES,
} from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import { SeqAllocator } from '../meetings/seq-allocator';
import type { PipelineEvent } from '../pipeline/events';
import { AudioClock } from './audio-clock';
import type { SttConnector } from './deepgram-connector';
import { FloorTracker } from './floor-tracker';
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

export type SessionState = 'starting' | 'live' | 'paused' | 'ending' | 'ended';

export interface MeetingSessionOptions {
  meetingId: string;
  keywords: readonly string[];
  language: string;
  connector: SttConnector;
  repo: Pick<MeetingRepository, 'reserveSeqs' | 'setStatus' | 'setStatusIf'>;
  publish: (event: PipelineEvent) => void;
  logger: Logger;
  /** Called once the session has ended and released everything. */
  onEnded?: (session: MeetingSession) => void;
  /** Called after an audio frame is handed to the speech socket (benchmarks measure this). */
  onAudioForwarded?: (receivedAt: number) => void;
  sttOptions?: { keepAliveMs?: number; reconnectDelayMs?: number; closeTimeoutMs?: number };
}

const NON_TERMINAL = MEETING_STATUSES.filter((s) => !TERMINAL_STATUSES.has(s));

/** Separate-audio frames quieter than this (RMS of S16 samples) do not count as speech. */
const SPEECH_RMS = 300;

export class MeetingSession {
  readonly meetingId: string;
  private state: SessionState = 'starting';
  private readonly clock = new AudioClock();
  private readonly floor = new FloorTracker();
  private readonly stt: SttStream;
  private readonly assembler: SegmentAssembler;
  private readonly log: Logger;
  private ending: Promise<void> | undefined;
  readonly stats = { audioFrames: 0, pausedFrames: 0, audioMs: 0 };

  constructor(private readonly opts: MeetingSessionOptions) {
    this.meetingId = opts.meetingId;
    this.log = opts.logger.createChild({ persistentLogAttributes: { meetingId: opts.meetingId } });
    const seqs = new SeqAllocator(opts.repo, opts.meetingId);
    this.assembler = new SegmentAssembler({
      meetingId: opts.meetingId,
      nextSeq: () => seqs.next(),
      clock: this.clock,
      floor: this.floor,
      emit: (segment) => opts.publish({ v: 1, type: 'transcript', meetingId: opts.meetingId, segment }),
      onFinal: (streamEndMs) => {
        this.stt.release(streamEndMs);
        this.clock.prune(streamEndMs);
      },
      onError: (error) => this.log.error('segment lost', { error: String(error) }),
    });
    this.stt = new SttStream({
      connector: opts.connector,
      connect: { keyterms: opts.keywords, language: opts.language, tag: `meeting:${opts.meetingId}` },
      logger: this.log,
      onResult: (result) => this.assembler.push(result),
      ...opts.sttOptions,
    });
  }

  get currentState(): SessionState {
    return this.state;
  }

  get sttStats(): SttStream['stats'] {
    return this.stt.stats;
  }

  get segmentStats(): SegmentAssembler['stats'] {
    return this.assembler.stats;
  }

  /**
   * Connect the speech stream and announce the meeting. Audio handled before the speech
   * socket is open is kept and sent once it is.
   */
  async start(initial: DesiredState = 'run'): Promise<void> {
    if (initial === 'stop') {
      await this.end('stopped before start');
      return;
    }
    this.state = initial === 'pause' ? 'paused' : 'live';
    await Promise.all([this.stt.start(), this.announce(this.state === 'live' ? 'live' : 'paused')]);
  }

  handle(input: SessionInput, receivedAt = performance.now()): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    switch (input.kind) {
      case 'audio': {
        if (this.state !== 'live') {
          this.stats.pausedFrames++; // paused audio never reaches the speech engine
          return;
        }
        this.stats.audioFrames++;
        this.stats.audioMs += bytesToMs(input.pcm.length);
        this.clock.observe(this.stt.positionMs, input.relativeMs);
        this.stt.send(input.pcm);
        this.opts.onAudioForwarded?.(receivedAt);
        return;
      }
      case 'separate_audio': {
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

  /** Follow the state a client asked for (pause / resume / stop). */
  async applyDesiredState(desired: DesiredState): Promise<void> {
    if (this.state === 'ending' || this.state === 'ended' || this.state === 'starting') return;
    if (desired === 'stop') {
      await this.end('stopped by command');
    } else if (desired === 'pause' && this.state === 'live') {
      this.state = 'paused';
      this.stt.finalize(); // what was said before the pause becomes final
      this.log.info('session paused');
    } else if (desired === 'run' && this.state === 'paused') {
      this.state = 'live';
      this.log.info('session resumed');
    }
  }

  /** Finalize the speech stream, publish the last segments and the `ended` status. Idempotent. */
  end(reason: string, status: MeetingStatus = 'ended'): Promise<void> {
    this.ending ??= (async () => {
      this.state = 'ending';
      this.log.info('session ending', { reason });
      try {
        await this.stt.close();
        await this.assembler.drain();
        await this.announce(status, reason);
      } finally {
        this.state = 'ended';
        this.opts.onEnded?.(this);
      }
    })();
    return this.ending;
  }

  /** Stop at once without finalizing or announcing anything (simulates a crashed task). */
  abandon(): void {
    this.state = 'ended';
    this.stt.abandon();
  }

  private async announce(status: MeetingStatus, reason?: string): Promise<void> {
    try {
      // `ended` / `failed` are set once, whoever gets there first (a webhook may have).
      const epoch = TERMINAL_STATUSES.has(status)
        ? await this.opts.repo.setStatusIf(this.meetingId, status, NON_TERMINAL)
        : await this.opts.repo.setStatus(this.meetingId, status);
      if (epoch === undefined) return;
      this.opts.publish({
        v: 1,
        type: 'status',
        meetingId: this.meetingId,
        status,
        epoch,
        at: new Date().toISOString(),
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
