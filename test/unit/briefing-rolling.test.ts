import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ExtractiveEngine } from '../../core/briefing/extractive-engine';
import type { TranscriptLine } from '../../core/briefing/model';
import { advanceBriefing, briefingDelta, isEmptyDelta, MAX_ROLLING_ITEMS } from '../../core/briefing/rolling';
import { EMBEDDED_ROLLING_POLICY, isDue, MODEL_ROLLING_POLICY } from '../../core/briefing/rolling-briefings';
import type { StoredRollingBriefing } from '../../core/briefing/rolling-model';
import { occurrences } from '../../core/realtime/keywords';

/** Lines 4 s apart, numbered from `firstSeq`. */
function lines(firstSeq: number, ...items: [speaker: string, text: string][]): TranscriptLine[] {
  return items.map(([speaker, text], i) => ({
    seq: firstSeq + i,
    speaker,
    text,
    startMs: (firstSeq + i) * 4_000,
    endMs: (firstSeq + i) * 4_000 + 3_000,
  }));
}

const engine = new ExtractiveEngine();
const roll = (previous: StoredRollingBriefing | undefined, next: TranscriptLine[]) =>
  advanceBriefing('m1', previous, next, engine, { title: 'Standup' });

describe('the rolling briefing', () => {
  it('finds the standup’s action items and blocker when fed its finals a few at a time', async () => {
    const fixture = JSON.parse(
      readFileSync(path.join(__dirname, '../../fixtures/standup-meeting.json'), 'utf8'),
    ) as { segments: { speaker: string; text: string; startMs: number; endMs: number }[] };
    const all = fixture.segments.map((s, i) => ({ seq: i + 1, ...s }));
    let briefing: StoredRollingBriefing | undefined;
    for (let i = 0; i < all.length; i += 3) briefing = await roll(briefing, all.slice(i, i + 3));
    const whole = await engine.brief(all);

    expect(briefing?.coversSeq).toBe(all.length);
    expect(briefing?.updates).toBe(Math.ceil(all.length / 3));
    // Incremental extraction finds what briefing the whole transcript at once finds.
    expect(briefing?.actionItems).toEqual(whole.actionItems);
    expect(briefing?.blockers).toEqual(whole.blockers);
    expect(briefing?.decisions).toEqual(whole.decisions);
  });

  it('closes a question that the next update’s first final answers', async () => {
    const first = await roll(
      undefined,
      lines(1, ['Ana', 'Should we delay the beta until the crash is fixed']),
    );
    expect(first.openQuestions).toHaveLength(1);
    const second = await roll(first, lines(2, ['Ben', 'No, we decided to ship the beta on Friday anyway']));
    expect(second.openQuestions).toEqual([]);
  });

  it('keeps items from earlier updates that the new finals do not touch', async () => {
    const first = await roll(
      undefined,
      lines(1, ['Ana', 'Ben, please update the release notes by Thursday']),
    );
    const later = lines(
      2,
      ...Array.from({ length: 8 }, (_, i) => ['Ben', `The login screen step ${i} works`] as [string, string]),
    );
    const second = await roll(first, later);
    expect(second.actionItems.map((a) => a.owner)).toEqual(['Ben']);
    expect(second.memory.tail.map((l) => l.seq)).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('announces as new only what the previous briefing did not have', async () => {
    const first = await roll(
      undefined,
      lines(1, ['Ana', 'Ben, please update the release notes by Thursday']),
    );
    const second = await roll(first, lines(2, ['Ken', 'I am blocked on the analytics dashboard']));
    const added = briefingDelta(first, second);
    expect(added.actionItems).toEqual([]);
    expect(added.blockers).toEqual(second.blockers);
    expect(added.blockers.length).toBe(1);
    expect(isEmptyDelta(briefingDelta(second, second))).toBe(true);
  });

  it('keeps at most the newest items of each kind, so an update stays far below the 128 KB message limit', async () => {
    const asks = Array.from(
      { length: MAX_ROLLING_ITEMS + 10 },
      (_, i) => [i % 2 ? 'Ana' : 'Ben', `I will write test plan number ${i} by Friday`] as [string, string],
    );
    const briefing = await roll(undefined, lines(1, ...asks));
    expect(briefing.actionItems.length).toBeLessThanOrEqual(MAX_ROLLING_ITEMS);
    expect(Buffer.byteLength(JSON.stringify(briefing))).toBeLessThan(64 * 1024);
  });
});

describe('when the rolling briefing updates', () => {
  const at = (seconds: number) => seconds * 1000;

  it('updates after enough new finals, or after enough time with at least one', () => {
    const last = { coversSeq: 10, at: at(100) };
    expect(isDue(last, 14, at(104), EMBEDDED_ROLLING_POLICY)).toBe(false);
    expect(isDue(last, 15, at(104), EMBEDDED_ROLLING_POLICY)).toBe(true);
    expect(isDue(last, 11, at(121), EMBEDDED_ROLLING_POLICY)).toBe(true);
    expect(isDue(last, 10, at(500), EMBEDDED_ROLLING_POLICY)).toBe(false);
  });

  it('never asks a model twice within a minute, whatever was said', () => {
    const last = { coversSeq: 10, at: at(100) };
    expect(isDue(last, 200, at(159), MODEL_ROLLING_POLICY)).toBe(false);
    expect(isDue(last, 30, at(160), MODEL_ROLLING_POLICY)).toBe(true);
  });

  it('does not update again for a final it already covers (a redelivered record)', () => {
    expect(isDue({ coversSeq: 20, at: 0 }, 20, at(1_000), EMBEDDED_ROLLING_POLICY)).toBe(false);
  });
});

describe('keyword occurrences', () => {
  it('numbers each keyword’s occurrences in a line separately, in order', () => {
    expect(occurrences('The crash, then the demo crashed, then another crash', ['crash', 'demo'])).toEqual([
      { keyword: 'crash', occurrence: 0, key: 'crash#0' },
      { keyword: 'demo', occurrence: 0, key: 'demo#0' },
      { keyword: 'crash', occurrence: 1, key: 'crash#1' },
    ]);
  });
});
