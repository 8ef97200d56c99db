/**
 * Which transcript lines answer a question.
 *
 * - `Bm25Index`: Okapi BM25 over transcript lines (also used by the OpenAI engine to pick what
 *   fits the model's context).
 * - `answerLines`: what the embedded engine cites. Questions and their answers often share no
 *   word ("what is the biggest risk?" — "the payment integration is late"), so BM25 on the
 *   question's own words is joined by BM25 on related words from a small meeting lexicon (at a
 *   lower weight), and by what the question asks for: "who" wants a line where someone takes on
 *   a task, "when" a line with a date, "why" a reason, a risk question a blocker, a decision
 *   question a decision, "what is open" an unanswered question.
 */
import { isBlocker, isDeferral } from './cues';
import { findDue } from './due-dates';
import { extractMeetingItems } from './meeting-items';
import type { TranscriptLine } from './model';
import { contentTokens, stem } from './text';
import { toUtterances } from './utterances';

const K1 = 1.2;
const B = 0.75;

export interface ScoredLine {
  line: TranscriptLine;
  score: number;
}

export class Bm25Index {
  private readonly docs: { line: TranscriptLine; tf: Map<string, number>; length: number }[];
  private readonly df = new Map<string, number>();
  private readonly avgLength: number;

  constructor(lines: readonly TranscriptLine[]) {
    this.docs = lines.map((line) => {
      const tokens = contentTokens(`${line.speaker} ${line.text}`);
      const tf = new Map<string, number>();
      for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const t of tf.keys()) this.df.set(t, (this.df.get(t) ?? 0) + 1);
      return { line, tf, length: tokens.length };
    });
    const total = this.docs.reduce((sum, d) => sum + d.length, 0);
    this.avgLength = this.docs.length > 0 ? Math.max(1, total / this.docs.length) : 1;
  }

  /** Lines with a positive score, best first (ties: earlier line first). */
  search(query: string, limit = Number.POSITIVE_INFINITY): ScoredLine[] {
    const scored = this.score([...new Set(contentTokens(query))]).filter((s) => s.score > 0);
    scored.sort((a, b) => b.score - a.score || a.line.seq - b.line.seq);
    return scored.slice(0, limit);
  }

  /** Every line's BM25 score for `terms` (stems), in transcript order. */
  score(terms: readonly string[]): ScoredLine[] {
    const n = this.docs.length;
    const scored: ScoredLine[] = [];
    for (const doc of this.docs) {
      let score = 0;
      for (const term of terms) {
        const f = doc.tf.get(term);
        if (!f) continue;
        const df = this.df.get(term) ?? 0;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        score += (idf * f * (K1 + 1)) / (f + K1 * (1 - B + (B * doc.length) / this.avgLength));
      }
      scored.push({ line: doc.line, score });
    }
    return scored;
  }
}

/** Words a question may use for what a meeting line says in other words. Stems are compared. */
const RELATED: readonly (readonly string[])[] = [
  [
    'risk',
    'danger',
    'threat',
    'concern',
    'worry',
    'worried',
    'problem',
    'issue',
    'trouble',
    'obstacle',
    'blocker',
    'blocked',
    'stuck',
    'late',
    'delay',
    'delayed',
    'behind',
    'slip',
    'broken',
    'slow',
    'crash',
    'bug',
    'waiting',
    'fail',
    'failing',
  ],
  [
    'decide',
    'decided',
    'decision',
    'agree',
    'agreed',
    'settle',
    'choose',
    'chose',
    'pick',
    'picked',
    'plan',
    'go',
  ],
  ['money', 'budget', 'cost', 'costs', 'price', 'spend', 'funds', 'funding', 'finance', 'pay'],
  ['fix', 'fixing', 'repair', 'solve', 'resolve', 'handle', 'look', 'investigate'],
  ['release', 'launch', 'ship', 'deploy', 'rollout', 'go-live', 'publish'],
  ['test', 'testing', 'qa', 'verify', 'check'],
  ['customer', 'client', 'user', 'buyer'],
  ['speed', 'slow', 'fast', 'performance', 'latency'],
  ['phone', 'phones', 'device', 'devices', 'mobile'],
  ['country', 'countries', 'market', 'markets', 'region'],
  ['server', 'servers', 'hosting', 'infrastructure'],
  ['meet', 'meeting', 'sync', 'standup', 'review'],
  ['notes', 'docs', 'documentation', 'changelog'],
];
const RELATED_STEMS = RELATED.map((group) => new Set(group.map(stem)));
const RELATED_WEIGHT = 0.6;

