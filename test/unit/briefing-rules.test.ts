import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  commitmentIn,
  isBlocker,
  isDecision,
  isDeferral,
  isQuestion,
  questionText,
  requestIn,
} from '../../core/briefing/cues';
import { findDue, normalizeDue, withoutDue } from '../../core/briefing/due-dates';
import { ExtractiveEngine } from '../../core/briefing/extractive-engine';
import { extractMeetingItems } from '../../core/briefing/meeting-items';
import type { TranscriptLine } from '../../core/briefing/model';
import { matchParticipant, soundKey } from '../../core/briefing/names';
import { answerLines } from '../../core/briefing/retrieval';
import { extractTopics } from '../../core/briefing/topics';
import { toUtterances } from '../../core/briefing/utterances';

/** Lines 4 s apart (a new turn each unless `gapMs` says otherwise). */
function lines(...items: [speaker: string, text: string][]): TranscriptLine[] {
  return items.map(([speaker, text], i) => ({
    seq: i + 1,
    speaker,
    text,
    startMs: i * 4_000,
    endMs: i * 4_000 + 3_000,
  }));
}

function items(transcript: TranscriptLine[]) {
  return extractMeetingItems(toUtterances(transcript), [...new Set(transcript.map((l) => l.speaker))]);
}

describe('due dates', () => {
  it('finds the due date a task was given, without its preposition', () => {
    expect(findDue('please update the release notes by Thursday')?.due).toBe('Thursday');
    expect(findDue('I will order the test devices today')?.due).toBe('today');
    expect(findDue('I will call them tomorrow morning')?.due).toBe('tomorrow morning');
    expect(findDue('I will pair with Ken this afternoon')?.due).toBe('this afternoon');
    expect(findDue('we review it again next week')?.due).toBe('next week');
    expect(findDue('send it before the end of the sprint')?.due).toBe('end of the sprint');
    expect(findDue('ship it on the fifth of March')?.due).toBe('fifth of March');
  });

  it('does not take a day in the past for a due date', () => {
    expect(findDue('yesterday I finished the login screen')).toBeUndefined();
    expect(findDue('we shipped it last Friday')).toBeUndefined();
  });

  it('removes the due date from the task and compares due dates without "by" or case', () => {
    const text = 'update the release notes by Thursday';
    expect(withoutDue(text, findDue(text))).toBe('update the release notes');
    expect(normalizeDue('By Thursday')).toBe(normalizeDue('thursday'));
    expect(normalizeDue(null)).toBeNull();
  });
});

describe('participant names heard by a speech engine', () => {
  it('recognises a name misheard as a word that sounds like it', () => {
    expect(soundKey('Ken')).toBe(soundKey('can'));
    expect(matchParticipant('can', ['Priya', 'Marcus', 'Ken'])).toBe('Ken');
    expect(matchParticipant('Markets', ['Priya', 'Marcus', 'Ken'])).toBe('Marcus');
  });

  it('does not turn an unrelated word into a participant', () => {
    expect(matchParticipant('please', ['Priya', 'Marcus', 'Ken'])).toBeUndefined();
    expect(matchParticipant('then', ['Priya', 'Marcus', 'Ken'])).toBeUndefined();
  });
});

