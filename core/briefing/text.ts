/**
 * Small English text tools for the embedded engines: sentence splitting, tokenizing with
 * stop words removed, and a light suffix-stripping stemmer (enough to match "decide",
 * "decided" and "decides"; not a full Porter stemmer).
 */

const STOP_WORDS = new Set(
  `a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for
from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself
his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more most mustn't my myself
no nor not now of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll
she's should shouldn't so some such than that that's the their theirs them themselves then there there's these
they they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're
we've were weren't what what's when when's where where's which while who who's whom why why's will with won't
would wouldn't you you'd you'll you're you've your yours yourself yourselves yeah yes okay ok um uh oh like well
really get got going gonna thing things mister`
    .split(/\s+/)
    .filter(Boolean),
);

export function isStopWord(word: string): boolean {
  return STOP_WORDS.has(word);
}

/** Strips common English inflections; keeps stems of at least three letters. */
export function stem(word: string): string {
  let w = word.replace(/'s$/, '');
  for (const suffix of ['ingly', 'edly', 'ing', 'ies', 'ied', 'ed', 'es', 'ly', 's']) {
    if (w.length - suffix.length >= 3 && w.endsWith(suffix)) {
      w = w.slice(0, -suffix.length) + (suffix === 'ies' || suffix === 'ied' ? 'y' : '');
      break;
    }
  }
  // "decide"/"decid(ed)", "agree"/"agre(ed)": drop a final e so both forms meet.
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

/** Lowercased content-word stems of `text`. */
export function contentTokens(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+(?:'[a-z]+)?/g) ?? [])
    .filter((w) => w.length > 1 && !STOP_WORDS.has(w))
    .map(stem);
}

/**
 * Sentences of one transcript line. Punctuated text splits after . ! ? ; unpunctuated text
 * (some speech engines emit none) is one sentence.
 */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=\S)/)
    .map((s) => s.trim())
    .filter((s) => /[A-Za-z0-9]/.test(s));
}

/** First letter upper-cased and a final full stop added when the sentence has no end mark. */
export function asSentence(text: string): string {
  const t = text.trim();
  if (t === '') return t;
  const capital = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?…]["')\]]?$/.test(capital) ? capital : `${capital}.`;
}
