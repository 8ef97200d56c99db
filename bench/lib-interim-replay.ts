/**
 * Interim coalescing on recorded meetings: how many interim lines — and so API Gateway
 * messages, one per viewer per line — the gateway's InterimCoalescer lets through, against no
 * coalescing, for the interim streams of the recorded meetings in fixtures/ (issue #15.2).
 *
 * The interim stream of a meeting: for every utterance of the fixture's script (speaker turns
 * with their start and end in the recording), an interim each `cadenceMs` of audio from the
 * utterance's start (Deepgram's documented behaviour with `interim_results=true` is one about
 * every second of audio; the local speech engine's default is 1,000 ms too,
 * local/speech-server/server.ts), then the final at the utterance's end. Recall sends one mixed
 * audio stream per meeting, so this is one meeting's stream.
 *
 * The replay runs on virtual time: the coalescer gets a virtual `now`, and its refresh timers a
 * virtual scheduler that stands in for the global `setTimeout`/`clearTimeout` while the replay
 * runs. The whole replay is synchronous (no await), so nothing else in the process can run — or
 * see the stand-ins — before they are put back; the counts are exact and take no wall time.
 *
 *   npx tsx bench/lib-interim-replay.ts [--cadence-ms 1000,500,100] [--windows 250,1000,2000] [--viewers 5]
 *
 * (no stack, no lock needed); bench/fanout.ts prints the same table after its interim phase.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { PipelineEvent } from '../core/pipeline/events';
import { INTERIM_WINDOW_MS, InterimCoalescer } from '../core/pipeline/interim-coalescer';
import { SAMPLE_KEYWORDS } from '../local/sample-meeting';
import { listArg, markdownTable, numArg } from './lib-bench';

interface ScriptSegment {
  speaker: string;
  startMs: number;
  endMs: number;
  text: string;
}

export interface RecordedMeeting {
  name: string;
  durationMs: number;
  segments: ScriptSegment[];
  /** The meeting's keywords (the sample meeting's for meeting-librivox), as the gateway knows them. */
  keywords?: string[];
}

export interface ReplayCounts {
  /** Interims the speech engine sent. */
  interims: number;
  finals: number;
  /** Interim transcript lines viewers get (shown + refreshed); without coalescing = interims. */
  interimLines: number;
  /** Events published to the transcript queue (every interim, every refresh, every final). */
  published: number;
  refreshed: number;
  superseded: number;
}

/** The recorded meetings in fixtures/ (each `*.json` with a `segments` script). */
export function recordedMeetings(dir = path.join(__dirname, '..', 'fixtures')): RecordedMeeting[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.questions.json'))
    .sort()
    .map((f) => {
      const data = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
        durationMs: number;
        segments?: ScriptSegment[];
        keywords?: string[];
      };
      const name = f.replace(/\.json$/, '');
      const keywords = name === 'meeting-librivox' ? SAMPLE_KEYWORDS : (data.keywords ?? []);
      return { name, durationMs: data.durationMs, segments: data.segments ?? [], keywords };
    })
    .filter((m) => m.segments.length > 0);
}

/** The engine's events for a meeting: [audio time ms, event], in time order. */
function engineStream(meeting: RecordedMeeting, cadenceMs: number): [number, PipelineEvent][] {
  const meetingId = `replay-${meeting.name}`;
  const out: [number, PipelineEvent][] = [];
  meeting.segments.forEach((s, i) => {
    const seq = i + 1;
    const words = s.text.split(/\s+/);
    const segment = (revision: number, atMs: number, isFinal: boolean) => ({
      id: `${meetingId}:${seq}`,
      seq,
      revision,
      // The words heard so far (an interim grows with the audio).
      text: words.slice(0, Math.ceil((words.length * (atMs - s.startMs)) / (s.endMs - s.startMs))).join(' '),
      speaker: s.speaker,
      confidence: 0.9,
      startMs: s.startMs,
      endMs: atMs,
      timestamp: new Date(0).toISOString(),
      isFinal,
    });
    let revision = 0;
    for (let at = s.startMs + cadenceMs; at < s.endMs; at += cadenceMs) {
      out.push([at, { v: 1, type: 'transcript', meetingId, segment: segment(revision++, at, false) }]);
    }
    out.push([s.endMs, { v: 1, type: 'transcript', meetingId, segment: segment(revision, s.endMs, true) }]);
  });
  return out.sort((a, b) => a[0] - b[0]);
}

/** Virtual time: a clock and the timers the coalescer sets, run in order as time advances. */
class VirtualTime {
  now = 0;
  private next = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  setTimeout = (fn: () => void, delay?: number): number => {
    const id = this.next++;
    this.timers.set(id, { at: this.now + Math.max(0, delay ?? 0), fn });
    return id;
  };

