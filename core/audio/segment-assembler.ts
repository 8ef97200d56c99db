/**
 * Turns speech results into Parley transcript segments: each final gets the next seq of the
 * meeting (an interim carries the seq its final will take), times in meeting ms, and the
 * speaker who held the floor (falling back to the engine's diarization label).
 */
import { type Segment, segmentId } from '../pipeline/events';
import type { AudioClock } from './audio-clock';
import type { FloorTracker } from './floor-tracker';
import type { SttResult } from './stt-stream';

export interface SegmentAssemblerOptions {
  meetingId: string;
  /** Hands out the next seq of the meeting (unique and increasing, also across restarts). */
  nextSeq: () => Promise<number>;
  clock: AudioClock;
  floor: FloorTracker;
  emit: (segment: Segment) => void;
  /** Called with the stream ms a final covers up to, so its audio need not be kept. */
  onFinal?: (streamEndMs: number) => void;
  onError?: (error: unknown) => void;
  now?: () => Date;
  /** When the audio up to a stream ms reached the gateway (AudioArrivals), for the timing. */
  arrivalOf?: (streamMs: number) => number | undefined;
}

export class SegmentAssembler {
  private current: { seq: number; revision: number } | undefined;
  private chain: Promise<void> = Promise.resolve();
  private lastFinalEndMs = 0;
  readonly stats = { finals: 0, interims: 0 };

  constructor(private readonly opts: SegmentAssemblerOptions) {}

  /** Results are handled strictly in arrival order; `receivedAt` (epoch ms) is when it arrived. */
  push(result: SttResult, receivedAt: number = Date.now()): void {
    this.chain = this.chain
      .then(() => this.handle(result, receivedAt))
      .catch((error) => this.opts.onError?.(error));
  }

  /** The seq of an utterance whose interims were published but whose final has not been (yet). */
  get pendingSeq(): number | undefined {
    return this.current?.seq;
  }

  /** Resolves when every pushed result has been handled. */
  drain(): Promise<void> {
    return this.chain;
  }

  private async handle(r: SttResult, receivedAt: number): Promise<void> {
    if (r.text === '') {
      if (r.isFinal) this.opts.onFinal?.(r.endMs);
      return;
    }
    if (!this.current) this.current = { seq: await this.opts.nextSeq(), revision: 0 };
    const { seq, revision } = this.current;
    const { clock, floor } = this.opts;
    const streamStart = r.words[0]?.startMs ?? r.startMs;
    const streamEnd = r.words[r.words.length - 1]?.endMs ?? r.endMs;
    let startMs = clock.toMeetingMs(streamStart);
    const endMs = Math.max(startMs, clock.toMeetingEndMs(streamEnd));
    if (startMs < this.lastFinalEndMs && this.lastFinalEndMs <= endMs) startMs = this.lastFinalEndMs;
    const segment: Segment = {
      id: segmentId(this.opts.meetingId, seq),
      seq,
      revision,
      text: r.text,
      speaker: floor.speakerFor(startMs, endMs) ?? diarizedSpeaker(r) ?? 'Unknown speaker',
      confidence: Math.min(1, Math.max(0, r.confidence)),
      startMs,
      endMs,
      timestamp: (this.opts.now?.() ?? new Date()).toISOString(),
      isFinal: r.isFinal,
      timing: timing(this.opts.arrivalOf?.(streamEnd), receivedAt),
    };
    if (r.isFinal) {
      this.current = undefined;
      this.lastFinalEndMs = endMs;
      this.stats.finals++;
      this.opts.emit(segment);
      this.opts.onFinal?.(r.endMs);
    } else {
      this.current = { seq, revision: revision + 1 };
      this.stats.interims++;
      this.opts.emit(segment);
    }
  }
}

function timing(audioEndAt: number | undefined, resultAt: number): Segment['timing'] {
  // A result can name audio the gateway stamped after the result's arrival only through a clock
  // step: never report a negative hop.
  const end = audioEndAt === undefined ? undefined : Math.min(audioEndAt, resultAt);
  return end === undefined ? { resultAt } : { audioEndAt: end, resultAt };
}

function diarizedSpeaker(r: SttResult): string | undefined {
  const counts = new Map<number, number>();
  for (const w of r.words) {
    if (w.speaker !== undefined) counts.set(w.speaker, (counts.get(w.speaker) ?? 0) + 1);
  }
  let best: number | undefined;
  for (const [speaker, n] of counts) if (best === undefined || n > (counts.get(best) ?? 0)) best = speaker;
  return best === undefined ? undefined : `Speaker ${best + 1}`;
}
