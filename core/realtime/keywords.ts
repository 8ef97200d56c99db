/**
 * Keyword alerts: case-insensitive, whole words and multi-word phrases. "deal" matches
 * "Deal!" but not "ideal" or "dealer"; "action item" matches "action, item" too, since
 * punctuation between words is ignored.
 */
export interface KeywordHit {
  keyword: string;
  /** Index (in words) of the occurrence within the text. */
  wordIndex: number;
}

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .normalize('NFKC')
    .split(/[^\p{L}\p{N}']+/u)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w.length > 0);
}

/** Every occurrence of every keyword in `text`, in order of appearance. */
export function findKeywords(text: string, keywords: readonly string[]): KeywordHit[] {
  const words = tokenize(text);
  const hits: KeywordHit[] = [];
  for (const keyword of keywords) {
    const phrase = tokenize(keyword);
    if (phrase.length === 0) continue;
    for (let i = 0; i + phrase.length <= words.length; i++) {
      let match = true;
      for (let j = 0; j < phrase.length; j++) {
        if (words[i + j] !== phrase[j]) {
          match = false;
          break;
        }
      }
      if (match) hits.push({ keyword, wordIndex: i });
    }
  }
  return hits.sort((a, b) => a.wordIndex - b.wordIndex);
}

export interface Occurrence {
  keyword: string;
  /** 0 for the keyword's first occurrence in the line, 1 for its second … */
  occurrence: number;
  /** `<keyword, lower case>#<occurrence>` */
  key: string;
}

/** Every occurrence of every keyword in `text`, numbered per keyword in order of appearance. */
export function occurrences(text: string, keywords: readonly string[]): Occurrence[] {
  const seen = new Map<string, number>();
  return findKeywords(text, keywords).map((hit) => {
    const occurrence = seen.get(hit.keyword) ?? 0;
    seen.set(hit.keyword, occurrence + 1);
    return { keyword: hit.keyword, occurrence, key: `${hit.keyword.toLowerCase()}#${occurrence}` };
  });
}
