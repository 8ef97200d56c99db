import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ExtractiveEngine } from '../../core/briefing/extractive-engine';
import type { TranscriptLine } from '../../core/briefing/model';
import { Bm25Index } from '../../core/briefing/retrieval';
import { contentTokens, splitSentences, stem } from '../../core/briefing/text';

const fixture = JSON.parse(
  readFileSync(path.join(__dirname, '../../fixtures/meeting-librivox.json'), 'utf8'),
) as { segments: { speaker: string; startMs: number; endMs: number; text: string }[] };

/** The fixture's reference text as the transcript the engine would read. */
const fixtureLines: TranscriptLine[] = fixture.segments.map((s, i) => ({
  seq: i + 1,
  speaker: s.speaker,
  text: s.text,
  startMs: s.startMs,
  endMs: s.endMs,
}));

function lines(...items: [speaker: string, text: string][]): TranscriptLine[] {
  return items.map(([speaker, text], i) => ({
    seq: (i + 1) * 2,
    speaker,
    text,
    startMs: i * 5000,
    endMs: i * 5000 + 4000,
  }));
}

const planning = lines(
  ['Alice', 'Welcome everyone. Today is about the launch date and the budget for the campaign.'],
  ['Bob', 'The campaign budget is still open because marketing has not sent the numbers.'],
  ['Alice', 'After some back and forth we agreed to launch the campaign on the fifth of March.'],
  ['Carol', 'I will send the launch checklist to everyone by Friday.'],
  ['Bob', 'Dave should book the venue for the launch event.'],
  ['Alice', "Let's review the budget numbers again next week."],
  ['Carol', 'Who owns the final budget sign-off?'],
  ['Bob', 'The weather was nice this morning.'],
);

describe('embedded extractive briefing', () => {
  const engine = new ExtractiveEngine();

  it('names its engine and summarises the fixture meeting with sentences from its transcript', async () => {
    // Act
    const brief = await engine.brief(fixtureLines);

    // Assess
    expect(engine.briefEngine).toBe('embedded-extractive');
    expect(brief.summary.length).toBeGreaterThan(20);
    const transcriptWords = new Set(fixtureLines.flatMap((l) => l.text.toLowerCase().split(/\s+/)));
    const summaryWords = brief.summary.toLowerCase().replace(/[.!?]/g, '').split(/\s+/);
    expect(summaryWords.every((w) => transcriptWords.has(w))).toBe(true);
    expect(brief.keyPoints.length).toBeGreaterThan(0);
    expect(brief.keyPoints.every((p) => /^(Alice|Bob): /.test(p))).toBe(true);
    expect(brief).toEqual(
      expect.objectContaining({ decisions: [], actionItems: [], openQuestions: [], blockers: [] }),
    );
  });

  it('finds decisions, owned action items and open questions by their cue phrases', async () => {
    const brief = await engine.brief(planning);

    expect(brief.decisions).toEqual([
      'After some back and forth we agreed to launch the campaign on the fifth of March.',
    ]);
    expect(brief.actionItems).toEqual([
      { text: 'Send the launch checklist to everyone.', owner: 'Carol', due: 'Friday' },
      { text: 'Book the venue for the launch event.', owner: 'Dave' },
      { text: 'Review the budget numbers again.', due: 'next week' },
    ]);
    expect(brief.openQuestions).toEqual(['Who owns the final budget sign-off?']);
  });

  it('ranks on-topic sentences above small talk', async () => {
    const brief = await engine.brief(planning);

    expect(brief.summary).toMatch(/campaign|budget|launch/i);
    expect(brief.summary).not.toMatch(/weather/);
  });

  it('treats unpunctuated lines that start like questions as questions', async () => {
    const brief = await engine.brief(
      lines(['Bob', 'should we move the release to next quarter'], ['Alice', 'maybe']),
    );
    expect(brief.openQuestions).toEqual(['Should we move the release to next quarter?']);
  });

  it('says so when nothing has been said yet', async () => {
    const brief = await engine.brief([]);
    expect(brief.summary).toBe('Nothing has been said yet.');
    expect(brief.keyPoints).toEqual([]);
  });
});

describe('embedded retrieval answers', () => {
  const engine = new ExtractiveEngine();

  it('quotes the most relevant lines and cites their seqs, best first', async () => {
    const answer = await engine.ask('What was agreed about the launch?', planning);

    expect(engine.askEngine).toBe('embedded-retrieval');
    expect(answer.citations[0]).toBe(6);
    expect(answer.answer).toContain(
      '“After some back and forth we agreed to launch the campaign on the fifth of March.”',
    );
    expect(answer.answer).toContain('Alice (0:10)');
  });

  it('answers honestly when nothing matches', async () => {
    expect(await engine.ask('What about the quantum flux capacitor?', planning)).toEqual({
      answer: 'Nothing in the transcript matches that question.',
      citations: [],
    });
  });
});

describe('text tools', () => {
  it('stems inflections together and drops stop words', () => {
    expect(stem('decided')).toBe(stem('decide'));
    expect(stem('budgets')).toBe(stem('budget'));
    expect(contentTokens('We have decided the budgets')).toEqual([stem('decided'), stem('budgets')]);
  });

  it('splits punctuated text into sentences and keeps unpunctuated text whole', () => {
    expect(splitSentences('One thing. Another? Yes!')).toEqual(['One thing.', 'Another?', 'Yes!']);
    expect(splitSentences('no punctuation at all here')).toEqual(['no punctuation at all here']);
  });

  it('scores with BM25: rarer matching terms weigh more', () => {
    const index = new Bm25Index(planning);
    const [best] = index.search('venue');
    expect(best?.line.seq).toBe(10);
  });
});
