/**
 * Rolling briefing pushes on the recorded meetings: how many `briefing_update` messages — one
 * API Gateway message per viewer per push — the fan-out sends, by audience size, with the push
 * rules of core/briefing/rolling-briefings.ts and briefing-push.ts (updates spaced by audience /
 * 20 s, at most a minute; new items posted at once, a summary / key point / topic change alone at
 * most once a minute, no change never) against the rules before them (every due update posted,
 * whatever the audience).
 *
 * The meetings of fixtures/ (bench/lib-interim-replay.ts `recordedMeetings`) are played as one
 * live meeting, one after another: each utterance's final at its end (audio time), through the
 * real RollingBriefings with the embedded engine, on virtual time (its `now`), with the stored
 * briefing and the finals held in memory instead of DynamoDB. Instant; no stack, no lock.
 *
 *   npx tsx bench/briefing-push.ts [--audiences 5,100,1000,10000]
 */
import { ExtractiveEngine } from '../core/briefing/extractive-engine';
import { RollingBriefings } from '../core/briefing/rolling-briefings';
import type { StoredRollingBriefing } from '../core/briefing/rolling-model';
import { createLogger } from '../core/logger';
import type { StoredSegment } from '../core/transcript/segment-repository';
import { listArg, markdownTable } from './lib-bench';
import { recordedMeetings } from './lib-interim-replay';

const AUDIENCES = listArg('audiences', [5, 100, 1_000, 10_000]);

interface Final {
  atMs: number;
  segment: StoredSegment;
}

/** The recorded meetings' utterances as one meeting's finals, in time order. */
function finals(meetingId: string): { finals: Final[]; durationMs: number } {
  const out: Final[] = [];
  let offset = 0;
  for (const meeting of recordedMeetings()) {
    for (const s of meeting.segments) {
      const seq = out.length + 1;
      out.push({
        atMs: offset + s.endMs,
        segment: {
          meetingId,
          id: `${meetingId}:${seq}`,
          seq,
          text: s.text,
          speaker: s.speaker,
          confidence: 0.9,
          startMs: offset + s.startMs,
          endMs: offset + s.endMs,
          timestamp: new Date(offset + s.endMs).toISOString(),
        },
      });
    }
    offset += meeting.durationMs;
  }
  return { finals: out, durationMs: offset };
}

interface Counts {
  updates: number;
  pushes: number;
}

/** Plays the finals to `audience` viewers; `legacy`: every update posted, no spacing (before). */
async function play(audience: number, legacy: boolean): Promise<Counts & { durationMs: number }> {
  const meetingId = 'push-replay';
  const { finals: all, durationMs } = finals(meetingId);
  const stored: StoredSegment[] = [];
  let briefing: StoredRollingBriefing | undefined;
  let now = 0;
  const counts: Counts = { updates: 0, pushes: 0 };
  const rolling = new RollingBriefings({
    repo: {
      get: async () => briefing,
      put: async (next) => {
        counts.updates++;
        briefing = next;
        return true;
      },
    },
    segments: {
      async *all(_meetingId: string, after = 0) {
        for (const s of stored) if (s.seq > after) yield s;
      },
    } as never,
    meetings: { get: async () => undefined },
    engine: async () => new ExtractiveEngine(),
    logger: createLogger('bench-briefing-push'),
    now: () => now,
  });
  for (const f of all) {
    now = f.atMs;
    stored.push(f.segment);
    const before = briefing?.updates ?? 0;
    const update = await rolling.afterFinal(meetingId, f.segment.seq, legacy ? 0 : audience);
    if (update || (legacy && (briefing?.updates ?? 0) > before)) counts.pushes++;
  }
  return { ...counts, durationMs };
}

async function main(): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const audience of AUDIENCES) {
    for (const legacy of [true, false]) {
      const { updates, pushes, durationMs } = await play(audience, legacy);
      const perHour = 3_600_000 / durationMs;
      rows.push([
        audience,
        legacy
          ? 'before: every update posted'
          : 'now: spaced by audience; summary-only ≤ 1/min; unchanged never',
        updates,
        pushes,
        (pushes * perHour).toFixed(0),
        (pushes * audience).toLocaleString('en-US'),
        Math.round(pushes * audience * perHour).toLocaleString('en-US'),
      ]);
    }
  }
  const { finals: all, durationMs } = finals('x');
  console.log(
    `# Rolling briefing pushes: the recorded meetings as one ${(durationMs / 1000).toFixed(0)} s meeting, ` +
      `${all.length} finals, embedded engine`,
  );
  console.log('');
  console.log(
    markdownTable(
      [
        'viewers',
        'rules',
        'updates stored',
        'updates posted',
        'posts per viewer-hour',
        'API Gateway messages',
        'messages per meeting-hour',
      ],
      rows,
    ),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