/** What the meeting-items rules found, by line seq: what a line does in the meeting. */
interface LineRoles {
  blockers: Set<number>;
  actions: Set<number>;
  decisions: Set<number>;
  openQuestions: Set<number>;
}

interface Intent {
  test: RegExp;
  matches: (line: TranscriptLine, roles: LineRoles) => boolean;
}

/** What a question asks for, and what a line that answers it looks like. */
const INTENTS: readonly Intent[] = [
  {
    test: /\b(?:risks?|problems?|issues?|blockers?|blocked|concerns?|worr\w*|obstacles?|trouble|wrong|stuck|late|delay\w*)\b/i,
    matches: (l, r) => r.blockers.has(l.seq) || isBlocker(l.text),
  },
  {
    test: /\bwho\b|\bwhose\b|\bresponsible\b|\bowner\b|\bassigned\b/i,
    matches: (l, r) => r.actions.has(l.seq),
  },
  {
    test: /\bwhen\b|\bdeadline\b|\bdue\b|\bwhat (?:day|date|time)\b|\bhow (?:soon|long)\b/i,
    matches: (l) => findDue(l.text) !== undefined,
  },
  {
    test: /\bdecid\w*|\bdecision\b|\bagree\w*|\bpick\w*|\bchose\b|\bchoose\b|\bsettled?\b/i,
    matches: (l, r) => r.decisions.has(l.seq),
  },
  {
    test: /\bwhy\b|\breason\b/i,
    matches: (l) => /\b(?:because|cause|since|without|so that)\b/i.test(l.text),
  },
  {
    test: /\b(?:open|unresolved|unanswered|pending|undecided|unclear)\b/i,
    matches: (l, r) => r.openQuestions.has(l.seq) || isDeferral(l.text),
  },
];
/** Added for each intent a line fits; about one strong word match. */
const INTENT_BONUS = 1.5;

/** The lines that best answer `question`, best first; only lines sharing a word (or a related word) count. */
export function answerLines(question: string, lines: readonly TranscriptLine[], limit: number): ScoredLine[] {
  const index = new Bm25Index(lines);
  const own = [...new Set(contentTokens(question))];
  const related = new Set<string>();
  for (const term of own) {
    for (const group of RELATED_STEMS) {
      if (group.has(term)) for (const s of group) if (!own.includes(s)) related.add(s);
    }
  }
  const direct = index.score(own);
  const indirect = index.score([...related]);
  const intents = INTENTS.filter((i) => i.test.test(question));
  const roles = intents.length > 0 ? lineRoles(lines) : undefined;
  const scored = direct.map((d, i) => {
    const relatedScore = indirect[i]!.score * RELATED_WEIGHT;
    const base = d.score + relatedScore;
    const fits = roles ? intents.filter((intent) => intent.matches(d.line, roles)).length : 0;
    return { line: d.line, score: base > 0 || fits > 0 ? base + fits * INTENT_BONUS : 0 };
  });
  return scored
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || a.line.seq - b.line.seq)
    .slice(0, limit);
}

function lineRoles(lines: readonly TranscriptLine[]): LineRoles {
  const items = extractMeetingItems(toUtterances(lines), [...new Set(lines.map((l) => l.speaker))]);
  const seqs = (list: { seq: number }[]) => new Set(list.map((x) => x.seq));
  return {
    blockers: seqs(items.blockers),
    actions: seqs(items.actionItems),
    decisions: seqs(items.decisions),
    openQuestions: seqs(items.openQuestions),
  };
}
