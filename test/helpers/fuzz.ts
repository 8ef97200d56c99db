/**
 * Seeded, bounded input generators for the fuzz suites. The seed comes from FUZZ_SEED (or a
 * fixed default) and is printed in every failure message, so a failing case can be replayed.
 */

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_10);

/** mulberry32: small, fast, good enough to pick test inputs. */
export function rng(seed = FUZZ_SEED) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  return { next, int, pick, seed };
}
export type Rng = ReturnType<typeof rng>;

/** Pieces of text that have broken string handling somewhere. */
const NASTY = [
  '\u{1F600}', // emoji (surrogate pair)
  '\u{1F469}\u200D\u{1F469}\u200D\u{1F467}', // ZWJ family
  '\uD800', // lone high surrogate
  '\uDC00', // lone low surrogate
  '\u0000',
  '\r\n',
  '\t',
  '\u202E', // right-to-left override
  'e\u0301', // combining accent
  '"',
  "'",
  '\\',
  '%',
  '%00',
  '../',
  '<script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal template placeholder is the hostile input
  '${x}',
  '__proto__',
  ' ',
  '\uFEFF',
  '\u00A0',
  'Ω',
  '中文',
  'a',
];

/** A string of up to `maxUnits` UTF-16 units mixing ASCII and the nasty pieces above. */
export function nastyString(r: Rng, maxUnits: number): string {
  const target = r.int(0, maxUnits);
  let out = '';
  while (out.length < target) {
    out += r.next() < 0.5 ? String.fromCharCode(r.int(0x20, 0x7e)) : r.pick(NASTY);
  }
  return out.slice(0, Math.max(target, 0));
}

/** A JSON-ish value of bounded depth and size, with wrong types and odd numbers. */
export function randomJson(r: Rng, depth = 3): unknown {
  const kind = r.int(0, depth > 0 ? 9 : 6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.next() < 0.5;
    case 2:
      return r.pick([0, -1, 1e308, -1e-308, 2 ** 53 + 1, 0.5, Number.MAX_SAFE_INTEGER]);
    case 3:
    case 4:
      return nastyString(r, 40);
    case 5:
      return '';
    case 6:
      return nastyString(r, 300);
    case 7:
      return Array.from({ length: r.int(0, 4) }, () => randomJson(r, depth - 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = r.int(0, 4); i > 0; i--) out[nastyString(r, 12)] = randomJson(r, depth - 1);
      return out;
    }
  }
}

/** A raw body: valid JSON of odd shape, broken JSON, or bytes that are not UTF-8. */
export function randomBody(r: Rng): string | Buffer {
  switch (r.int(0, 5)) {
    case 0:
      return JSON.stringify(randomJson(r));
    case 1:
      return JSON.stringify(randomJson(r)).slice(0, r.int(0, 20));
    case 2:
      return Buffer.from(Array.from({ length: r.int(1, 64) }, () => r.int(0, 255)));
    case 3:
      return `${'['.repeat(r.int(10, 2_000))}1${']'.repeat(r.int(0, 10))}`;
    case 4:
      return '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}';
    default:
      return 'x'.repeat(r.int(0, 200_000));
  }
}