  clearTimeout = (id?: number): void => {
    if (id !== undefined) this.timers.delete(id);
  };

  /** Runs every timer due by `t` (in due order), then sets the clock to `t`. */
  advanceTo(t: number): void {
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= t && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = t;
  }
}

/** Replays one meeting's interim stream through an InterimCoalescer with `windowMs` (0 = off). */
export function replay(meeting: RecordedMeeting, cadenceMs: number, windowMs: number): ReplayCounts {
  const stream = engineStream(meeting, cadenceMs);
  const counts: ReplayCounts = {
    interims: 0,
    finals: 0,
    interimLines: 0,
    published: 0,
    refreshed: 0,
    superseded: 0,
  };
  const time = new VirtualTime();
  const g = globalThis as unknown as { setTimeout: unknown; clearTimeout: unknown };
  const saved = { setTimeout: g.setTimeout, clearTimeout: g.clearTimeout };
  g.setTimeout = time.setTimeout;
  g.clearTimeout = time.clearTimeout;
  try {
    const coalescer = new InterimCoalescer(
      (event) => {
        counts.published++;
        if (event.type === 'transcript' && !event.segment.isFinal && event.display !== 'skip')
          counts.interimLines++;
      },
      windowMs,
      () => time.now,
      // The gateway knows its meetings' keywords (skipped interims that raise none are not queued).
      meeting.keywords ? () => meeting.keywords : undefined,
    );
    for (const [at, event] of stream) {
      time.advanceTo(at);
      if (event.type === 'transcript') {
        if (event.segment.isFinal) counts.finals++;
        else counts.interims++;
      }
      coalescer.handle(event); // window 0: every interim is shown
    }
    time.advanceTo(meeting.durationMs + 60_000); // any refresh still due
    counts.refreshed = coalescer.stats.refreshed;
    counts.superseded = coalescer.stats.superseded;
  } finally {
    g.setTimeout = saved.setTimeout;
    g.clearTimeout = saved.clearTimeout;
  }
  return counts;
}

/** The markdown section: every recorded meeting together, per cadence and window. */
export function replayReport(cadences: number[], windows: number[], viewers: number): string {
  const meetings = recordedMeetings();
  const audioMs = meetings.reduce((n, m) => n + m.durationMs, 0);
  const speechMs = meetings.reduce((n, m) => n + m.segments.reduce((k, s) => k + s.endMs - s.startMs, 0), 0);
  const rows: (string | number)[][] = [];
  for (const cadence of cadences) {
    const sum = (windowMs: number) =>
      meetings
        .map((m) => replay(m, cadence, windowMs))
        .reduce((a, b) => ({
          interims: a.interims + b.interims,
          finals: a.finals + b.finals,
          interimLines: a.interimLines + b.interimLines,
          published: a.published + b.published,
          refreshed: a.refreshed + b.refreshed,
          superseded: a.superseded + b.superseded,
        }));
    const off = sum(0);
    for (const windowMs of [0, ...windows]) {
      const c = windowMs === 0 ? off : sum(windowMs);
      const messages = (c.interimLines + c.finals) * viewers;
      const offMessages = (off.interimLines + off.finals) * viewers;
      rows.push([
        `${cadence} ms`,
        windowMs === 0 ? 'off' : `${windowMs} ms${windowMs === INTERIM_WINDOW_MS ? ' (default)' : ''}`,
        c.interims,
        c.finals,
        c.interimLines,
        c.refreshed,
        c.published,
        messages,
        windowMs === 0 ? '—' : `${((100 * (offMessages - messages)) / offMessages).toFixed(0)} %`,
      ]);
    }
  }
  return [
    `## Interims of the recorded meetings (fixtures/: ${meetings.length} meetings, ${(audioMs / 1000).toFixed(0)} s of audio, ` +
      `${(speechMs / 1000).toFixed(0)} s of speech), ${viewers} viewers`,
    '',
    'An interim every cadence of audio within each utterance, the final at its end (Deepgram: about every ' +
      '1,000 ms; the local engine: 1,000 ms); replayed through the InterimCoalescer on virtual time.',
    '',
    markdownTable(
      [
        'interim cadence',
        'window',
        'interims',
        'finals',
        'interim lines to viewers',
        'refreshes',
        'SQS messages',
        `API Gateway messages (lines + finals) × ${viewers}`,
        'saved',
      ],
      rows,
    ),
  ].join('\n');
}

if (require.main === module) {
  console.log(
    replayReport(
      listArg('cadence-ms', [1000, 500, 100]),
      listArg('windows', [1000, 1500, INTERIM_WINDOW_MS, 3000]),
      numArg('viewers', 5),
    ),
  );
}
