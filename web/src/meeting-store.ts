/**
 * One store per open meeting, fed only by the reference client's events
 * (core/realtime/client.ts). Components read snapshots and re-render when `version` changes;
 * updates are batched to one per animation frame, so a burst of finals costs one render.
 *
 * Finals are kept in blocks of BLOCK_SIZE lines: a full block never changes (same array), so
 * the transcript re-renders only its last block when a line arrives, however long the meeting.
 */

import type { BriefingDelta, RollingBriefing } from '../../core/briefing/rolling-model';
import type { MeetingStatus } from '../../core/meetings/model';
import { type Hops, hops } from '../../core/pipeline/segment-timing';
import type { ParleyClient } from '../../core/realtime/client';
import { findKeywords, occurrences } from '../../core/realtime/keywords';
import type { AlertState, ServerMessage } from '../../core/realtime/protocol';

type Segment = Extract<ServerMessage, { type: 'transcript' }>['transcript'];

export const BLOCK_SIZE = 100;
export const ALERT_BLOCK = 50;

function isOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}

export interface Line {
  seq: number;
  speaker: string;
  text: string;
  startMs: number;
  final: boolean;
  /** Keywords this line contains. */
  keywords: string[];
}

export interface AlertEntry {
  /** One per occurrence: `<seq>:<keyword>:<occurrence>`. */
  key: string;
  seq: number;
  keyword: string;
  text: string;
  /** Provisional until its line's final confirms it; a withdrawn alert leaves the list. */
  state: Exclude<AlertState, 'withdrawn'>;
}

/** The newest transcript event's per-hop latency, as this browser received it. */
export interface LatencyReading {
  hops: Hops;
  isFinal: boolean;
  receivedAt: number;
}

export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'connected' }
  | { kind: 'reconnecting'; at: number }
  | { kind: 'offline' };

export interface MeetingSnapshot {
  version: number;
  status: MeetingStatus | undefined;
  blocks: readonly (readonly Line[])[];
  finalCount: number;
  lastSeq: number;
  interims: readonly Line[];
  /** Every alert, in line order (flattened when read). */
  readonly alerts: readonly AlertEntry[];
  alertTotal: number;
  /**
   * The newest alerts, ALERT_BLOCK to 2 × ALERT_BLOCK of them: new ones are appended, and the
   * oldest ALERT_BLOCK leave at once, so a listed alert stays put while alerts arrive.
   */
  recentAlerts: readonly AlertEntry[];
  /** Alerts per keyword (as the alert names it), kept as alerts come and go. */
  alertCounts: ReadonlyMap<string, number>;
  /** The rolling briefing (pushed live), and what its last update added. */
  briefing: RollingBriefing | undefined;
  briefingAdded: BriefingDelta | undefined;
  latency: LatencyReading | undefined;
  connection: ConnectionState;
  /** The newest final, for the screen reader live region. */
  latest: Line | undefined;
  error: string | undefined;
}

export class MeetingStore {
  private blocks: Line[][] = [];
  private finalCount = 0;
  private lastSeq = 0;
  private readonly interims = new Map<number, Line>();
  /**
   * Alerts in line order, in blocks of about ALERT_BLOCK like the lines: an alert in line order
   * is appended to the last block (a new array for it only); the rare out-of-order, confirmed
   * or withdrawn one replaces the one block it is in. So a new alert costs O(blocks), not O(alerts).
   */
  private alertBlocks: readonly (readonly AlertEntry[])[] = [];
  private alertTotal = 0;
  private alertsChanged = true;
  private recentView: readonly AlertEntry[] = [];
  private readonly alertCounts = new Map<string, number>();
  private alertCountsView: ReadonlyMap<string, number> = new Map();
  private readonly alertKeys = new Set<string>();
  private readonly withdrawn = new Set<string>();
  private briefing: RollingBriefing | undefined;
  private briefingAdded: BriefingDelta | undefined;
  private latency: LatencyReading | undefined;
  private readonly notified = new Set<string>();
  private status: MeetingStatus | undefined;
  private connection: ConnectionState = { kind: 'connecting' };
  private latest: Line | undefined;
  private error: string | undefined;
  private keywords: string[] = [];
  private version = 0;
  private snapshotCache: MeetingSnapshot | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly alertListeners = new Set<(alert: AlertEntry) => void>();
  private scheduled = false;

