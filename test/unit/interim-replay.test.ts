import { type RecordedMeeting, recordedMeetings, replay } from '../../bench/lib-interim-replay';

/** `n` distinct words. */
const words = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`).join(' ');

/**
 * One 10-second utterance and one 2.5-second one, 5 s apart, ten words a second: at a 100 ms
 * cadence every interim has a new word, so none repeats its predecessor (the coalescer does not
 * publish an interim that repeats the last one).
 */
const meeting: RecordedMeeting = {
  name: 'two-utterances',
  durationMs: 20_000,
  segments: [
    { speaker: 'Alice', startMs: 0, endMs: 10_000, text: words(100, 'a') },
    { speaker: 'Bob', startMs: 15_000, endMs: 17_500, text: words(25, 'b') },
  ],
};

/** Three words over 3 s: at a 100 ms cadence most interims repeat the one before. */
const slowSpeech: RecordedMeeting = {
  name: 'slow-speech',
  durationMs: 5_000,
  segments: [{ speaker: 'Alice', startMs: 0, endMs: 3_000, text: 'one two three' }],
};

describe('interim replay of recorded meetings (bench/lib-interim-replay.ts)', () => {
  it('shows every interim when coalescing is off, and publishes each event once', () => {
    const counts = replay(meeting, 100, 0);
    // Interims at 100, 200, … 9,900 ms (99) and 15,100 … 17,400 ms (24); two finals.
    expect(counts).toMatchObject({
      interims: 123,
      finals: 2,
      interimLines: 123,
      published: 125,
      refreshed: 0,
    });
  });

  it('caps interim lines at one per window of speech and ends each utterance on a final, not a refresh', () => {
    const counts = replay(meeting, 100, 250);
    // At most one line per 250 ms of speech: 40 in the first 10 s, 10 in the 2.5 s reply; at
    // least one per window + cadence (the first interim a window after the last shown is shown).
    expect(counts.interimLines).toBeLessThanOrEqual(50);
    expect(counts.interimLines).toBeGreaterThanOrEqual(Math.floor(9_900 / 350) + Math.floor(2_400 / 350));
    // Every skipped interim is still published (alerts), plus any refresh.
    expect(counts.published).toBe(counts.interims + counts.finals + counts.refreshed);
    expect(counts.superseded).toBeGreaterThanOrEqual(1);
  });

  it('publishes no interim that repeats the one before it', () => {
    const counts = replay(slowSpeech, 100, 0);
    // Interims at 100 … 2,900 ms (29) carry one, two, then three words: three distinct texts.
    expect(counts).toMatchObject({ interims: 29, finals: 1, interimLines: 3, published: 4 });
  });

  it('saves nothing when interims already come no faster than the window', () => {
    expect(replay(meeting, 1000, 250).interimLines).toBe(replay(meeting, 1000, 0).interimLines);
  });

  it('puts the real timers back after replaying', () => {
    const before = globalThis.setTimeout;
    replay(meeting, 100, 250);
    expect(globalThis.setTimeout).toBe(before);
  });

  it('reads the scripts of the recorded meetings in fixtures/', () => {
    const meetings = recordedMeetings();
    expect(meetings.length).toBeGreaterThanOrEqual(1);
    for (const m of meetings) expect(m.segments.every((s) => s.endMs > s.startMs)).toBe(true);
  });
});
