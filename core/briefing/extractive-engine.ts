/**
 * The embedded briefing engine: no network, no model, deterministic. Used whenever OpenAI is
 * not configured, and labelled `embedded-extractive` (briefs) / `embedded-retrieval` (answers)
 * so nobody mistakes it for a language model.
 *
 * - summary and key points: TextRank (Mihalcea & Tarau, 2004) over the transcript's sentences —
 *   PageRank on a graph whose edges are content-word overlap normalised by sentence lengths —
 *   the top sentences in meeting order;
 * - decisions, action items (owner, due date), open questions and blockers: wording cues read in
 *   the context of the replies around them (meeting-items.ts, cues.ts, due-dates.ts), over speaker
 *   turns rather than raw lines (utterances.ts), with no reliance on punctuation;
 * - topics: RAKE key phrases (topics.ts);
 * - answers: the transcript lines most relevant to the question (retrieval.ts), quoted with their times.
 */
import { extractMeetingItems } from './meeting-items';
import {
  type Answer,
  type BriefContent,
  type BriefingEngine,
  clock,
  EMBEDDED_ASK_ENGINE,
  EMBEDDED_BRIEF_ENGINE,
  type TranscriptLine,
} from './model';
import { answerLines } from './retrieval';
import { asSentence, contentTokens, splitSentences } from './text';
import { extractTopics } from './topics';
import { toUtterances } from './utterances';

interface Sentence {
  index: number;
  seq: number;
  speaker: string;
  text: string;
  tokens: Set<string>;
}

const DAMPING = 0.85;
const ITERATIONS = 40;
/** Above this many sentences only the most content-rich are ranked (the graph is quadratic). */
const MAX_RANKED_SENTENCES = 1_500;
const MIN_SUMMARY_TOKENS = 3;
const MAX_ITEMS = 10;

export class ExtractiveEngine implements BriefingEngine {
  readonly briefEngine = EMBEDDED_BRIEF_ENGINE;
  readonly askEngine = EMBEDDED_ASK_ENGINE;
  /** Text to MP3 speech when an embedded synthesizer is configured (espeak-speech.ts). */
  readonly speak?: (text: string) => Promise<Buffer>;

  constructor(options: { speak?: (text: string) => Promise<Buffer> } = {}) {
    if (options.speak) this.speak = options.speak;
  }

  async brief(lines: readonly TranscriptLine[]): Promise<BriefContent> {
    const sentences = toSentences(lines);
    if (sentences.length === 0) {
      return {
        summary: 'Nothing has been said yet.',
        keyPoints: [],
        decisions: [],
        actionItems: [],
        openQuestions: [],
        blockers: [],
        topics: [],
      };
    }
    const ranked = rankSentences(sentences);
    const candidates = ranked.filter((s) => s.tokens.size >= MIN_SUMMARY_TOKENS);
    const pool = candidates.length > 0 ? candidates : ranked;
    const summaryCount = Math.min(3, Math.max(1, Math.round(Math.sqrt(sentences.length))));
    const summarySentences = byOrder(pool.slice(0, summaryCount));
    const keyPointSentences = byOrder(pool.slice(0, Math.min(5, pool.length)));

    const participants = [...new Set(lines.map((l) => l.speaker))];
    const items = extractMeetingItems(toUtterances(lines), participants);

    return {
      summary: summarySentences.map((s) => asSentence(s.text)).join(' '),
      keyPoints: keyPointSentences.map((s) => `${s.speaker}: ${asSentence(s.text)}`),
      decisions: items.decisions.slice(0, MAX_ITEMS).map((d) => d.text),
      actionItems: items.actionItems
        .slice(0, MAX_ITEMS)
        .map(({ text, owner, due }) => ({ text, ...(owner ? { owner } : {}), ...(due ? { due } : {}) })),
      openQuestions: items.openQuestions.slice(0, MAX_ITEMS).map((q) => q.text),
      blockers: items.blockers.slice(0, MAX_ITEMS).map((b) => b.text),
      topics: extractTopics(lines.map((l) => l.text)),
    };
  }

