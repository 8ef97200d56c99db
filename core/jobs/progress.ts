/**
 * Job progress for clients: a coalescer that sends at most one job event per interval per job
 * (2 a second by default), merging what accumulated meanwhile — the newest progress_update and
 * time_estimate replace older ones, stage changes and the end are all kept, in order — and the
 * ETA estimate.
 */
import { randomUUID } from 'node:crypto';
import type { JobEvent, JobMessage } from '../pipeline/events';

export const PROGRESS_INTERVAL_MS = 500;

export class JobEventCoalescer {
  private pending: JobMessage[] = [];
  private lastSentAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  readonly stats = { events: 0, messages: 0 };

  constructor(
    private readonly jobId: string,
    private readonly publish: (event: JobEvent) => void,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  push(...messages: JobMessage[]): void {
    for (const m of messages) {
      if (m.type === 'progress_update' || m.type === 'time_estimate') {
        // Only the newest of each: drop the older one (even from before a stage change).
        this.pending = this.pending.filter((p) => p.type !== m.type);
      }
      this.pending.push(m);
    }
    this.schedule();
  }

  /** Resolves once everything pushed so far has been published. */
  flush(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Drops what is pending (the job ended elsewhere, or the worker is going away). */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private schedule(): void {
    if (this.timer || this.pending.length === 0) return;
    const wait = Math.max(0, this.lastSentAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => this.send(), wait);
  }

  private send(): void {
    this.timer = undefined;
    // Stage changes keep their order; progress follows what it describes.
    const messages = this.pending.splice(0, 10);
    if (messages.length > 0) {
      this.lastSentAt = this.now();
      this.stats.events++;
      this.stats.messages += messages.length;
      this.publish({ v: 1, type: 'job', jobId: this.jobId, eventId: randomUUID(), messages });
    }
    if (this.pending.length > 0) this.schedule();
    else for (const resolve of this.idle.splice(0)) resolve();
  }
}

/**
 * Time left from the speed measured so far on this worker: audio transcribed per wall second,
 * over the whole run (stable), blended with the last ~30 s (follows a slowdown). Confidence
 * grows with the share of the audio measured.
 */
export class EtaEstimator {
  private readonly samples: { at: number; audioMs: number }[] = [];

  constructor(
    private readonly startAt: number,
    private readonly startAudioMs: number,
  ) {}

  observe(at: number, audioMs: number): void {
    this.samples.push({ at, audioMs });
    while (this.samples.length > 2 && (this.samples[0] as { at: number }).at < at - 30_000)
      this.samples.shift();
  }

  /** × real time (audio ms per wall ms) over the whole run; 0 until measurable. */
  speed(at: number, audioMs: number): number {
    const wall = at - this.startAt;
    return wall > 0 ? (audioMs - this.startAudioMs) / wall : 0;
  }

  estimate(
    at: number,
    audioMs: number,
    totalMs: number,
  ): { seconds: number; confidence: number } | undefined {
    const overall = this.speed(at, audioMs);
    const first = this.samples[0];
    const recent = first && at - first.at > 5_000 ? (audioMs - first.audioMs) / (at - first.at) : overall;
    const speed = 0.5 * overall + 0.5 * recent;
    if (!(speed > 0) || audioMs <= this.startAudioMs) return undefined;
    const measured = (audioMs - this.startAudioMs) / Math.max(1, totalMs - this.startAudioMs);
    return {
      seconds: Math.max(0, (totalMs - audioMs) / speed / 1000),
      confidence: Math.round(Math.min(0.95, 0.2 + measured) * 100) / 100,
    };
  }
}