  constructor(readonly meetingId: string) {}

  /** Listens to the client's events for this meeting; returns the detach function. */
  attach(client: ParleyClient): () => void {
    const mine = (id: string) => id === this.meetingId;
    if (client.connected) this.connection = { kind: 'connected' };
    const offs = [
      client.on('open', () => this.setConnection({ kind: 'connected' })),
      client.on('close', () =>
        this.setConnection(isOffline() ? { kind: 'offline' } : { kind: 'connecting' }),
      ),
      client.on('reconnecting', ({ delayMs }) =>
        this.setConnection(
          isOffline() ? { kind: 'offline' } : { kind: 'reconnecting', at: Date.now() + delayMs },
        ),
      ),
      client.on('subscribed', (e) => {
        if (!mine(e.meetingId)) return;
        this.error = undefined;
        this.setStatus(e.status);
      }),
      client.on('status', (e) => {
        if (mine(e.meetingId)) this.setStatus(e.status);
      }),
      client.on('final', (e) => {
        if (!mine(e.meetingId)) return;
        this.measure(e.segment);
        this.addFinal(e.segment);
      }),
      client.on('interim', (e) => {
        if (!mine(e.meetingId)) return;
        this.measure(e.segment);
        this.addInterim(e.segment);
      }),
      client.on('keyword_alert', (a) => {
        if (!mine(a.meetingId)) return;
        const key = alertKey(a.seq, a.keyword, a.occurrence ?? 0);
        if (a.state === 'withdrawn') {
          this.withdraw(key);
          return;
        }
        const alert: AlertEntry = {
          key,
          seq: a.seq,
          keyword: a.keyword,
          text: a.text,
          state: a.state ?? 'confirmed',
        };
        this.addAlert(alert);
        // Only live alerts notify (a replay has none), each occurrence once.
        if (this.notified.has(key)) return;
        this.notified.add(key);
        for (const fn of this.alertListeners) fn(alert);
      }),
      client.on('briefing_update', (u) => {
        if (!mine(u.meetingId)) return;
        if (this.briefing && this.briefing.coversSeq > u.briefing.coversSeq) return; // an older one
        this.briefing = u.briefing;
        this.briefingAdded = u.added;
        this.changed();
      }),
      client.on('error', (e) => {
        if (e.action !== 'subscribe' && e.code !== 'MEETING_NOT_FOUND') return;
        this.error = e.message;
        this.changed();
      }),
    ];
    const offline = () => this.setConnection({ kind: 'offline' });
    const online = () =>
      this.setConnection(client.connected ? { kind: 'connected' } : { kind: 'connecting' });
    globalThis.addEventListener?.('offline', offline);
    globalThis.addEventListener?.('online', online);
    return () => {
      for (const off of offs) off();
      globalThis.removeEventListener?.('offline', offline);
      globalThis.removeEventListener?.('online', online);
    };
  }

  /** The meeting's keywords (from the REST API; again after `configure`): re-highlights every line. */
  setKeywords(keywords: readonly string[]): void {
    this.keywords = [...keywords];
    this.blocks = this.blocks.map((block) =>
      block.map((line) => {
        this.deriveAlerts(line);
        return { ...line, keywords: this.keywordsIn(line.text) };
      }),
    );
    this.changed();
  }

  private keywordsIn(text: string): string[] {
    return [...new Set(findKeywords(text, this.keywords).map((h) => h.keyword))];
  }

  setStatus(status: MeetingStatus): void {
    this.status = status;
    // An ended meeting finalises nothing more: words still shown as interim will not come.
    if (status === 'ended' || status === 'failed') this.interims.clear();
    this.changed();
  }

