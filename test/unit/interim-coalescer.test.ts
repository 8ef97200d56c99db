import type { PipelineEvent, TranscriptEvent } from '../../core/pipeline/events';
import {
  InterimCoalescer,
  interimWindowMs,
  type KeywordsOf,
  viewerLines,
} from '../../core/pipeline/interim-coalescer';

/** A manual clock and timer queue, so the windows are exact and nothing waits on wall time. */
function manualTime() {
  let now = 0;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
      jest.advanceTimersByTime(ms);
    },
  };
}

function interim(seq: number, revision: number, meetingId = 'm1'): TranscriptEvent {
  return {
    v: 1,
    type: 'transcript',
    meetingId,
    segment: {
      id: `${meetingId}:${seq}`,
      seq,
      revision,
      text: `words ${seq}.${revision}`,
      speaker: 'A',
      confidence: 0.9,
      startMs: 0,
      endMs: 100,
      timestamp: new Date(0).toISOString(),
      isFinal: false,
    },
  };
}

function final(seq: number, meetingId = 'm1'): TranscriptEvent {
  const event = interim(seq, 9, meetingId);
  return { ...event, segment: { ...event.segment, isFinal: true } };
}

/** A coalescer with `windowMs` on a manual clock, and what it published. */
function coalescing(windowMs: number, keywordsOf?: KeywordsOf) {
  const time = manualTime();
  const published: PipelineEvent[] = [];
  const coalescer = new InterimCoalescer((e) => published.push(e), windowMs, time.now, keywordsOf);
  return { time, published, coalescer };
}

const label = (e: PipelineEvent) =>
  e.type === 'transcript'
    ? `${e.segment.isFinal ? 'F' : 'I'}${e.segment.seq}.${e.segment.revision}${e.display ? `:${e.display}` : ''}`
    : e.type;

