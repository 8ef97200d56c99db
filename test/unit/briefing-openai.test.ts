import OpenAI from 'openai';
import type { TranscriptLine } from '../../core/briefing/model';
import { OpenAiEngine, spokenText } from '../../core/briefing/openai-engine';
import { looksLikeMp3 } from '../../core/recall/mp3';
import { type FakeOpenAi, seqsIn, startFakeOpenAi } from '../helpers/openai-server';

/**
 * The OpenAI engine with the real `openai` client against test/helpers/openai-server.ts, a
 * local server speaking OpenAI's chat completions and speech API.
 */

const TEXTS = [
  'Let us start with the roadmap for the next quarter.',
  'Bob will own the mobile release and report back on Monday.',
  'We agreed to move the billing migration to April.',
  'Is the security review done yet?',
  'Not yet, Carol is still waiting for the vendor.',
  'Then we should chase the vendor this week.',
];

function transcript(count: number): TranscriptLine[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: i + 1,
    speaker: i % 2 === 0 ? 'Alice' : 'Bob',
    text: TEXTS[i % TEXTS.length]!,
    startMs: i * 4_000,
    endMs: i * 4_000 + 3_500,
  }));
}

function userContent(body: Record<string, unknown>): string {
  return ((body.messages as { role: string; content: string }[]) ?? [])
    .filter((m) => m.role === 'user')
    .map((m) => m.content)
    .join('\n');
}