  /** Appends a final (also the test hook the benchmark uses to feed finals fast). */
  addFinal(segment: Pick<Segment, 'seq' | 'speaker' | 'text' | 'startMs'>): void {
    if (segment.seq <= this.lastSeq) return; // the client already drops duplicates; stay safe
    for (const seq of this.interims.keys()) if (seq <= segment.seq) this.interims.delete(seq);
    const keywords = this.keywordsIn(segment.text);
    const line: Line = {
      seq: segment.seq,
      speaker: segment.speaker,
      text: segment.text,
      startMs: segment.startMs,
      final: true,
      keywords,
    };
    // New arrays for the list and its last block only (snapshots never change under a reader);
    // full blocks keep their identity, so their memoised rendering is reused.
    const blocks = [...this.blocks];
    const last = blocks.at(-1);
    if (!last || last.length >= BLOCK_SIZE) blocks.push([line]);
    else blocks[blocks.length - 1] = [...last, line];
    this.blocks = blocks;
    this.finalCount++;
    this.lastSeq = segment.seq;
    this.latest = line;
    // Replayed finals carry no keyword_alert: derive those alerts from the meeting's keywords.
    this.deriveAlerts(line);
    this.changed();
  }

  private addInterim(segment: Segment): void {
    if (segment.seq <= this.lastSeq) return;
    this.interims.set(segment.seq, {
      seq: segment.seq,
      speaker: segment.speaker,
      text: segment.text,
      startMs: segment.startMs,
      final: false,
      keywords: [],
    });
    this.changed();
  }

  /** A final's occurrences are confirmed alerts (replays and keywords set later included). */
  private deriveAlerts(line: Pick<Line, 'seq' | 'text'>): void {
    for (const o of occurrences(line.text, this.keywords)) {
      const key = alertKey(line.seq, o.keyword, o.occurrence);
      this.addAlert({ key, seq: line.seq, keyword: o.keyword, text: line.text, state: 'confirmed' });
    }
  }

  private addAlert(alert: AlertEntry): void {
    if (this.alertKeys.has(alert.key)) {
      // A provisional alert confirmed: same entry, final text.
      if (alert.state !== 'confirmed') return;
      const at = this.findAlert(alert.seq, alert.key);
      if (!at || at.block[at.index]?.state === 'confirmed') return;
      this.replaceAlertBlock(
        at.blockIndex,
        at.block.map((a, i) => (i === at.index ? alert : a)),
      );
      return;
    }
    if (alert.state === 'provisional' && this.withdrawn.has(alert.key)) return;
    this.alertKeys.add(alert.key);
    this.alertCounts.set(alert.keyword, (this.alertCounts.get(alert.keyword) ?? 0) + 1);
    this.alertTotal++;
    const blocks = this.alertBlocks;
    const last = blocks.at(-1);
    if (!last || (last.at(-1) as AlertEntry).seq <= alert.seq) {
      // In line order (the usual case): appended; a full last block starts a new one.
      if (last && last.length < ALERT_BLOCK) this.replaceAlertBlock(blocks.length - 1, [...last, alert]);
      else this.replaceAlertBlock(blocks.length, [alert]);
      return;
    }
    // Out of order: into the block it belongs in, after the alerts of lines up to its own.
    const blockIndex = Math.max(0, this.blockAtOrBefore(alert.seq));
    const block = blocks[blockIndex] as readonly AlertEntry[];
    const index = upperBound(block, alert.seq);
    this.replaceAlertBlock(blockIndex, [...block.slice(0, index), alert, ...block.slice(index)]);
  }

  private withdraw(key: string): void {
    this.withdrawn.add(key);
    if (!this.alertKeys.has(key)) return;
    this.alertKeys.delete(key);
    const at = this.findAlert(Number(key.slice(0, key.indexOf(':'))), key);
    if (!at) return;
    const gone = at.block[at.index] as AlertEntry;
    const left = (this.alertCounts.get(gone.keyword) ?? 1) - 1;
    if (left > 0) this.alertCounts.set(gone.keyword, left);
    else this.alertCounts.delete(gone.keyword);
    this.alertTotal--;
    const rest = at.block.filter((_, i) => i !== at.index);
    if (rest.length > 0) this.replaceAlertBlock(at.blockIndex, rest);
    else {
      this.alertBlocks = this.alertBlocks.filter((_, i) => i !== at.blockIndex);
      this.alertsUpdated();
    }
  }

