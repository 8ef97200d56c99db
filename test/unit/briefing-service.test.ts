import type { BriefingEngine, TranscriptLine } from '../../core/briefing/model';
import type { StoredBrief } from '../../core/briefing/repository';
import { answerQuestion, briefMeeting } from '../../core/briefing/service';
import type { StoredSegment } from '../../core/transcript/segment-repository';

const logger = { info: () => undefined, warn: () => undefined };

function segment(seq: number, text = `line ${seq}`): StoredSegment {
  return {
    meetingId: 'm1',
    id: `m1:${seq}`,
    seq,
    text,
    speaker: 'Alice',
    confidence: 1,
    startMs: seq,
    endMs: seq + 1,
    timestamp: 'x',
  };
}

function setup(options: { segments: StoredSegment[]; cached?: StoredBrief; engineName?: string }) {
  const briefed: TranscriptLine[][] = [];
  const stored: StoredBrief[] = [];
  const engine: BriefingEngine = {
    briefEngine: options.engineName ?? 'openai:m',
    askEngine: options.engineName ?? 'openai:m',
    brief: async (lines) => {
      briefed.push([...lines]);
      return {
        summary: `about ${lines.length} lines`,
        keyPoints: [],
        decisions: [],
        actionItems: [],
        openQuestions: [],
        blockers: [],
        topics: [],
      };
    },
    ask: async () => ({ answer: 'an answer', citations: [1] }),
  };
  const deps = {
    segments: {
      async *all() {
        yield* options.segments;
      },
    },
    briefings: {
      get: async () => options.cached,
      put: async (brief: StoredBrief) => {
        stored.push(brief);
        return true;
      },
    },
    engine: async () => engine,
    logger,
  };
  return { deps, briefed, stored };
}

const cached: StoredBrief = {
  meetingId: 'm1',
  summary: 'cached',
  keyPoints: [],
  decisions: [],
  actionItems: [],
  openQuestions: [],
  coversSeq: 3,
  engine: 'openai:m',
  generatedAt: '2026-01-01T00:00:00.000Z',
};

describe('briefMeeting', () => {
  it('returns the cached briefing while the transcript has not grown past it', async () => {
    const { deps, briefed } = setup({ segments: [segment(1), segment(3)], cached });

    const brief = await briefMeeting({ meetingId: 'm1', title: 't', lastSeq: 3 }, deps);

    expect(brief.summary).toBe('cached');
    expect(briefed).toHaveLength(0);
  });

  it('gives a briefing cached before blockers and topics existed empty lists for them', async () => {
    const { deps } = setup({ segments: [segment(1), segment(3)], cached });

    const brief = await briefMeeting({ meetingId: 'm1', title: 't', lastSeq: 3 }, deps);

    expect(brief).toMatchObject({ summary: 'cached', blockers: [], topics: [] });
  });

  it('regenerates and stores a briefing covering the highest seq once the transcript grows', async () => {
    const { deps, briefed, stored } = setup({ segments: [segment(1), segment(3), segment(5)], cached });

    const brief = await briefMeeting({ meetingId: 'm1', title: 't', lastSeq: 5 }, deps);

    expect(brief).toMatchObject({ summary: 'about 3 lines', coversSeq: 5, engine: 'openai:m' });
    expect(briefed[0]?.map((l) => l.seq)).toEqual([1, 3, 5]);
    expect(stored[0]).toMatchObject({ meetingId: 'm1', coversSeq: 5 });
  });

  it('regenerates when the engine changed (OpenAI configured after an embedded briefing)', async () => {
    const { deps, briefed } = setup({
      segments: [segment(1)],
      cached: { ...cached, engine: 'embedded-extractive' },
    });

    await briefMeeting({ meetingId: 'm1', title: 't', lastSeq: 1 }, deps);

    expect(briefed).toHaveLength(1);
  });

  it('calls no engine and caches nothing for a meeting with no transcript yet', async () => {
    const { deps, briefed, stored } = setup({ segments: [segment(1, '   ')] });

    const brief = await briefMeeting({ meetingId: 'm1', title: 't', lastSeq: 0 }, deps);

    expect(brief).toMatchObject({ summary: 'Nothing has been said yet.', coversSeq: 0 });
    expect(briefed).toHaveLength(0);
    expect(stored).toHaveLength(0);
  });
});

describe('answerQuestion', () => {
  it('labels the answer with the engine that wrote it', async () => {
    const { deps } = setup({ segments: [segment(1)], engineName: 'embedded-retrieval' });
    expect(await answerQuestion({ meetingId: 'm1', title: 't' }, 'q?', deps)).toEqual({
      answer: 'an answer',
      citations: [1],
      engine: 'embedded-retrieval',
    });
  });
});