describe('InterimCoalescer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('publishes every interim at once, shows one per window and re-sends the latest once interims stop', () => {
    // Prepare
    const { time, published, coalescer } = coalescing(250);

    // Act: ten interims 50 ms apart (20 a second), then nothing before the final.
    for (let revision = 0; revision < 10; revision++) {
      coalescer.handle(interim(1, revision));
      time.advance(50);
    }
    time.advance(500);

    // Assess: the interim a window after the last shown one is shown itself; the last skipped
    // one is re-sent a window after it came, as nothing newer came.
    expect(published.map(label)).toEqual([
      'I1.0',
      'I1.1:skip',
      'I1.2:skip',
      'I1.3:skip',
      'I1.4:skip',
      'I1.5',
      'I1.6:skip',
      'I1.7:skip',
      'I1.8:skip',
      'I1.9:skip',
      'I1.9:refresh',
    ]);
    const shown = published.filter((e) => e.type === 'transcript' && e.display !== 'skip');
    expect(shown).toHaveLength(3);
    expect(coalescer.stats).toEqual({
      interims: 10,
      unchanged: 0,
      shown: 2,
      shownWithAlert: 0,
      skipped: 8,
      unqueued: 0,
      refreshed: 1,
      superseded: 1,
    });
  });

  it('at the speech service’s 1 s cadence and a 2 s window shows every other interim and re-sends nothing', () => {
    // Prepare
    const { time, published, coalescer } = coalescing(2_000);

    // Act: an utterance with five interims a second apart, its final, the next utterance's
    // interims a second apart from a second after the final.
    for (let revision = 0; revision < 5; revision++) {
      coalescer.handle(interim(1, revision));
      time.advance(1_000);
    }
    coalescer.handle(final(1));
    for (let revision = 0; revision < 2; revision++) {
      time.advance(1_000);
      coalescer.handle(interim(2, revision));
    }
    time.advance(5_000);

    // Assess: no refresh, as an interim or the final always came before a window passed; the
    // final starts the window too, so the next utterance's first line waits for its end.
    expect(published.map(label)).toEqual([
      'I1.0',
      'I1.1:skip',
      'I1.2',
      'I1.3:skip',
      'I1.4',
      'F1.9',
      'I2.0:skip',
      'I2.1',
    ]);
  });

  it('shows the first interim of an utterance at once when the last final is a window old', () => {
    // Prepare
    const { time, published, coalescer } = coalescing(2_000);

    // Act: a final, a pause longer than the window, the next utterance; then one right behind
    // its final, which waits for the window and ends on its latest text.
    coalescer.handle(interim(1, 0));
    coalescer.handle(final(1));
    time.advance(2_500);
    coalescer.handle(interim(2, 0));
    coalescer.handle(final(2));
    time.advance(100);
    coalescer.handle(interim(3, 0));
    time.advance(5_000);

    // Assess
    expect(published.map(label)).toEqual(['I1.0', 'F1.9', 'I2.0', 'F2.9', 'I3.0:skip', 'I3.0:refresh']);
  });

  it('shows the first interim of an utterance at once and cancels the earlier utterance’s pending refresh', () => {
    // Prepare
    const { time, published, coalescer } = coalescing(2_000);

    // Act: utterance 1 skips its second interim; utterance 2 starts before 1's final (an engine
    // may finalize late) and within the window.
    for (const [seq, revision] of [
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
    ] as const) {
      coalescer.handle(interim(seq, revision));
      time.advance(500);
    }
    time.advance(2_500);

    // Assess
    expect(published.map(label)).toEqual(['I1.0', 'I1.1:skip', 'I2.0', 'I2.1:skip', 'I2.1:refresh']);
    expect(coalescer.stats.superseded).toBe(1);
  });

  it('publishes no interim that repeats its utterance’s last text and speaker, nor an empty one before any text', () => {
    // Prepare
    const { time, published, coalescer } = coalescing(250);
    const said = (seq: number, revision: number, text: string, speaker = 'A'): TranscriptEvent => {
      const event = interim(seq, revision);
      return { ...event, segment: { ...event.segment, text, speaker } };
    };

    // Act: one interim a second, as the speech engine sends them.
    for (const event of [
      said(1, 0, ''), // nothing heard yet
      said(1, 1, 'the budget'),
      said(1, 2, 'the budget'), // a pause: the same words
      said(1, 3, 'the budget', 'B'), // the same words, now given to another speaker
      said(1, 4, 'the budget is'),
      said(2, 0, 'the budget is'), // the next utterance: new line, even with the same words
      said(2, 1, ''), // a revision to nothing after text was shown: viewers must see it
    ]) {
      coalescer.handle(event);
      time.advance(1_000);
    }
    coalescer.handle(final(2));

    // Assess
    expect(published.map(label)).toEqual(['I1.1', 'I1.3', 'I1.4', 'I2.0', 'I2.1', 'F2.9']);
    expect(coalescer.stats.unchanged).toBe(2);
  });

  it('passes a final through at once and cancels the refresh it supersedes', () => {
    // Prepare
    const { time, published, coalescer } = coalescing(250);

    // Act
    coalescer.handle(interim(1, 0));
    time.advance(10);
    coalescer.handle(interim(1, 1));
    time.advance(10);
    coalescer.handle(final(1));
    time.advance(1_000);

    // Assess
    expect(published.map(label)).toEqual(['I1.0', 'I1.1:skip', 'F1.9']);
    expect(coalescer.stats.superseded).toBe(1);
  });

  it('keeps a pending refresh of a later seq when an earlier final arrives, and windows meetings separately', () => {
    // Prepare
    const { time, published, coalescer } = coalescing(250);

    // Act
    coalescer.handle(interim(2, 0));
    coalescer.handle(interim(1, 0, 'm2'));
    time.advance(10);
    coalescer.handle(interim(2, 1));
    coalescer.handle(final(1));
    time.advance(300);

    // Assess
    expect(published.map(label)).toEqual(['I2.0', 'I1.0', 'I2.1:skip', 'F1.9', 'I2.1:refresh']);
  });

  it('publishes pending refreshes on flush and before a meeting ends', () => {
    // Prepare
    const { time, published, coalescer } = coalescing(250);
    coalescer.handle(interim(1, 0, 'a'));
    coalescer.handle(interim(1, 1, 'a'));
    coalescer.handle(interim(1, 0, 'b'));
    coalescer.handle(interim(1, 1, 'b'));

    // Act
    coalescer.handle({ v: 1, type: 'status', meetingId: 'a', status: 'ended', epoch: 2, at: 'now' });
    coalescer.flush();
    time.advance(1_000);

    // Assess
    expect(published.map((e) => `${'meetingId' in e ? e.meetingId : ''}:${label(e)}`)).toEqual([
      'a:I1.0',
      'a:I1.1:skip',
      'b:I1.0',
      'b:I1.1:skip',
      'a:I1.1:refresh',
      'a:status',
      'b:I1.1:refresh',
    ]);
  });

  it('given the keywords, shows an interim inside the window that raises an alert and publishes no other', () => {
    // Prepare: the meeting's keywords as the gateway read them; "budget" added later.
    let keywords: string[] | undefined = ['deal'];
    const { time, published, coalescer } = coalescing(2_000, (meetingId) =>
      meetingId === 'm1' ? keywords : undefined,
    );
    const said = (seq: number, revision: number, text: string, meetingId = 'm1'): TranscriptEvent => {
      const event = interim(seq, revision, meetingId);
      return { ...event, segment: { ...event.segment, text } };
    };

    // Act: interims 250 ms apart (all but the first of each line inside the window).
    const events = [
      said(1, 0, 'we'), // shown
      said(1, 1, 'we have'), // no keyword: not published
      said(1, 2, 'we have a deal'), // "deal" #0 is new: shown (its alert goes out now)
      said(1, 3, 'we have a deal so'), // "deal" #0 again: not published
      said(1, 4, 'we have a deal so deal'), // "deal" #1 is new: shown
      said(1, 5, 'x', 'm2'), // a meeting whose keywords are unknown: shown
      said(1, 6, 'x y', 'm2'), // …and its skipped interims all published (the fan-out reads them)
    ];
    for (const event of events) {
      coalescer.handle(event);
      time.advance(250);
    }
    keywords = ['deal', 'budget'];
    coalescer.handle(said(1, 7, 'we have a deal so deal on budget')); // "budget" #0: shown
    coalescer.handle(final(1));
    keywords = [];
    coalescer.handle(said(2, 0, 'budget')); // right behind the final, no keyword: held
    time.advance(400);
    coalescer.handle(said(2, 1, 'budget deal')); // no keywords any more: not published
    time.advance(5_000);

    // Assess: the last skipped interim of line 2, not published, still ends the line (a refresh).
    expect(published.map((e) => `${'meetingId' in e ? e.meetingId : ''}:${label(e)}`)).toEqual([
      'm1:I1.0',
      'm1:I1.2',
      'm1:I1.4',
      'm2:I1.5',
      'm2:I1.6:skip',
      'm1:I1.7',
      'm1:F1.9',
      'm2:I1.6:refresh',
      'm1:I2.1:refresh',
    ]);
    expect(coalescer.stats).toMatchObject({ shownWithAlert: 3, skipped: 5, unqueued: 4, refreshed: 2 });
  });

  it('shows every interim when the window is 0', () => {
    const published: PipelineEvent[] = [];
    const coalescer = new InterimCoalescer(
      (e) => published.push(e),
      0,
      () => 0,
    );
    for (let revision = 0; revision < 5; revision++) coalescer.handle(interim(1, revision));
    expect(published.map(label)).toEqual(['I1.0', 'I1.1', 'I1.2', 'I1.3', 'I1.4']);
  });
});

describe('viewerLines', () => {
  it('gives no transcript line for a skipped interim and one for a plain or refreshed one', () => {
    expect(viewerLines({ ...interim(1, 1), display: 'skip' })).toEqual([]);
    expect(viewerLines({ ...interim(1, 1), display: 'refresh' })).toHaveLength(1);
    expect(viewerLines(interim(1, 1))[0]).toMatchObject({ type: 'transcript', meetingId: 'm1' });
  });
});

describe('interimWindowMs', () => {
  it('reads INTERIM_WINDOW_MS, defaults to 2 s and rejects nonsense with a clear error', () => {
    expect(interimWindowMs({})).toBe(2_000);
    expect(interimWindowMs({ INTERIM_WINDOW_MS: '0' })).toBe(0);
    expect(() => interimWindowMs({ INTERIM_WINDOW_MS: 'soon' })).toThrow(/INTERIM_WINDOW_MS/);
  });
});
