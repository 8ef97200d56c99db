/**
 * Which participant a spoken name means. Speech engines mishear names as ordinary words that
 * sound alike ("Ken" → "can", "Marcus" → "markets"), so a word is compared with the meeting's
 * participant names by a rough sound key (consonant skeleton, similar consonants merged) as well
 * as by spelling.
 */

/** A rough sound key: first letter kept, later vowels dropped, similar consonants merged. */
export function soundKey(word: string): string {
  const w = word.toLowerCase().replace(/[^a-z]/g, '');
  if (w === '') return '';
  const merged = w
    .replace(/ph/g, 'f')
    .replace(/ck|q|c(?=[aou])|c$/g, 'k')
    .replace(/c/g, 'k')
    .replace(/x/g, 'ks')
    .replace(/z/g, 's')
    .replace(/dg/g, 'j')
    .replace(/[bp]/g, 'p')
    .replace(/[dt]/g, 't')
    .replace(/[gk]/g, 'k')
    .replace(/[fv]/g, 'f')
    .replace(/[mn]/g, 'n');
  const first = /^[aeiouy]/.test(merged) ? 'a' : merged[0]!;
  const rest = merged.slice(1).replace(/[aeiouyhw]/g, '');
  return (first + rest).replace(/(.)\1+/g, '$1');
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * The participant `word` most likely names, or undefined. An exact (case-insensitive) match
 * always wins; otherwise the sound keys must be equal, or differ by one letter when the keys are
 * at least four letters long.
 */
export function matchParticipant(word: string, participants: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const exact = participants.find((p) => firstName(p).toLowerCase() === lower);
  if (exact) return exact;
  const key = soundKey(word);
  if (key.length < 2) return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const name of participants) {
    const other = soundKey(firstName(name));
    if (other.length < 2) continue;
    const distance = editDistance(key, other);
    const allowed = Math.min(key.length, other.length) >= 4 ? 1 : 0;
    if (distance <= allowed && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function firstName(name: string): string {
  return name.trim().split(/\s+/)[0] ?? name;
}
