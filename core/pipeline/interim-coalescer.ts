/**
 * Interims to viewers at most once per `windowMs` per meeting (default 250 ms: ≤ 4 a second),
 * always ending on the latest, in front of the audio gateway's EventPublisher.
 *
 * Every event is still published at once, in order: the fan-out must see every interim (keyword
 * alerts are raised from interims) and every final, status and drop event passes untouched. Only
 * the transcript line of an interim is coalesced, by marking the event:
 * - the first interim after a quiet window goes to viewers as usual (no mark);
 * - an interim inside the window is published with `display: 'skip'`: the fan-out reads it
 *   (alerts) but posts no transcript line;
 * - when the window ends, the latest skipped interim (if nothing superseded it) is published again
 *   with `display: 'refresh'`: the fan-out posts only its transcript line (its alerts were raised
 *   from the skipped copy), so viewers always end on the latest text;
 * - a final (or `interim_dropped`) of that seq supersedes a pending refresh, which is cancelled:
 *   finals and alerts are never delayed or dropped.
 * Cost: at most one extra SQS message per window per meeting, when interims come faster than
 * that. Saved: (skipped − refreshed) × viewers API Gateway messages.
 */
import type { ServerMessage } from '../realtime/protocol';
import type { PipelineEvent, TranscriptEvent } from './events';

export const INTERIM_WINDOW_MS = 250;

/** `INTERIM_WINDOW_MS` from the environment (0 turns coalescing off), else the default. */
export function interimWindowMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.INTERIM_WINDOW_MS;
  if (raw === undefined || raw === '') return INTERIM_WINDOW_MS;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 10_000) {
    throw new RangeError(`INTERIM_WINDOW_MS must be a number of milliseconds from 0 to 10000, got "${raw}"`);
  }
  return value;
}

interface MeetingWindow {
  /** When an interim was last shown to viewers (a plain or refreshed interim). */
  shownAt: number;
  /** The latest interim published with display 'skip', waiting for the window's end. */
  pending?: TranscriptEvent;
  timer?: NodeJS.Timeout;
}

export interface InterimCoalescerStats {
  interims: number;
  shown: number;
  skipped: number;
  refreshed: number;
  superseded: number;
}

export class InterimCoalescer {
  private readonly meetings = new Map<string, MeetingWindow>();
  readonly stats: InterimCoalescerStats = { interims: 0, shown: 0, skipped: 0, refreshed: 0, superseded: 0 };

  constructor(
    private readonly publish: (event: PipelineEvent) => void,
    private readonly windowMs = INTERIM_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  handle(event: PipelineEvent): void {
    if (event.type === 'transcript' && !event.segment.isFinal && event.display === undefined) {
      this.interim(event);
      return;
    }
    if (event.type === 'transcript') this.supersede(event.meetingId, event.segment.seq + 1);
    else if (event.type === 'interim_dropped') this.supersede(event.meetingId, event.beforeSeq);
    else if (event.type === 'status' && (event.status === 'ended' || event.status === 'failed')) {
      this.forget(event.meetingId);
    }
    this.publish(event);
  }

  /** Publishes every pending refresh now (the gateway flushes on shutdown). */
  flush(): void {
    for (const meetingId of [...this.meetings.keys()]) this.refresh(meetingId);
    this.meetings.clear();
  }

  private interim(event: TranscriptEvent): void {
    this.stats.interims++;
    const now = this.now();
    const window = this.meetings.get(event.meetingId);
    if (!window || (now - window.shownAt >= this.windowMs && !window.timer)) {
      this.meetings.set(event.meetingId, { shownAt: now });
      this.stats.shown++;
      this.publish(event);
      return;
    }
    this.stats.skipped++;
    this.publish({ ...event, display: 'skip' });
    window.pending = event;
    window.timer ??= setTimeout(
      () => this.refresh(event.meetingId),
      Math.max(0, window.shownAt + this.windowMs - now),
    );
  }

  private refresh(meetingId: string): void {
    const window = this.meetings.get(meetingId);
    if (!window) return;
    clearTimeout(window.timer);
    window.timer = undefined;
    const pending = window.pending;
    window.pending = undefined;
    if (!pending) return;
    window.shownAt = this.now();
    this.stats.refreshed++;
    this.publish({ ...pending, display: 'refresh' });
  }

  /** A final or drop for seqs below `beforeSeq`: a pending refresh of those is not needed. */
  private supersede(meetingId: string, beforeSeq: number): void {
    const window = this.meetings.get(meetingId);
    if (!window?.pending || window.pending.segment.seq >= beforeSeq) return;
    window.pending = undefined;
    clearTimeout(window.timer);
    window.timer = undefined;
    this.stats.superseded++;
  }

  private forget(meetingId: string): void {
    this.refresh(meetingId);
    this.meetings.delete(meetingId);
  }
}

/** The fan-out's side: the transcript line viewers get for this event (none for a skipped interim). */
export function viewerLines(event: TranscriptEvent): ServerMessage[] {
  if (event.display === 'skip') return [];
  return [{ type: 'transcript', meetingId: event.meetingId, transcript: event.segment }];
}
