/**
 * The rolling briefing of a live meeting: updated as finals arrive, each update reading only the
 * finals since the previous one (docs/architecture.md "Rolling briefing").
 *
 * - Embedded engine: decisions, action items, open questions and blockers are extracted over the
 *   new finals plus the last TAIL_LINES lines before them (the rules read a question with its
 *   replies, a request with its acceptance); items found in that window replace the ones the
 *   previous update found there, older items stay. Summary and key points are TextRank over the
 *   previous key points and the new lines; topics RAKE over the previous topics and the new lines.
 * - Any other engine (OpenAI): one request over the previous briefing (as one line) and the new
 *   finals, so a request's size is bounded by the briefing plus what was said since — not by
 *   the meeting's length.
 *
 * Clients get the same content shape as `GET /meetings/{id}/brief`, plus `coversSeq` and `updates`.
 */
import { ExtractiveEngine } from './extractive-engine';
import { extractMeetingItems } from './meeting-items';
import {
  type ActionItem,
  type BriefContent,
  type BriefingEngine,
  EMBEDDED_BRIEF_ENGINE,
  type TranscriptLine,
} from './model';
import type { BriefingDelta, RollingMemory, SeqItem, StoredRollingBriefing } from './rolling-model';
import { extractTopics } from './topics';
import { toUtterances } from './utterances';

/** Lines before the new finals that the extraction rules read again for context. */
export const TAIL_LINES = 6;
/** Longest list the rolling briefing keeps per field (newest kept): messages stay far below 128 KB. */
export const MAX_ROLLING_ITEMS = 25;
const MAX_ITEM_CHARS = 400;

/** The briefing after `newLines` (finals after `previous.coversSeq`, in order). */
export async function advanceBriefing(
  meetingId: string,
  previous: StoredRollingBriefing | undefined,
  newLines: readonly TranscriptLine[],
  engine: BriefingEngine,
  context: { title: string; now?: Date },
): Promise<StoredRollingBriefing> {
  const lastSeq = newLines.at(-1)?.seq ?? previous?.coversSeq ?? 0;
  const meta = {
    meetingId,
    coversSeq: Math.max(lastSeq, previous?.coversSeq ?? 0),
    engine: engine.briefEngine,
    generatedAt: (context.now ?? new Date()).toISOString(),
    updates: (previous?.updates ?? 0) + 1,
  };
  const tail = [...(previous?.memory.tail ?? []), ...newLines].slice(-TAIL_LINES);
  if (engine.briefEngine === EMBEDDED_BRIEF_ENGINE) {
    return { ...meta, ...(await embeddedUpdate(previous, newLines, tail)) };
  }
  // A model reads the previous briefing and the new lines, and returns the whole new briefing.
  const lines: TranscriptLine[] = previous
    ? [{ seq: 0, speaker: 'Briefing so far', text: briefingAsText(previous), startMs: 0, endMs: 0 }]
    : [];
  const content = capContent(await engine.brief([...lines, ...newLines], { title: context.title }));
  const seq = meta.coversSeq;
  return {
    ...meta,
    ...content,
    memory: {
      tail,
      decisions: content.decisions.map((text) => ({ text, seq })),
      actionItems: content.actionItems.map((a) => ({ ...a, seq })),
      openQuestions: content.openQuestions.map((text) => ({ text, seq })),
      blockers: content.blockers.map((text) => ({ text, seq })),
      keyLines: [],
    },
  };
}

async function embeddedUpdate(
  previous: StoredRollingBriefing | undefined,
  newLines: readonly TranscriptLine[],
  tail: readonly TranscriptLine[],
): Promise<BriefContent & { memory: RollingMemory }> {
  const before = previous?.memory.tail ?? [];
  const window = [...before, ...newLines];
  const from = window[0]?.seq ?? 0;
  const participants = [...new Set(window.map((l) => l.speaker))];
  const found = extractMeetingItems(toUtterances(window), participants);
  // Items the previous update found inside this window are found again (or no longer hold).
  const keep = <T extends SeqItem>(old: readonly T[] | undefined, fresh: readonly T[]): T[] =>
    [...(old ?? []).filter((i) => i.seq < from), ...fresh].slice(-MAX_ROLLING_ITEMS);
  const memory: RollingMemory = {
    tail: [...tail],
    decisions: keep(previous?.memory.decisions, found.decisions.map(capText)),
    actionItems: keep(
      previous?.memory.actionItems,
      found.actionItems.map(({ text, owner, due, seq }) => ({
        text: cap(text),
        seq,
        ...(owner ? { owner } : {}),
        ...(due ? { due } : {}),
      })),
    ),
    openQuestions: keep(previous?.memory.openQuestions, found.openQuestions.map(capText)),
    blockers: keep(previous?.memory.blockers, found.blockers.map(capText)),
    keyLines: [],
  };
  // Summary: TextRank over the previous key points and the new lines (not the whole meeting).
  const ranked = await rankKeyLines([...(previous?.memory.keyLines ?? []), ...newLines]);
  memory.keyLines = ranked.keyLines;
  return {
    summary: ranked.summary,
    keyPoints: ranked.keyPoints,
    decisions: memory.decisions.map((d) => d.text),
    actionItems: memory.actionItems.map(({ seq: _seq, ...a }) => a),
    openQuestions: memory.openQuestions.map((q) => q.text),
    blockers: memory.blockers.map((b) => b.text),
    topics: extractTopics([...(previous?.topics ?? []), ...newLines.map((l) => l.text)]),
    memory,
  };
}

