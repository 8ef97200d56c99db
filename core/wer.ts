/**
 * Word error rate: the word-level Levenshtein distance between a reference and a hypothesis,
 * divided by the number of reference words. Both texts are normalized first (lowercase,
 * punctuation removed, hyphens split words), so formatting alone never counts as an error.
 */

export interface WerResult {
  /** (substitutions + deletions + insertions) / reference words; can exceed 1. */
  wer: number;
  errors: number;
  substitutions: number;
  deletions: number;
  insertions: number;
  referenceWords: number;
  hypothesisWords: number;
}

/** Lowercases, turns punctuation into spaces (keeping in-word apostrophes), splits into words. */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .split(/\s+/)
    .map((word) => word.replace(/^'+|'+$/g, ''))
    .filter((word) => word !== '');
}

interface Cell {
  cost: number;
  substitutions: number;
  deletions: number;
  insertions: number;
}

/**
 * Word error rate of `hypothesis` against `reference`. An empty reference gives 0 for an empty
 * hypothesis and 1 otherwise. Runs in O(n·m) time and O(m) memory.
 */
export function wordErrorRate(reference: string, hypothesis: string): WerResult {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  // previous[j]: best alignment of the first i-1 reference words with the first j hypothesis words.
  let previous: Cell[] = hyp.map((_, j) => ({ cost: j, substitutions: 0, deletions: 0, insertions: j }));
  previous.push({ cost: hyp.length, substitutions: 0, deletions: 0, insertions: hyp.length });
  for (let i = 1; i <= ref.length; i++) {
    const current: Cell[] = [{ cost: i, substitutions: 0, deletions: i, insertions: 0 }];
    for (let j = 1; j <= hyp.length; j++) {
      const diagonal = previous[j - 1] as Cell;
      const up = previous[j] as Cell;
      const left = current[j - 1] as Cell;
      const same = ref[i - 1] === hyp[j - 1];
      const candidates: Cell[] = [
        {
          ...diagonal,
          cost: diagonal.cost + (same ? 0 : 1),
          substitutions: diagonal.substitutions + (same ? 0 : 1),
        },
        { ...up, cost: up.cost + 1, deletions: up.deletions + 1 },
        { ...left, cost: left.cost + 1, insertions: left.insertions + 1 },
      ];
      current.push(candidates.reduce((best, c) => (c.cost < best.cost ? c : best)));
    }
    previous = current;
  }
  const last = previous[hyp.length] as Cell;
  const wer = ref.length === 0 ? (hyp.length === 0 ? 0 : 1) : last.cost / ref.length;
  return {
    wer,
    errors: last.cost,
    substitutions: last.substitutions,
    deletions: last.deletions,
    insertions: last.insertions,
    referenceWords: ref.length,
    hypothesisWords: hyp.length,
  };
}
