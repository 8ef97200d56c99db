/**
 * BASELINE for bench/briefing.ts: the embedded briefing engine as it was before issue #14
 * (cue phrases per sentence, questions by "?" or a question-like start), kept unchanged so the
 * benchmark compares against it in the same run. Not used by Parley.
 *
 * The embedded briefing engine: no network, no model, deterministic. Used whenever OpenAI is
 * not configured, and labelled `embedded-extractive` (briefs) / `embedded-retrieval` (answers)
 * so nobody mistakes it for a language model.
 *
 * - summary and key points: TextRank (Mihalcea & Tarau, 2004) over the transcript's sentences —
 *   PageRank on a graph whose edges are content-word overlap normalised by sentence lengths —
 *   the top sentences in meeting order;
 * - decisions: sentences with decision cues ("we decided", "we agreed", "let's go with" …);
 * - action items: commitments ("I will", "we need to", "let's", "Bob should" …), owned by the
 *   speaker for "I", by the named person for a name, by nobody for "we"/"you";
 * - open questions: sentences ending in "?" (or, in unpunctuated text, starting like a question);
 * - answers: the transcript lines most relevant to the question (BM25), quoted with their times.
 */
import {
  type Answer,
  type BriefContent,
  type BriefingEngine,
  clock,
  EMBEDDED_ASK_ENGINE,
  EMBEDDED_BRIEF_ENGINE,
  type TranscriptLine,
} from '../core/briefing/model';
import { Bm25Index } from '../core/briefing/retrieval';
import { asSentence, contentTokens, splitSentences } from '../core/briefing/text';

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

const DECISION = new RegExp(
  [
    String.raw`\b(?:we|i|they|the team|everyone|everybody|all of us)\s+(?:have\s+|had\s+|all\s+|just\s+)?(?:decided|agreed|settled|concluded|chose|approved|committed)\b`,
    String.raw`\b(?:decision|consensus)\s+(?:is|was|made)\b`,
    String.raw`\b(?:let'?s|we'?ll|we will|we are|we're)\s+go(?:ing)?\s+with\b`,
    String.raw`\bit'?s (?:decided|agreed)\b`,
  ].join('|'),
  'i',
);

const ACTION =
  /\b(i|we|you|he|she|they|[a-z][a-z'-]*)\s+(?:will|'ll|shall|should|must|need to|needs to|has to|have to|is going to|are going to|am going to|'m going to|'re going to|is to)\s+(?!be\b|have been\b)[a-z]/i;
const CONTRACTED_ACTION = /\b(i|we|you|he|she|they)'(?:ll|m going to|re going to)\s+(?!be\b)[a-z]/i;
const ACTION_ANYWHERE = new RegExp(ACTION.source, 'gi');
const CONTRACTED_ANYWHERE = new RegExp(CONTRACTED_ACTION.source, 'gi');
const LETS = /\blet'?s\s+(?!go with\b)[a-z]/i;
const ACTION_ITEM = /\baction item\b|\bto-?do\b|\bfollow[ -]up\b/i;

const QUESTION_START =
  /^(?:who|what|when|where|why|how|which|whose)\b|^(?:should|could|can|do|does|did|is|are|was|were|will|would|have|has|shall)\s+(?:we|i|you|he|she|they|it|the|this|that|there|anyone|anybody|someone|everyone)\b/i;

const NOT_NAMES = new Set(
  'i we you he she they it this that there who what which everyone everybody someone somebody nobody anyone one team'.split(
    ' ',
  ),
);

export class BaselineExtractiveEngine implements BriefingEngine {
  readonly briefEngine = EMBEDDED_BRIEF_ENGINE;
  readonly askEngine = EMBEDDED_ASK_ENGINE;

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
    const speakers = new Map<string, string>();
    for (const line of lines) speakers.set(line.speaker.toLowerCase(), line.speaker);

    const ranked = rankSentences(sentences);
    const candidates = ranked.filter((s) => s.tokens.size >= MIN_SUMMARY_TOKENS);
    const pool = candidates.length > 0 ? candidates : ranked;
    const summaryCount = Math.min(3, Math.max(1, Math.round(Math.sqrt(sentences.length))));
    const summarySentences = byOrder(pool.slice(0, summaryCount));
    const keyPointSentences = byOrder(pool.slice(0, Math.min(5, pool.length)));

    const questions = sentences.filter(isQuestion);
    const decisions = sentences.filter((s) => !isQuestion(s) && DECISION.test(s.text));
    const actions = sentences
      .filter((s) => !isQuestion(s) && !decisions.includes(s))
      .map((s) => ({ sentence: s, owner: actionOwner(s, speakers) }))
      .filter((a): a is { sentence: Sentence; owner: string | null } => a.owner !== undefined);

    return {
      summary: summarySentences.map((s) => asSentence(s.text)).join(' '),
      keyPoints: keyPointSentences.map((s) => `${s.speaker}: ${asSentence(s.text)}`),
      decisions: dedupe(decisions.map((s) => asSentence(s.text))).slice(0, MAX_ITEMS),
      actionItems: actions.slice(0, MAX_ITEMS).map(({ sentence, owner }) => ({
        text: asSentence(sentence.text),
        ...(owner ? { owner } : {}),
      })),
      openQuestions: dedupe(questions.map((s) => asSentence(s.text))).slice(0, MAX_ITEMS),
      // The baseline found neither.
      blockers: [],
      topics: [],
    };
  }

  async ask(question: string, lines: readonly TranscriptLine[]): Promise<Answer> {
    const hits = new Bm25Index(lines).search(question, 3);
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

function isQuestion(s: Sentence): boolean {
  const text = s.text.trim();
  if (text.endsWith('?')) return true;
  return !/[.!]$/.test(text) && QUESTION_START.test(text);
}

/**
 * undefined: not an action item. null: an action item without a known owner. Otherwise the
 * owner's name (the speaker for "I", the named participant or person for a name).
 */
function actionOwner(s: Sentence, speakers: Map<string, string>): string | null | undefined {
  const matches = [...s.text.matchAll(ACTION_ANYWHERE), ...s.text.matchAll(CONTRACTED_ANYWHERE)];
  for (const match of matches) {
    const word = match[1]!;
    const subject = word.toLowerCase();
    if (subject === 'i') return s.speaker;
    const known = speakers.get(subject);
    if (known) return known;
    if (NOT_NAMES.has(subject)) return null;
    // Any other subject counts only when written as a name ("Carol will send …").
    if (/^[A-Z][a-z'-]+$/.test(word) && !/^(?:It|This|That|There|The)$/.test(word)) return word;
  }
  if (LETS.test(s.text) || ACTION_ITEM.test(s.text)) return null;
  return undefined;
}

function dedupe(items: string[]): string[] {
  return [...new Set(items)];
}
