/**
 * When something is due, as said in a meeting: "by Thursday", "today", "tomorrow morning",
 * "this week", "next Monday", "before the end of the sprint". The phrase is kept as spoken (minus
 * its preposition), not turned into a calendar date: the meeting's own words are what a reader
 * checks, and a relative day is only meaningful next to the meeting's date.
 */

const WEEKDAY = String.raw`(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)`;
const PART_OF_DAY = String.raw`(?:morning|afternoon|evening|night)`;
const PERIOD = String.raw`(?:week|month|sprint|quarter|year)`;
const MONTH = String.raw`(?:january|february|march|april|may|june|july|august|september|october|november|december)`;
const ORDINAL = String.raw`(?:\d{1,2}(?:st|nd|rd|th)?|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|[a-z]+teenth|twentieth|twenty[- ][a-z]+|thirtieth|thirty[- ]first)`;

/** Alternatives, most specific first (a longer phrase wins over its prefix). */
const DUE_PHRASES = [
  String.raw`(?:end of (?:the )?(?:day|${PERIOD})|eod|eow)`,
  String.raw`(?:tomorrow|today|tonight)(?: ${PART_OF_DAY})?`,
  String.raw`this ${PART_OF_DAY}`,
  String.raw`(?:this|next) ${WEEKDAY}(?: ${PART_OF_DAY})?`,
  String.raw`(?:this|next) ${PERIOD}`,
  String.raw`${WEEKDAY}(?: ${PART_OF_DAY})?`,
  String.raw`(?:the )?${ORDINAL} of ${MONTH}`,
  String.raw`${MONTH} (?:the )?${ORDINAL}`,
  String.raw`(?:after|before) lunch`,
  String.raw`(?:in|within) (?:a|an|one|two|three|four|five|\d+) (?:days?|weeks?|hours?)`,
  String.raw`asap|as soon as possible|right away`,
].join('|');

const PREPOSITION = String.raw`(?:(?:no later than|by|before|until|till|on|for|at)\s+)?(?:the\s+)?`;
const DUE = new RegExp(String.raw`\b${PREPOSITION}(${DUE_PHRASES})\b`, 'i');
const DUE_ALL = new RegExp(DUE.source, 'gi');

/** Words that put a day phrase in the past ("yesterday", "last Friday") or make it not a due date. */
const PAST = /\b(?:yesterday|last|ago|since)\s*$/i;

export interface DueMatch {
  /** As spoken, without its preposition: "Thursday", "this afternoon", "next week". */
  due: string;
  /** Where the whole phrase (with its preposition) starts and ends in the text. */
  start: number;
  end: number;
}

/** The first due-date phrase in `text` that is not about the past, or undefined. */
export function findDue(text: string): DueMatch | undefined {
  for (const match of text.matchAll(DUE_ALL)) {
    const before = text.slice(0, match.index);
    if (PAST.test(before)) continue;
    return { due: tidy(match[1]!), start: match.index, end: match.index + match[0].length };
  }
  return undefined;
}

/** `text` without its due-date phrase (and the comma or space around it). */
export function withoutDue(text: string, match: DueMatch | undefined): string {
  if (!match) return text;
  return `${text.slice(0, match.start)} ${text.slice(match.end)}`
    .replace(/\s+([,.!?;])/g, '$1')
    .replace(/\s{2,}/g, ' ')
    .replace(/[,\s]+$/, '')
    .trim();
}

/** Comparable form of a due phrase: lower case, no preposition or article ("By Thursday" = "thursday"). */
export function normalizeDue(due: string | null | undefined): string | null {
  if (!due) return null;
  const m = DUE.exec(due);
  return (m ? m[1]! : due).toLowerCase().replace(/\s+/g, ' ').trim();
}

function tidy(phrase: string): string {
  const lower = phrase.toLowerCase().replace(/\s+/g, ' ');
  // Weekday and month names are capitalised; everything else stays lower case.
  return lower.replace(
    new RegExp(String.raw`\b(${WEEKDAY}|${MONTH})\b`, 'g'),
    (w) => w[0]!.toUpperCase() + w.slice(1),
  );
}