async function rankKeyLines(lines: readonly TranscriptLine[]): Promise<{
  summary: string;
  keyPoints: string[];
  keyLines: TranscriptLine[];
}> {
  const texts = lines.filter((l) => l.text.trim() !== '');
  if (texts.length === 0) return { summary: 'Nothing has been said yet.', keyPoints: [], keyLines: [] };
  const content = await new ExtractiveEngine().brief(texts);
  // Key points read "Speaker: sentence": keep the lines they came from for the next ranking.
  const keyLines = texts.filter((l) =>
    content.keyPoints.some(
      (p) => p.startsWith(`${l.speaker}: `) && l.text.includes(sentenceOf(p, l.speaker)),
    ),
  );
  return { summary: cap(content.summary, 2_000), keyPoints: content.keyPoints.map((p) => cap(p)), keyLines };
}

function sentenceOf(point: string, speaker: string): string {
  return point
    .slice(speaker.length + 2)
    .replace(/[.!?]$/, '')
    .slice(0, 40);
}

/** What `next` has that `previous` did not (everything when there was none). */
export function briefingDelta(previous: BriefContent | undefined, next: BriefContent): BriefingDelta {
  const fresh = (old: readonly string[] | undefined, now: readonly string[]) => {
    const seen = new Set((old ?? []).map(norm));
    return now.filter((t) => !seen.has(norm(t)));
  };
  const oldActions = new Set((previous?.actionItems ?? []).map(actionKey));
  return {
    ...(previous?.summary !== next.summary ? { summary: next.summary } : {}),
    keyPoints: fresh(previous?.keyPoints, next.keyPoints),
    decisions: fresh(previous?.decisions, next.decisions),
    actionItems: next.actionItems.filter((a) => !oldActions.has(actionKey(a))),
    openQuestions: fresh(previous?.openQuestions, next.openQuestions),
    blockers: fresh(previous?.blockers, next.blockers),
    topics: fresh(previous?.topics, next.topics),
  };
}

/** Whether two briefings show a viewer the same content (items removed count as a change). */
export function sameContent(a: BriefContent, b: BriefContent): boolean {
  const fields = (x: BriefContent) =>
    JSON.stringify([
      x.summary,
      x.keyPoints,
      x.decisions,
      x.actionItems,
      x.openQuestions,
      x.blockers,
      x.topics,
    ]);
  return fields(a) === fields(b);
}

/** Whether an update adds anything a client would see. */
export function isEmptyDelta(delta: BriefingDelta): boolean {
  return (
    delta.summary === undefined &&
    delta.keyPoints.length +
      delta.decisions.length +
      delta.actionItems.length +
      delta.openQuestions.length +
      delta.blockers.length +
      delta.topics.length ===
      0
  );
}

function briefingAsText(b: BriefContent): string {
  const list = (title: string, items: readonly string[]) =>
    items.length > 0 ? ` ${title}: ${items.join('; ')}.` : '';
  return (
    `Summary: ${b.summary}` +
    list('Decisions', b.decisions) +
    list(
      'Action items',
      b.actionItems.map(
        (a) => `${a.text}${a.owner ? ` (owner ${a.owner})` : ''}${a.due ? ` (due ${a.due})` : ''}`,
      ),
    ) +
    list('Open questions', b.openQuestions) +
    list('Blockers', b.blockers) +
    list('Topics', b.topics)
  );
}

function capContent(c: BriefContent): BriefContent {
  // Not `.map(cap)`: map's index would become cap's limit (item 0 cut to "…", item 1 to one letter).
  const items = (l: readonly string[]) => l.slice(-MAX_ROLLING_ITEMS).map((t) => cap(t));
  return {
    summary: cap(c.summary, 2_000),
    keyPoints: items(c.keyPoints),
    decisions: items(c.decisions),
    actionItems: c.actionItems.slice(-MAX_ROLLING_ITEMS).map((a) => ({ ...a, text: cap(a.text) })),
    openQuestions: items(c.openQuestions),
    blockers: items(c.blockers),
    topics: items(c.topics),
  };
}

function cap(text: string, max = MAX_ITEM_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function capText<T extends { text: string }>(item: T): T {
  return { ...item, text: cap(item.text) };
}

const norm = (t: string) => t.toLowerCase().replace(/\s+/g, ' ').trim();
const actionKey = (a: ActionItem) => `${norm(a.text)}|${a.owner ?? ''}|${a.due ?? ''}`;