  /** The index of the last alert block whose first alert's line is at or before `seq`, or -1. */
  private blockAtOrBefore(seq: number): number {
    let lo = 0;
    let hi = this.alertBlocks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (((this.alertBlocks[mid] as readonly AlertEntry[])[0] as AlertEntry).seq <= seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi;
  }

  /** Where the alert with this key (on line `seq`) is. */
  private findAlert(
    seq: number,
    key: string,
  ): { blockIndex: number; block: readonly AlertEntry[]; index: number } | undefined {
    // Alerts of one line can straddle blocks: look back from the last block that may hold it.
    for (let b = this.blockAtOrBefore(seq); b >= 0; b--) {
      const block = this.alertBlocks[b] as readonly AlertEntry[];
      for (let i = upperBound(block, seq) - 1; i >= 0 && (block[i] as AlertEntry).seq === seq; i--) {
        if (block[i]?.key === key) return { blockIndex: b, block, index: i };
      }
      if ((block[0] as AlertEntry).seq < seq) return undefined;
    }
    return undefined;
  }

  /** Blocks are never changed once a snapshot holds them: a changed block is a new array. */
  private replaceAlertBlock(index: number, block: AlertEntry[]): void {
    const blocks = [...this.alertBlocks];
    blocks[index] = block;
    this.alertBlocks = blocks;
    this.alertsUpdated();
  }

  private alertsUpdated(): void {
    this.alertsChanged = true;
    this.changed();
  }

  private measure(segment: Segment): void {
    if (!segment.timing) return;
    const receivedAt = Date.now();
    this.latency = { hops: hops(segment.timing, receivedAt), isFinal: segment.isFinal, receivedAt };
  }

  private setConnection(state: ConnectionState): void {
    this.connection = state;
    this.changed();
  }

  onAlert(fn: (alert: AlertEntry) => void): () => void {
    this.alertListeners.add(fn);
    return () => this.alertListeners.delete(fn);
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  snapshot(): MeetingSnapshot {
    if (this.snapshotCache?.version === this.version) return this.snapshotCache;
    if (this.alertsChanged) {
      // The newest one or two blocks: the list grows at its end and drops ALERT_BLOCK at once.
      this.recentView = this.alertBlocks.slice(-2).flat();
      this.alertCountsView = new Map(this.alertCounts);
      this.alertsChanged = false;
    }
    const alertBlocks = this.alertBlocks;
    let allAlerts: readonly AlertEntry[] | undefined;
    this.snapshotCache = {
      version: this.version,
      status: this.status,
      blocks: this.blocks,
      finalCount: this.finalCount,
      lastSeq: this.lastSeq,
      interims: [...this.interims.values()].sort((a, b) => a.seq - b.seq),
      // Flattened only when read (the blocks a snapshot holds never change).
      get alerts() {
        allAlerts ??= alertBlocks.flat();
        return allAlerts;
      },
      alertTotal: this.alertTotal,
      recentAlerts: this.recentView,
      alertCounts: this.alertCountsView,
      briefing: this.briefing,
      briefingAdded: this.briefingAdded,
      latency: this.latency,
      connection: this.connection,
      latest: this.latest,
      error: this.error,
    };
    return this.snapshotCache;
  }

  private changed(): void {
    this.version++;
    if (this.scheduled) return;
    this.scheduled = true;
    const flush = () => {
      this.scheduled = false;
      for (const fn of this.listeners) fn();
    };
    if (typeof document !== 'undefined' && document.hidden) setTimeout(flush, 200);
    else requestAnimationFrame(flush);
  }
}

/** The index of the first alert whose line is after `seq` (binary search). */
function upperBound(alerts: readonly AlertEntry[], seq: number): number {
  let lo = 0;
  let hi = alerts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((alerts[mid] as AlertEntry).seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function alertKey(seq: number, keyword: string, occurrence: number): string {
  return `${seq}:${keyword.toLowerCase()}:${occurrence}`;
}
