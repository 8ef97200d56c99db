/**
 * The topics of a meeting: RAKE (Rose et al., 2010, "Automatic keyword extraction from individual
 * documents"). Candidate phrases are runs of content words between stop words and punctuation; a
 * word scores its degree (how many words it shares phrases with) over its frequency, a phrase the
 * sum of its words. Phrases said more than once and multi-word phrases rise; meeting chatter
 * ("good morning", "thanks everyone") is left out.
 */
import { isStopWord, stem } from './text';

/** Words that are content words in general English but say nothing about a meeting's subject. */
const CHATTER = new Set(
  `good morning afternoon evening thanks thank everyone everybody team great fine sure okay ok alright hi hello bye
question questions point idea today tomorrow yesterday tonight week weeks month sprint day days time
monday tuesday wednesday thursday friday saturday sunday next last first one two three please maybe still
already yet able done call make take need needs want wants said say think know see look going go let lets
will shall would could should can cannot might must may also just really actually probably pretty quite
start started starting finish finished stay stays keep handle help update order write check chase fix pair
agreed decided decide decision agree review join joining`
    .split(/\s+/)
    .filter(Boolean),
);

const MAX_PHRASE_WORDS = 3;

export function extractTopics(texts: readonly string[], limit = 6): string[] {
  const phrases: string[][] = [];
  for (const text of texts) {
    for (const piece of text.toLowerCase().split(/[.,;:!?()"“”]+/)) {
      let run: string[] = [];
      for (const word of piece.match(/[a-z0-9]+(?:'[a-z]+)?/g) ?? []) {
        if (isStopWord(word) || CHATTER.has(word) || word.length < 3 || /'/.test(word)) {
          if (run.length > 0) phrases.push(run);
          run = [];
        } else {
          run.push(word);
        }
      }
      if (run.length > 0) phrases.push(run);
    }
  }
  const frequency = new Map<string, number>();
  const degree = new Map<string, number>();
  for (const phrase of phrases) {
    for (const word of phrase) {
      const s = stem(word);
      frequency.set(s, (frequency.get(s) ?? 0) + 1);
      degree.set(s, (degree.get(s) ?? 0) + Math.min(phrase.length, MAX_PHRASE_WORDS));
    }
  }
  const scored = new Map<string, { text: string; score: number; count: number }>();
  for (const phrase of phrases) {
    const words = phrase.slice(-MAX_PHRASE_WORDS);
    const key = words.map(stem).join(' ');
    const wordScore = words.reduce((sum, w) => sum + degree.get(stem(w))! / frequency.get(stem(w))!, 0);
    // Something said once in one word is rarely a topic.
    const said = words.reduce((max, w) => Math.max(max, frequency.get(stem(w))!), 0);
    const entry = scored.get(key);
    if (entry) entry.count++;
    else scored.set(key, { text: words.join(' '), score: wordScore, count: 1 });
    if (words.length === 1 && said < 2) scored.get(key)!.score = 0;
  }
  const ranked = [...scored.values()]
    .filter((p) => p.score > 0)
    .map((p) => ({ ...p, score: p.score * (1 + Math.log(p.count)) }))
    .sort((a, b) => b.score - a.score);
  // A phrase whose words all appear in a better phrase adds nothing.
  const chosen: { text: string; stems: Set<string> }[] = [];
  for (const p of ranked) {
    const stems = new Set(p.text.split(' ').map(stem));
    if (chosen.some((c) => [...stems].every((s) => c.stems.has(s)))) continue;
    chosen.push({ text: p.text, stems });
    if (chosen.length === limit) break;
  }
  return chosen.map((c) => c.text);
}
