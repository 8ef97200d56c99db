/**
 * Briefing a meeting and answering questions about it, whichever engine is configured.
 * Briefings are cached per meeting with the seq they cover and regenerated only when the
 * transcript has grown past it (or the engine changed).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Meeting } from '../meetings/model';
import type { SegmentRepository } from '../transcript/segment-repository';
import type { Answer, BriefContent, BriefingEngine, TranscriptLine } from './model';
import type { BriefingRepository, StoredBrief } from './repository';

export interface BriefingDeps {
  segments: Pick<SegmentRepository, 'all'>;
  engine: () => Promise<BriefingEngine>;
  logger: Pick<Logger, 'info' | 'warn'>;
}

export interface Brief extends BriefContent {
  coversSeq: number;
  engine: string;
  generatedAt: string;
}

const EMPTY_BRIEF: BriefContent = {
  summary: 'Nothing has been said yet.',
  keyPoints: [],
  decisions: [],
  actionItems: [],
  openQuestions: [],
  blockers: [],
  topics: [],
};

export async function transcriptLines(
  segments: Pick<SegmentRepository, 'all'>,
  meetingId: string,
): Promise<TranscriptLine[]> {
  const lines: TranscriptLine[] = [];
  for await (const s of segments.all(meetingId)) {
    if (s.text.trim() === '') continue;
    lines.push({ seq: s.seq, speaker: s.speaker, text: s.text, startMs: s.startMs, endMs: s.endMs });
  }
  return lines;
}

function fromStored(stored: StoredBrief): Brief {
  return {
    summary: stored.summary,
    keyPoints: stored.keyPoints ?? [],
    decisions: stored.decisions ?? [],
    actionItems: stored.actionItems ?? [],
    openQuestions: stored.openQuestions ?? [],
    // Briefings stored before these fields existed have none.
    blockers: stored.blockers ?? [],
    topics: stored.topics ?? [],
    coversSeq: stored.coversSeq,
    engine: stored.engine,
    generatedAt: stored.generatedAt,
  };
}

export async function briefMeeting(
  meeting: Pick<Meeting, 'meetingId' | 'title' | 'lastSeq'>,
  deps: BriefingDeps & { briefings: Pick<BriefingRepository, 'get' | 'put'> },
): Promise<Brief> {
  const engine = await deps.engine();
  const fresh = (stored: StoredBrief | undefined, seq: number): stored is StoredBrief =>
    stored !== undefined && stored.engine === engine.briefEngine && stored.coversSeq >= seq;

  const cached = await deps.briefings.get(meeting.meetingId);
  if (fresh(cached, meeting.lastSeq ?? 0)) return fromStored(cached);

  const lines = await transcriptLines(deps.segments, meeting.meetingId);
  const coversSeq = lines.reduce((max, l) => Math.max(max, l.seq), 0);
  // The transcript read may be no newer than the cache (lastSeq is advanced after the store).
  if (fresh(cached, coversSeq) && lines.length > 0) return fromStored(cached);

  // Nothing said yet: nothing to send to a model.
  const content = lines.length === 0 ? EMPTY_BRIEF : await engine.brief(lines, { title: meeting.title });
  const brief: Brief = {
    ...content,
    coversSeq,
    engine: engine.briefEngine,
    generatedAt: new Date().toISOString(),
  };
  if (lines.length > 0) {
    await deps.briefings.put({ meetingId: meeting.meetingId, ...brief }).catch((error: unknown) => {
      deps.logger.warn('briefing not cached', { meetingId: meeting.meetingId, error: String(error) });
    });
  }
  return brief;
}

export async function answerQuestion(
  meeting: Pick<Meeting, 'meetingId' | 'title'>,
  question: string,
  deps: BriefingDeps,
): Promise<Answer & { engine: string }> {
  const engine = await deps.engine();
  const lines = await transcriptLines(deps.segments, meeting.meetingId);
  const answer =
    lines.length === 0
      ? { answer: 'Nothing has been said in this meeting yet.', citations: [] }
      : await engine.ask(question, lines, { title: meeting.title });
  return { ...answer, engine: engine.askEngine };
}
