/**
 * Okapi BM25 over transcript lines: which lines are most relevant to a question. Used by the
 * embedded engine to answer, and by the OpenAI engine to pick what fits the model's context.
 */
import type { TranscriptLine } from './model';
import { contentTokens } from './text';

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
    const terms = [...new Set(contentTokens(query))];
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
      if (score > 0) scored.push({ line: doc.line, score });
    }
    scored.sort((a, b) => b.score - a.score || a.line.seq - b.line.seq);
    return scored.slice(0, limit);
  }
}