describe('OpenAI briefing engine', () => {
  let server: FakeOpenAi;
  let client: OpenAI;

  beforeAll(async () => {
    server = await startFakeOpenAi();
    client = new OpenAI({ apiKey: server.apiKey, baseURL: server.baseUrl, maxRetries: 0, timeout: 5_000 });
  });
  afterAll(() => server.stop());
  beforeEach(() => server.reset());

  function engine(contextChars = 100_000): OpenAiEngine {
    return new OpenAiEngine({
      client,
      config: {
        model: 'gpt-4o-mini',
        ttsModel: 'gpt-4o-mini-tts',
        ttsVoice: 'alloy',
        contextChars,
        mapConcurrency: 2,
      },
    });
  }

  it('sends the whole transcript with a strict json_schema and returns the validated briefing', async () => {
    // Act
    const brief = await engine().brief(transcript(6), { title: 'Planning' });

    // Assess
    const [request, ...more] = server.chatRequests();
    expect(more).toHaveLength(0);
    expect(request?.body.model).toBe('gpt-4o-mini');
    const format = request?.body.response_format as {
      type: string;
      json_schema: { name: string; strict: boolean; schema: Record<string, unknown> };
    };
    expect(format.type).toBe('json_schema');
    expect(format.json_schema.name).toBe('meeting_brief');
    expect(format.json_schema.strict).toBe(true);
    expect(format.json_schema.schema).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['summary', 'keyPoints', 'decisions', 'actionItems', 'openQuestions', 'blockers', 'topics'],
    });
    // The same shape as the embedded engine: every action item has an owner and a due date (or null).
    expect(format.json_schema.schema).toMatchObject({
      properties: {
        actionItems: { items: { required: ['text', 'owner', 'due'], additionalProperties: false } },
      },
    });
    const system = (request!.body.messages as { role: string; content: string }[])[0]!.content;
    expect(system).toMatch(/no punctuation/);
    const text = userContent(request!.body);
    expect(text).toContain('Meeting: Planning');
    expect(text).toContain('[#2 0:04] Bob: Bob will own the mobile release and report back on Monday.');
    expect(seqsIn(text)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(brief).toEqual({
      summary: 'The team talked through lines 1 to 6.',
      keyPoints: ['Point from line 1', 'Point from line 2'],
      decisions: ['We agreed to ship on Friday.'],
      actionItems: [{ text: 'Send the notes', owner: 'Alice', due: 'Friday' }, { text: 'Book a room' }],
      openQuestions: ['Who owns the budget?'],
      blockers: ['Bob: waiting for the vendor'],
      topics: ['launch date', 'budget'],
    });
  });

  it('briefs a transcript longer than its budget by map (chunks) then reduce', async () => {
    // Prepare: 40 lines of ~70 characters against a 600-character budget.
    const lines = transcript(40);

    // Act
    const brief = await engine(600).brief(lines, { title: 'Long meeting' });

    // Assess
    const requests = server.chatRequests();
    const maps = requests.filter((r) => !userContent(r.body).includes('Partial briefings'));
    const reduces = requests.filter((r) => userContent(r.body).includes('Partial briefings'));
    expect(maps.length).toBeGreaterThan(3);
    expect(reduces.length).toBeGreaterThanOrEqual(1);
    // Every line is briefed exactly once, in chunks that fit the budget.
    const covered = maps.flatMap((r) => seqsIn(userContent(r.body))).sort((a, b) => a - b);
    expect(covered).toEqual(lines.map((l) => l.seq));
    for (const map of maps) {
      const transcriptPart = userContent(map.body).split('Transcript:\n')[1] ?? '';
      expect(transcriptPart.length).toBeLessThanOrEqual(600);
      expect(userContent(map.body)).toMatch(/This is part \d+ of \d+/);
    }
    expect(brief.summary).toMatch(/^Merged \d+ partial briefings\.$/);
  });

  it('turns a malformed model answer into AI_BAD_RESPONSE (502)', async () => {
    const bad = [
      { content: 'Sure! Here is your briefing: the meeting was great.' },
      { content: JSON.stringify({ summary: 'x', keyPoints: 'not a list' }) },
      {
        content: JSON.stringify({
          summary: '',
          keyPoints: [],
          decisions: [],
          actionItems: [],
          openQuestions: [],
          blockers: [],
          topics: [],
        }),
      },
      { content: '{"summary": "cut', finishReason: 'length' },
    ];
    for (const reply of bad) {
      server.queueChat(reply);
      await expect(engine().brief(transcript(3), { title: 't' })).rejects.toMatchObject({
        name: 'UpstreamError',
        code: 'AI_BAD_RESPONSE',
        status: 502,
      });
    }
  });

  it('reports refusals and HTTP failures of the AI service as 502 with their own codes', async () => {
    server.queueChat({ refusal: 'I cannot help with that.' });
    await expect(engine().brief(transcript(2), { title: 't' })).rejects.toMatchObject({
      code: 'AI_REFUSED',
      status: 502,
    });

    server.queueChat({ status: 500, error: { message: 'The server had an error', type: 'server_error' } });
    const failure: unknown = await engine()
      .brief(transcript(2), { title: 't' })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'AI_UNAVAILABLE', status: 502 });
    expect((failure as Error).message).not.toContain(server.apiKey);
  });

  it('answers from the transcript and keeps only citations of lines it was given', async () => {
    const answer = await engine().ask('Who owns the mobile release?', transcript(6), { title: 'Planning' });

    const request = server.chatRequests()[0]!;
    const format = request.body.response_format as { json_schema: { name: string; strict: boolean } };
    expect(format.json_schema).toMatchObject({ name: 'meeting_answer', strict: true });
    expect(userContent(request.body)).toContain('Question: Who owns the mobile release?');
    expect(answer.citations).toEqual([1, 2]);
    expect(answer.answer).toMatch(/Bob said he would handle it/);
  });

  it('sends only the lines most relevant to a question when the transcript does not fit', async () => {
    await engine(400).ask('What happened to the billing migration?', transcript(40), { title: 'Planning' });

    const text = userContent(server.chatRequests()[0]!.body);
    expect(text).toContain('the lines most relevant to the question');
    expect(text).toContain('We agreed to move the billing migration to April.');
    expect(seqsIn(text).length).toBeLessThan(40);
  });

  it('speaks text as MP3 through the speech API', async () => {
    const mp3 = await engine().speak('Bob owns the mobile release.');

    const request = server.requests.find((r) => r.path === '/v1/audio/speech');
    expect(request?.body).toMatchObject({
      model: 'gpt-4o-mini-tts',
      voice: 'alloy',
      input: 'Bob owns the mobile release.',
      response_format: 'mp3',
    });
    expect(mp3.equals(server.mp3)).toBe(true);
    expect(looksLikeMp3(mp3)).toBe(true);
  });

  it('keeps spoken text short, cut at a sentence end', () => {
    const long = `${'This sentence is exactly fifty characters long ok. '.repeat(40)}`;
    const spoken = spokenText(long);
    expect(spoken.length).toBeLessThanOrEqual(1_500);
    expect(spoken.endsWith('ok.')).toBe(true);
  });
});
