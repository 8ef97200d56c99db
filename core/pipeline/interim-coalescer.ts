/**
 * Interims to viewers at most once per `windowMs` per meeting (default 2 s; besides a line that
 * raises a keyword alert), ending on the latest, in front of the audio gateway's EventPublisher.
 *
 * Every event is still published at once, in order: the fan-out must see every interim (keyword
 * alerts are raised from interims) and every final, status and drop event passes untouched. Only
 * the transcript line of an interim is coalesced, by marking the event:
 * - an interim that comes a window or more after the meeting's last shown line goes to viewers
 *   at once (no mark), and so does the first interim of an utterance (a seq not seen yet) unless
 *   the last shown line is the previous utterance's final, less than a window ago: a final goes
 *   at once and starts the window too, so the next line does not cost a frame right behind it;
 * - given the meetings' keywords (`keywordsOf`: the gateway's, as its command poll last read
 *   them, ≤ 500 ms old), an interim inside the window that holds a keyword occurrence no earlier
 *   interim of its line held is shown too: its provisional alert goes out at once anyway, and
 *   its line rides in the same batched frame (docs/protocol.md), so viewers see the word with
 *   the alert; the window starts again there. The other interims inside the window can raise no
 *   alert and are not published at all (no SQS message, no fan-out invocation);
 * - a shown interim carries the keywords it was judged by (`keywords`), and the fan-out raises
 *   its alerts from them, not from its own read: the two never disagree about an alert;
 * - without `keywordsOf`, or for a meeting it does not know, an interim inside the window is
 *   published with `display: 'skip'`: the fan-out reads it (alerts) but posts no transcript line;
 * - when no newer interim has come for a window after the latest skipped one (the speech service
 *   paused before its final), that one is published again with `display: 'refresh'`: the fan-out
 *   posts only its transcript line (its alerts were raised from the skipped copy), so viewers
 *   always end on the latest text. While interims keep coming, the next one a window after the
 *   last shown one is shown itself, so a refresh never shows text that is about to be replaced;
 * - a final (or `interim_dropped`) of that seq supersedes a pending refresh, which is cancelled,
 *   and so does the first interim of a later utterance: finals and alerts are never delayed or
 *   dropped.
 * Cost: an extra SQS message only for a refresh. Saved: skipped × viewers API Gateway messages,
 * and, with the keywords known, an SQS message and a fan-out invocation per skipped interim.
 *
 * An interim that repeats the last interim of its utterance (same seq, same text, same speaker),
 * or that has no text while none was shown yet, is not published at all: it shows viewers
 * nothing new and raises no alert (alerts come from the text), yet would cost an SQS message, a
 * fan-out invocation and a WebSocket message per viewer (bench/meeting-usage.ts counts them).
 */
import { occurrences } from '../realtime/keywords';
import type { ServerMessage } from '../realtime/protocol';
import type { PipelineEvent, TranscriptEvent } from './events';

/**
 * 2 s: chosen on measurement (docs/benchmarks.md, "Issue #15.5: the interim line every 2 s"). At
 * Deepgram's ~1 interim a second, 250 ms (the earlier default) showed every interim.
 */
export const INTERIM_WINDOW_MS = 2_000;

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
  /** When an interim was last shown to viewers (a plain or refreshed interim), and its seq. */
  shownAt: number;
  seq: number;
  /** Whether the last shown line was a final (its utterance is over). */
  final?: boolean;
  /** The latest skipped interim (published with display 'skip', or not at all), for a refresh. */
  pending?: TranscriptEvent;
  timer?: NodeJS.Timeout;
}

export interface InterimCoalescerStats {
  interims: number;
  /** Interims not published: the same text and speaker as the utterance's last one, or empty. */
  unchanged: number;
  shown: number;
  /** Shown inside the window because they raise a keyword alert (the line shares its frame). */
  shownWithAlert: number;
  skipped: number;
  /** Skipped interims not published at all: they held no keyword occurrence new to their line. */
  unqueued: number;
  refreshed: number;
  /** Pending refreshes cancelled: by a final or drop of their seq, or a newer interim shown. */
  superseded: number;
}

/** A meeting's keywords as the gateway last read them, or undefined when it does not know them. */
export type KeywordsOf = (meetingId: string) => readonly string[] | undefined;

export class InterimCoalescer {
  private readonly meetings = new Map<string, MeetingWindow>();
  /** Per meeting, the last interim published: its seq, text and speaker. */
  private readonly lastInterim = new Map<string, { seq: number; text: string; speaker: string }>();
  /** Per meeting, the keyword occurrences (keys) its current line's interims have held. */
  private readonly published = new Map<string, { seq: number; keys: Set<string> }>();
  readonly stats: InterimCoalescerStats = {
    interims: 0,
    unchanged: 0,
    shown: 0,
    shownWithAlert: 0,
    skipped: 0,
    unqueued: 0,
    refreshed: 0,
    superseded: 0,
  };