describe('what one sentence does', () => {
  it('recognises questions by their wording when there is no question mark', () => {
    expect(isQuestion('should we delay the beta release until the crash is fixed')).toBe(true);
    expect(isQuestion('who will present the demo to the customer next week')).toBe(true);
    expect(isQuestion('sure one open question who will present the demo')).toBe(true);
    expect(isQuestion('what about the mobile checkout')).toBe(true);
    expect(isQuestion('what we decided is final')).toBe(false);
    expect(isQuestion('we will release on Friday')).toBe(false);
  });

  it('writes a question found inside a run-on sentence from where it starts, with a question mark', () => {
    expect(questionText('sure one open question who will present the demo')).toBe(
      'Who will present the demo?',
    );
    expect(questionText('Should we launch in June.')).toBe('Should we launch in June?');
  });

  it('recognises decisions by how they are announced', () => {
    expect(isDecision('We decided to release the beta version on Friday')).toBe(true);
    expect(isDecision('after talking with legal the decision is to drop the banner')).toBe(true);
    expect(isDecision("for the error page let's go with the new design")).toBe(true);
    expect(isDecision('we should decide this soon')).toBe(false);
  });

  it('recognises what defers a question', () => {
    expect(isDeferral('We will decide that on Monday')).toBe(true);
    expect(isDeferral('I am not sure, we can come back to that next week')).toBe(true);
    expect(isDeferral('Nobody has confirmed that yet')).toBe(true);
    expect(isDeferral('No, we decided to ship on Friday')).toBe(false);
  });

  it('recognises blockers, including things that are late', () => {
    expect(isBlocker('I am blocked on the analytics dashboard')).toBe(true);
    expect(isBlocker("I'm stuck on the translations")).toBe(true);
    expect(isBlocker('The payment integration is late')).toBe(true);
    expect(isBlocker('without those keys I cannot test refunds')).toBe(true);
    expect(isBlocker('The home page is done')).toBe(false);
  });

  it('gives a commitment to the speaker for "I", the named person for a name, and nobody for "we"', () => {
    expect(commitmentIn('Today I will fix the crash on older phones', 'Marcus', [])).toEqual({
      owner: 'Marcus',
      task: 'fix the crash on older phones',
    });
    expect(commitmentIn('Dave should book the venue', 'Bob', [])).toEqual({
      owner: 'Dave',
      task: 'book the venue',
    });
    expect(commitmentIn('we need to ask finance', 'Bob', [])).toEqual({
      owner: undefined,
      task: 'ask finance',
    });
    expect(commitmentIn('Then I can finish the invoice emails by Friday', 'Ravi', [])?.owner).toBe('Ravi');
  });

  it('does not take a need, an offer without a date, or a plan to decide for a commitment', () => {
    expect(commitmentIn('Then I need the test devices by Wednesday', 'Marcus', [])).toBeUndefined();
    expect(commitmentIn('I can see the dashboard', 'Ken', [])).toBeUndefined();
    expect(commitmentIn('We will decide that on Monday', 'Priya', [])).toBeUndefined();
  });

  it('finds who a request is addressed to, even when the engine misheard the name', () => {
    expect(requestIn('Ken, please update the release notes by Thursday.', ['Ken'])).toEqual({
      addressee: 'Ken',
      task: 'update the release notes by Thursday.',
    });
    expect(requestIn('Can please update the release notes by thursday', ['Priya', 'Ken'])?.addressee).toBe(
      'Ken',
    );
    expect(requestIn('could you call the bank and ask for the keys', ['Alice', 'Ravi'])).toEqual({
      addressee: undefined,
      task: 'call the bank and ask for the keys',
    });
  });
});

describe('speaker turns', () => {
  it('joins a sentence the speech engine cut at a pause back to its start', () => {
    const transcript: TranscriptLine[] = [
      { seq: 1, speaker: 'Ken', text: 'Who will present the demo.', startMs: 0, endMs: 1_900 },
      { seq: 2, speaker: 'Ken', text: 'To the customer next week.', startMs: 2_100, endMs: 4_000 },
    ];
    expect(toUtterances(transcript).map((u) => u.text)).toEqual([
      'Who will present the demo to the customer next week.',
    ]);
  });

  it('keeps punctuation inside one line as the sentence boundary it is', () => {
    const transcript = lines(['Alice', 'Good. For the error page, we keep the old design.']);
    expect(toUtterances(transcript).map((u) => u.text)).toEqual([
      'Good.',
      'For the error page, we keep the old design.',
    ]);
  });
});

