/**
 * Early keyword alerts and the rolling briefing's storage against dynalite: each occurrence is
 * raised once however its interims are delivered (revisions, redelivery, a second fan-out
 * container), and its final confirms or withdraws it; of two updates of the same finals only
 * one is stored.
 */
import { ExtractiveEngine } from '../../core/briefing/extractive-engine';
import { advanceBriefing } from '../../core/briefing/rolling';
import { RollingBriefingRepository } from '../../core/briefing/rolling-repository';
import type { Segment } from '../../core/pipeline/events';
import { AlertRepository } from '../../core/realtime/alert-repository';
import { KeywordAlerts } from '../../core/realtime/keyword-alerts';
import { useEmulators } from '../helpers/emulators';

useEmulators();

function segment(meetingId: string, seq: number, revision: number, text: string, isFinal = false): Segment {
  return {
    id: `${meetingId}:${seq}`,
    seq,
    revision,
    text,
    speaker: 'Ana',
    confidence: 0.9,
    startMs: seq * 1000,
    endMs: seq * 1000 + 900,
    timestamp: new Date().toISOString(),
    isFinal,
  };
}

const summary = (messages: { state: string; keyword: string; occurrence: number }[]) =>
  messages.map((m) => `${m.state}:${m.keyword}#${m.occurrence}`);

describe('early keyword alerts', () => {
  it('raises each occurrence once, from the first interim that shows it, across revisions and containers', async () => {
    const keywords = ['crash', 'beta'];
    const one = new KeywordAlerts(new AlertRepository());
    const other = new KeywordAlerts(new AlertRepository()); // a second fan-out container
    const m = 'alerts-once';

    expect(summary(await one.interim(m, segment(m, 1, 0, 'the cra'), keywords))).toEqual([]);
    expect(summary(await one.interim(m, segment(m, 1, 1, 'the crash'), keywords))).toEqual([
      'provisional:crash#0',
    ]);
    // A later revision, the same revision redelivered, and another container: nothing new.
    expect(await one.interim(m, segment(m, 1, 2, 'the crash on'), keywords)).toEqual([]);
    expect(await one.interim(m, segment(m, 1, 1, 'the crash'), keywords)).toEqual([]);
    expect(await other.interim(m, segment(m, 1, 2, 'the crash on'), keywords)).toEqual([]);
    // A second occurrence and another keyword are new alerts.
    expect(
      summary(await other.interim(m, segment(m, 1, 3, 'the crash on beta, the crash'), keywords)),
    ).toEqual(['provisional:beta#0', 'provisional:crash#1']);
  });

  it('confirms what the final keeps, withdraws what it does not, and confirms occurrences no interim showed', async () => {
    const keywords = ['crash', 'beta', 'demo'];
    const alerts = new KeywordAlerts(new AlertRepository());
    const m = 'alerts-settled';
    await alerts.interim(m, segment(m, 7, 0, 'the crash in beta'), keywords);

    const settled = await alerts.final(
      m,
      segment(m, 7, 1, 'the cash in beta before the demo', true),
      keywords,
    );
    expect(summary(settled).sort()).toEqual(['confirmed:beta#0', 'confirmed:demo#0', 'withdrawn:crash#0']);
    expect(settled.find((a) => a.state === 'withdrawn')?.alertId).toBe(`${m}:7:crash:0`);
    // Another utterance's alerts are not touched by this final.
    expect(await alerts.final(m, segment(m, 8, 0, 'nothing here', true), keywords)).toEqual([]);
  });
});

describe('the rolling briefing store', () => {
  it('keeps one update per span of finals: a second writer of the same finals loses, a later one wins', async () => {
    const repo = new RollingBriefingRepository();
    const engine = new ExtractiveEngine();
    const lines = [
      {
        seq: 1,
        speaker: 'Ana',
        text: 'Ben, please update the release notes by Thursday',
        startMs: 0,
        endMs: 3000,
      },
      { seq: 2, speaker: 'Ben', text: 'Sure, I will do it today', startMs: 4000, endMs: 6000 },
    ];
    const first = await advanceBriefing('rolling-1', undefined, lines, engine, { title: 't' });
    expect(await repo.put(first)).toBe(true);
    expect(await repo.put({ ...first, generatedAt: new Date().toISOString() })).toBe(false);

    const more = [
      { seq: 3, speaker: 'Ken', text: 'I am blocked on the dashboard', startMs: 7000, endMs: 9000 },
    ];
    const second = await advanceBriefing('rolling-1', first, more, engine, { title: 't' });
    expect(await repo.put(second)).toBe(true);
    const stored = await repo.get('rolling-1');
    expect(stored?.coversSeq).toBe(3);
    expect(stored?.updates).toBe(2);
    expect(stored?.memory.tail.map((l) => l.seq)).toEqual([1, 2, 3]);
    // Stored beside the on-request briefing, never in its place.
    expect(await repo.get('rolling-2')).toBeUndefined();
  });
});