  constructor(
    private readonly publish: (event: PipelineEvent) => void,
    private readonly windowMs = INTERIM_WINDOW_MS,
    private readonly now: () => number = Date.now,
    /** Without it every skipped interim is published (the fan-out reads each for alerts). */
    private readonly keywordsOf?: KeywordsOf,
  ) {}

  handle(event: PipelineEvent): void {
    if (event.type === 'transcript' && !event.segment.isFinal && event.display === undefined) {
      this.interim(event);
      return;
    }
    if (event.type === 'transcript') {
      this.supersede(event.meetingId, event.segment.seq + 1);
      if (event.segment.isFinal) this.finalShown(event.meetingId, event.segment.seq);
    } else if (event.type === 'interim_dropped') this.supersede(event.meetingId, event.beforeSeq);
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
    if (this.unchanged(event)) {
      this.stats.unchanged++;
      return;
    }
    const now = this.now();
    const { meetingId, segment } = event;
    const window = this.meetings.get(meetingId);
    const due =
      !window || now - window.shownAt >= this.windowMs || (window.seq !== segment.seq && !window.final);
    // Whether the fan-out could raise an alert from it (undefined: keywords not known here).
    const keywords = this.keywordsOf?.(meetingId);
    const alerting = keywords ? this.newOccurrences(event, keywords) : undefined;
    if (due || alerting === true) {
      // The first interim of an utterance, a window after the last shown, or one whose alert
      // goes out now anyway (its line rides in the alert's frame): shown now, and whatever was
      // pending (older text, or an earlier utterance's) is not needed any more.
      clearTimeout(window?.timer);
      if (window?.pending) this.stats.superseded++;
      this.meetings.set(meetingId, { shownAt: now, seq: segment.seq });
      this.stats.shown++;
      if (!due) this.stats.shownWithAlert++;
      // The keywords it was judged by go with it: the fan-out raises its alerts from the same.
      this.publish(keywords ? { ...event, keywords: [...keywords] } : event);
      return;
    }
    this.stats.skipped++;
    if (alerting === undefined) this.publish({ ...event, display: 'skip' });
    else this.stats.unqueued++;
    window.pending = event;
    // Shown if nothing newer comes for a window (a periodic interim a window after the last
    // shown one is shown itself, so the refresh does not race it).
    clearTimeout(window.timer);
    window.timer = setTimeout(() => this.refresh(meetingId), this.windowMs);
  }

  /**
   * A final is a line viewers get at once: the window starts there too, so the next utterance's
   * first interim waits for it (shown if it comes a window after the final, else the next one
   * that does, or the refresh) instead of making a second frame right behind the final.
   */
  private finalShown(meetingId: string, seq: number): void {
    const window = this.meetings.get(meetingId);
    if (!window) {
      this.meetings.set(meetingId, { shownAt: this.now(), seq, final: true });
      return;
    }
    // A pending refresh of this or an earlier seq was cancelled by `supersede`.
    window.shownAt = this.now();
    window.seq = seq;
    window.final = true;
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

  /** Whether this interim repeats its utterance's last one (or is empty while nothing was shown). */
  private unchanged(event: TranscriptEvent): boolean {
    const { seq, text, speaker } = event.segment;
    const last = this.lastInterim.get(event.meetingId);
    const before = last?.seq === seq ? last : undefined;
    if (before ? before.text === text && before.speaker === speaker : text.trim() === '') return true;
    this.lastInterim.set(event.meetingId, { seq, text, speaker });
    return false;
  }

  /**
   * Whether the fan-out could raise a keyword alert from this interim — an occurrence no
   * earlier interim of its line held — recording its occurrences.
   */
  private newOccurrences(event: TranscriptEvent, keywords: readonly string[]): boolean {
    const { meetingId, segment } = event;
    let line = this.published.get(meetingId);
    if (line?.seq !== segment.seq) {
      line = { seq: segment.seq, keys: new Set() };
      this.published.set(meetingId, line);
    }
    let fresh = false;
    for (const o of occurrences(segment.text, keywords)) {
      if (line.keys.has(o.key)) continue;
      line.keys.add(o.key);
      fresh = true;
    }
    return fresh;
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
    this.lastInterim.delete(meetingId);
    this.published.delete(meetingId);
  }
}

/** The fan-out's side: the transcript line viewers get for this event (none for a skipped interim). */
export function viewerLines(event: TranscriptEvent): ServerMessage[] {
  if (event.display === 'skip') return [];
  return [{ type: 'transcript', meetingId: event.meetingId, transcript: event.segment }];
}
