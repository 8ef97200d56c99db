import { MeetingRepository } from '../../core/meetings/repository';
import { segmentId } from '../../core/pipeline/events';
import { SegmentRepository } from '../../core/transcript/segment-repository';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { type FakeOpenAi, type RecordedRequest, seqsIn, startFakeOpenAi } from '../helpers/openai-server';

/**
 * Briefings and questions through the REST API with the real `openai` client pointed at a local
 * OpenAI-compatible server (test/helpers/openai-server.ts), and answers spoken into the
 * simulated Recall bot's Output Audio.
 */

const MODEL = 'gpt-test-mini';
const CONTEXT_CHARS = 600;

let stack: LocalStack;
let openai: FakeOpenAi;
const tokens: Record<string, string> = {};

async function call(method: string, path: string, user: string, body?: unknown) {
  const res = await fetch(`${stack.urls.rest}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[user]}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field with expect
  return { status: res.status, text, json: JSON.parse(text) as any };
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function userContent(request: RecordedRequest): string {
  return ((request.body.messages as { role: string; content: string }[]) ?? [])
    .filter((m) => m.role === 'user')
    .map((m) => m.content)
    .join('\n');
}

const LINES = [
  ['Alice', 'Thanks for joining, today we plan the spring release of the mobile app.'],
  ['Bob', 'The payment screen still crashes on older phones, so QA needs another week.'],
  ['Alice', 'Then we agreed to move the release date to the second of April.'],
  ['Carol', 'I will write the release notes and share them on Thursday.'],
  ['Bob', 'Who is going to talk to the app store review team about the delay?'],
] as const;

/** A meeting (owned by alice) whose transcript is `count` stored finals. */
async function seededMeeting(
  count: number,
): Promise<{ meetingId: string; addFinal: (seq: number) => Promise<void> }> {
  const created = await call('POST', '/meetings', 'alice', {
    meetingUrl: 'https://zoom.us/j/42',
    title: 'Release planning',
  });
  expect(created.status).toBe(201);
  const meetingId: string = created.json.meetingId;
  const meetings = new MeetingRepository();
  const segments = new SegmentRepository();
  const addFinal = async (seq: number) => {
    const [speaker, text] = LINES[(seq - 1) % LINES.length]!;
    await segments.putFinal(meetingId, {
      id: segmentId(meetingId, seq),
      seq,
      revision: 0,
      text,
      speaker,
      confidence: 0.9,
      startMs: seq * 5_000,
      endMs: seq * 5_000 + 4_000,
      timestamp: new Date().toISOString(),
      isFinal: true,
    });
    await meetings.advanceLastSeq(meetingId, seq);
  };
  for (let seq = 1; seq <= count; seq++) await addFinal(seq);
  return { meetingId, addFinal };
}

describe('REST briefing and questions with OpenAI', () => {
  beforeAll(async () => {
    openai = await startFakeOpenAi();
    Object.assign(process.env, {
      OPENAI_API_KEY: openai.apiKey,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_MODEL: MODEL,
      OPENAI_CONTEXT_CHARS: String(CONTEXT_CHARS),
    });
    stack = await startLocalStack({ speed: 4, logLevel: 'ERROR', reconnectGraceMs: 300 });
    for (const user of ['alice', 'bob']) tokens[user] = await stack.issuer.mintToken(user);
  });

  afterAll(async () => {
    await stack?.stop();
    await openai?.stop();
  });

  beforeEach(() => openai.reset());

  it('briefs a long transcript by map-reduce with structured output, and caches it until the transcript grows', async () => {
    // Prepare: 30 finals of ~90 characters each: far more than the 600-character budget.
    const { meetingId, addFinal } = await seededMeeting(30);

    // Act
    const brief = await call('GET', `/meetings/${meetingId}/brief`, 'alice');

    // Assess: the answer
    expect(brief.status).toBe(200);
    expect(brief.json).toMatchObject({
      engine: `openai:${MODEL}`,
      coversSeq: 30,
      summary: expect.stringMatching(/^Merged \d+ partial briefings\.$/),
      decisions: ['We agreed to ship on Friday.'],
      actionItems: [{ text: 'Send the notes', owner: 'Alice', due: 'Friday' }, { text: 'Book a room' }],
      openQuestions: ['Who owns the budget?'],
      blockers: ['Bob: waiting for the vendor'],
      topics: ['launch date', 'budget'],
    });
    expect(brief.json.actionItems[1]).not.toHaveProperty('owner');

    // Assess: what the model was sent
    const requests = openai.chatRequests();
    for (const request of requests) {
      expect(request.headers.authorization).toBe(`Bearer ${openai.apiKey}`);
      expect(request.body.model).toBe(MODEL);
      expect(request.body.response_format).toMatchObject({
        type: 'json_schema',
        json_schema: {
          name: 'meeting_brief',
          strict: true,
          schema: { type: 'object', additionalProperties: false },
        },
      });
    }
    const maps = requests.filter((r) => !userContent(r).includes('Partial briefings'));
    const reduces = requests.filter((r) => userContent(r).includes('Partial briefings'));
    expect(maps.length).toBeGreaterThan(2);
    expect(reduces.length).toBeGreaterThanOrEqual(1);
    expect(maps.flatMap((r) => seqsIn(userContent(r))).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    expect(userContent(maps[0]!)).toContain('Bob: The payment screen still crashes on older phones');

    // Cached while the transcript does not grow …
    const again = await call('GET', `/meetings/${meetingId}/brief`, 'alice');
    expect(again.json.generatedAt).toBe(brief.json.generatedAt);
    expect(openai.chatRequests()).toHaveLength(requests.length);

    // … and regenerated when it does.
    await addFinal(31);
    const grown = await call('GET', `/meetings/${meetingId}/brief`, 'alice');
    expect(grown.json.coversSeq).toBe(31);
    expect(openai.chatRequests().length).toBeGreaterThan(requests.length);
  });

  it('answers a malformed model answer with a clear 502 and caches nothing', async () => {
    const { meetingId } = await seededMeeting(3);
    openai.queueChat({ content: 'Here is the briefing you asked for: it went well.' });

    const failed = await call('GET', `/meetings/${meetingId}/brief`, 'alice');

    expect(failed.status).toBe(502);
    expect(failed.json).toEqual({
      error: {
        code: 'AI_BAD_RESPONSE',
        message: expect.stringMatching(/^The AI model returned a briefing that is not JSON/),
      },
    });
    const retried = await call('GET', `/meetings/${meetingId}/brief`, 'alice');
    expect(retried.status).toBe(200);
    expect(retried.json.summary).toBe('The team talked through lines 1 to 3.');
  });

  it('answers questions from the transcript, citing only lines that exist', async () => {
    const { meetingId } = await seededMeeting(5);

    const answer = await call('POST', `/meetings/${meetingId}/ask`, 'alice', {
      question: 'When is the release?',
    });

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      answer: expect.stringContaining('Bob said he would handle it'),
      citations: [1, 2],
      engine: `openai:${MODEL}`,
      spoken: false,
    });
    const [request] = openai.chatRequests();
    expect(request?.body.response_format).toMatchObject({
      json_schema: { name: 'meeting_answer', strict: true },
    });
    expect(userContent(request!)).toContain('Question: When is the release?');
    expect(userContent(request!)).toContain(
      'Alice: Then we agreed to move the release date to the second of April.',
    );
  });

  it('speaks the answer into the call through the bot’s Output Audio (owner only)', async () => {
    // Prepare: a live meeting whose simulated bot is in the call.
    const created = await call('POST', '/meetings', 'alice', { meetingUrl: 'local://sample', title: 'Live' });
    const meetingId: string = created.json.meetingId;
    const bot = await waitFor('the bot in the call', () =>
      stack.recall
        .bots()
        .find((b) => b.metadata.parleyMeetingId === meetingId && b.status === 'in_call_recording'),
    );
    await call('POST', `/meetings/${meetingId}/shares`, 'alice', { userId: 'bob' });

    // Act
    const spoken = await call('POST', `/meetings/${meetingId}/ask`, 'alice', {
      question: 'What is this about?',
      speak: true,
    });

    // Assess
    expect(spoken.status).toBe(200);
    expect(spoken.json).toMatchObject({ spoken: true, engine: `openai:${MODEL}` });
    const speech = openai.requests.find((r) => r.path === '/v1/audio/speech');
    expect(speech?.body).toMatchObject({ input: spoken.json.answer, response_format: 'mp3' });
    const played = stack.recall.bot(bot.id)?.outputAudio ?? [];
    expect(played.at(-1)?.equals(openai.mp3)).toBe(true);

    const byReader = await call('POST', `/meetings/${meetingId}/ask`, 'bob', {
      question: 'What?',
      speak: true,
    });
    expect(byReader.status).toBe(403);
    const readerAsks = await call('POST', `/meetings/${meetingId}/ask`, 'bob', { question: 'What?' });
    expect(readerAsks.json.spoken).toBe(false);

    // Once the bot is leaving, nothing can be spoken.
    expect((await call('POST', `/meetings/${meetingId}/leave`, 'alice')).status).toBe(200);
    const tooLate = await call('POST', `/meetings/${meetingId}/ask`, 'alice', {
      question: 'Still there?',
      speak: true,
    });
    expect(tooLate.status).toBe(409);
    expect(tooLate.json.error.code).toBe('BOT_NOT_IN_CALL');
  });
});
