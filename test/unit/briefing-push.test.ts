import { SUMMARY_PUSH_SPACING_MS, shouldPost, viewersHave } from '../../core/briefing/briefing-push';
import type { BriefContent } from '../../core/briefing/model';
import type { StoredRollingBriefing } from '../../core/briefing/rolling-model';

const have: BriefContent = {
  summary: 'Planning.',
  keyPoints: ['The beta slips a week.'],
  decisions: [],
  actionItems: [{ text: 'Update the notes', owner: 'Ben' }],
  openQuestions: ['Who owns QA?'],
  blockers: [],
  topics: ['beta'],
};

describe('which rolling briefing updates are posted', () => {
  const lastPostAt = 1_000_000;
  const soon = lastPostAt + 10_000;
  const later = lastPostAt + SUMMARY_PUSH_SPACING_MS;

  it('posts the first briefing, and any change to what viewers act on at once', () => {
    expect(shouldPost(undefined, have, lastPostAt, soon)).toBe(true);
    expect(shouldPost(have, { ...have, decisions: ['Ship Monday.'] }, lastPostAt, soon)).toBe(true);
    // A question answered (removed) changes the list as much as a new one.
    expect(shouldPost(have, { ...have, openQuestions: [] }, lastPostAt, soon)).toBe(true);
    expect(
      shouldPost(
        have,
        { ...have, actionItems: [{ text: 'Update the notes', owner: 'Ana' }] },
        lastPostAt,
        soon,
      ),
    ).toBe(true);
  });

  it('holds a summary, key point or topic change alone back until a minute after the last post', () => {
    for (const next of [
      { ...have, summary: 'Planning the beta.' },
      { ...have, keyPoints: ['QA starts Friday.'] },
      { ...have, topics: ['beta', 'qa'] },
    ]) {
      expect(shouldPost(have, next, lastPostAt, soon)).toBe(false);
      expect(shouldPost(have, next, lastPostAt, later)).toBe(true);
    }
  });

  it('never posts an update that changes nothing viewers see', () => {
    expect(shouldPost(have, { ...have }, lastPostAt, later + 1e9)).toBe(false);
  });

  it('compares with what viewers last got, not with a stored update that was held back', () => {
    const stored = {
      ...have,
      summary: 'Held back.',
      memory: { unsent: { posted: have } },
    } as StoredRollingBriefing;
    expect(viewersHave(stored)).toBe(have);
    const posted = { ...have, memory: {} } as StoredRollingBriefing;
    expect(viewersHave(posted)).toBe(posted);
  });
});