  async ask(question: string, lines: readonly TranscriptLine[]): Promise<Answer> {
    const hits = answerLines(question, lines, 3);
    if (hits.length === 0) {
      return {
        answer:
          lines.length === 0
            ? 'Nothing has been said in this meeting yet.'
            : 'Nothing in the transcript matches that question.',
        citations: [],
      };
    }
    const quotes = hits.map(
      ({ line }) => `- ${line.speaker} (${clock(line.startMs)}): “${line.text.trim()}”`,
    );
    return {
      answer: `The most relevant lines of the transcript:\n${quotes.join('\n')}`,
      citations: hits.map(({ line }) => line.seq),
    };
  }
}

function toSentences(lines: readonly TranscriptLine[]): Sentence[] {
  const out: Sentence[] = [];
  for (const line of lines) {
    for (const text of splitSentences(line.text)) {
      out.push({
        index: out.length,
        seq: line.seq,
        speaker: line.speaker,
        text,
        tokens: new Set(contentTokens(text)),
      });
    }
  }
  return out;
}

/** Sentences by TextRank score, best first (ties: earlier first). */
function rankSentences(all: Sentence[]): Sentence[] {
  const sentences =
    all.length <= MAX_RANKED_SENTENCES
      ? all
      : [...all].sort((a, b) => b.tokens.size - a.tokens.size).slice(0, MAX_RANKED_SENTENCES);
  const n = sentences.length;
  // Sparse symmetric similarity through an inverted index: only pairs sharing a word.
  const postings = new Map<string, number[]>();
  sentences.forEach((s, i) => {
    for (const t of s.tokens) {
      const list = postings.get(t);
      if (list) list.push(i);
      else postings.set(t, [i]);
    }
  });
  const overlap: Map<number, number>[] = sentences.map(() => new Map());
  for (const list of postings.values()) {
    for (let a = 0; a < list.length; a++) {
      for (let b = a + 1; b < list.length; b++) {
        const i = list[a]!;
        const j = list[b]!;
        overlap[i]!.set(j, (overlap[i]!.get(j) ?? 0) + 1);
        overlap[j]!.set(i, (overlap[j]!.get(i) ?? 0) + 1);
      }
    }
  }
  const weights = overlap.map((row, i) => {
    const weighted = new Map<number, number>();
    for (const [j, count] of row) {
      const norm = Math.log(sentences[i]!.tokens.size + 1) + Math.log(sentences[j]!.tokens.size + 1);
      if (norm > 0) weighted.set(j, count / norm);
    }
    return weighted;
  });
  const outSum = weights.map((row) => [...row.values()].reduce((a, b) => a + b, 0));
  let scores = new Array<number>(n).fill(1);
  for (let iter = 0; iter < ITERATIONS; iter++) {
    const next = new Array<number>(n).fill(1 - DAMPING);
    for (let j = 0; j < n; j++) {
      if (outSum[j] === 0) continue;
      const share = (DAMPING * scores[j]!) / outSum[j]!;
      for (const [i, w] of weights[j]!) next[i]! += share * w;
    }
    const delta = next.reduce((sum, v, i) => sum + Math.abs(v - scores[i]!), 0);
    scores = next;
    if (delta < 1e-6) break;
  }
  // Lightly prefer sentences that say more, so a flurry of short replies does not win.
  return sentences
    .map((s, i) => ({ s, score: scores[i]! * (1 + Math.log1p(s.tokens.size) / 10) }))
    .sort((a, b) => b.score - a.score || a.s.index - b.s.index)
    .map(({ s }) => s);
}

function byOrder(sentences: Sentence[]): Sentence[] {
  return [...sentences].sort((a, b) => a.index - b.index);
}