describe('meeting items in context', () => {
  it('leaves a question open when the reply defers it, and closes it when the reply answers it', () => {
    const found = items(
      lines(
        ['Ken', 'should we delay the beta release until the crash is fixed'],
        ['Priya', 'no we decided to release the beta version on friday'],
        ['Ken', 'who will present the demo to the customer next week'],
        ['Priya', 'we will decide that on monday'],
      ),
    );
    expect(found.openQuestions.map((q) => q.text)).toEqual([
      'Who will present the demo to the customer next week?',
    ]);
    expect(found.decisions.map((d) => d.text)).toEqual(['We decided to release the beta version on friday.']);
    expect(found.actionItems).toEqual([]);
  });

  it('keeps a question nobody answered open', () => {
    const found = items(lines(['Carol', 'Who owns the budget sign-off?'], ['Bob', 'The weather was nice.']));
    expect(found.openQuestions.map((q) => q.text)).toEqual(['Who owns the budget sign-off?']);
  });

  it('turns the answer to a should-we question into a decision when it states the plan', () => {
    const found = items(
      lines(
        ['Lucy', 'Should we launch in all countries at once?'],
        ['Dana', 'No, we will start with Germany and add the rest in June.'],
      ),
    );
    expect(found.decisions.map((d) => d.text)).toEqual([
      'We will start with Germany and add the rest in June.',
    ]);
    expect(found.openQuestions).toEqual([]);
  });

  it('makes a request and its acceptance one action item of the person addressed, due when the owner said', () => {
    const found = items(
      lines(
        ['Priya', 'Marcus, can you help Ken with the data export after lunch?'],
        ['Marcus', 'Yes, I will pair with Ken this afternoon.'],
      ),
    );
    expect(found.actionItems).toEqual([
      { text: 'Help Ken with the data export.', owner: 'Marcus', due: 'this afternoon', seq: 1 },
    ]);
    expect(found.openQuestions).toEqual([]);
  });

  it('gives a request without a name to whoever accepts it', () => {
    const found = items(
      lines(
        ['Alice', 'Could you call the bank and ask for the keys?'],
        ['Ravi', 'Sure, I will call them tomorrow morning.'],
      ),
    );
    expect(found.actionItems).toEqual([
      { text: 'Call the bank and ask for the keys.', owner: 'Ravi', due: 'tomorrow morning', seq: 1 },
    ]);
  });

  it('reports a blocker with who said it and the reason said right after', () => {
    const found = items(lines(['Ravi', 'The payment integration is late. The bank has not sent the keys.']));
    expect(found.blockers.map((b) => b.text)).toEqual([
      'Ravi: The payment integration is late. The bank has not sent the keys.',
    ]);
  });

  it('briefs the labelled standup fixture with every decision, owned and dated action item, and open question', async () => {
    const fixture = JSON.parse(
      readFileSync(path.join(__dirname, '../../fixtures/standup-meeting.json'), 'utf8'),
    ) as { segments: { speaker: string; text: string; startMs: number; endMs: number }[] };
    const transcript = fixture.segments.map((s, i) => ({ ...s, seq: i + 1 }));

    const brief = await new ExtractiveEngine().brief(transcript);

    expect(brief.decisions).toEqual([
      'We decided to release the beta version on Friday, with the crash fix included.',
    ]);
    expect(brief.actionItems).toEqual([
      { text: 'Fix the crash on older phones.', owner: 'Marcus', due: 'today' },
      { text: 'Help Ken with the data export.', owner: 'Marcus', due: 'this afternoon' },
      { text: 'Order the test devices.', owner: 'Priya', due: 'today' },
      { text: 'Update the release notes.', owner: 'Ken', due: 'Thursday' },
    ]);
    expect(brief.openQuestions).toEqual(['Who will present the demo to the customer next week?']);
    expect(brief.blockers).toEqual([
      'Ken: I am blocked on the analytics dashboard, because the data export is broken.',
    ]);
    expect(brief.topics).toEqual(expect.arrayContaining(['data export', 'test devices']));
  });
});

describe('topics', () => {
  it('prefers phrases said more than once over chatter', () => {
    const topics = extractTopics([
      'Good morning team.',
      'The data export is broken.',
      'Can you help with the data export?',
      'Thanks everyone.',
    ]);
    expect(topics[0]).toBe('data export');
    expect(topics).not.toContain('good morning');
  });
});

describe('ask retrieval', () => {
  const meeting = lines(
    ['Alice', "Okay, let's start the sprint planning for the checkout project."],
    ['Ravi', 'The payment integration is late.'],
    ['Mei', 'I will write the test plan for refunds this week.'],
    ['Alice', 'We agreed to move the mobile checkout to the next sprint.'],
  );

  it('finds the line that answers "what is the biggest risk" though they share no word', () => {
    const [best] = answerLines('What is the biggest risk?', meeting, 3);
    expect(best?.line.text).toBe('The payment integration is late.');
  });

  it('answers "who" with the line where someone takes on the task, and "what did we decide" with the decision', () => {
    expect(answerLines('Who is writing the test plan?', meeting, 1)[0]?.line.seq).toBe(3);
    expect(answerLines('What did we decide about mobile?', meeting, 1)[0]?.line.seq).toBe(4);
  });

  it('cites nothing when no line relates to the question', () => {
    expect(answerLines('What about the quantum flux capacitor?', meeting, 3)).toEqual([]);
  });
});
