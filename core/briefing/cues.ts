/**
 * What one sentence of a meeting does, judged by its wording alone: decides, asks, requests,
 * commits, defers, reports a blocker, accepts or answers. None of these rely on punctuation,
 * because local speech engines write no question marks (or none at all). What a sentence means
 * in its context (was the question answered? who accepted the request?) is decided in
 * meeting-items.ts.
 */
import { findDue } from './due-dates';
import { matchParticipant } from './names';

const WH = String.raw`(?:who|what|when|where|why|how|which|whose)`;
const AUX = String.raw`(?:should|shall|could|can|do|does|did|is|are|was|were|will|would|have|has|must|may|might)`;
const SUBJECT = String.raw`(?:we|i|you|he|she|they|it|the|this|that|these|those|there|anyone|anybody|someone|somebody|everyone|our|your|my)`;
/** Words that may open a sentence before its real start ("so", "okay", "one open question"). */
const LEAD_IN = String.raw`(?:(?:so|and|but|okay|ok|well|then|also|sure|thanks|right|alright|one|another|last|open|quick|question|one more thing)[,\s]+)*`;

const QUESTION = new RegExp(
  String.raw`^${LEAD_IN}(?:${WH}\b(?!\s+(?:we|i)\s+(?:decided|agreed|said|did|discussed)\b)|${AUX}\s+${SUBJECT}\b|what about\b|how about\b|any (?:questions|thoughts|objections|updates)\b)`,
  'i',
);
/** A question inside a run-on sentence ("sure one open question who will present the demo"). */
const INNER_QUESTION = new RegExp(
  String.raw`\b(${WH}\s+(?:will|is|are|do|does|did|should|can|could|would|was|were)\s+\w)`,
  'i',
);

/** A sentence that asks a question (by "?" or, without punctuation, by how it starts). */
export function isQuestion(text: string): boolean {
  const t = text.trim();
  if (t.endsWith('?')) return true;
  if (/[!]$/.test(t)) return false;
  return QUESTION.test(t) || INNER_QUESTION.test(t);
}

/** The question itself, from where it starts, ending in "?". */
export function questionText(text: string): string {
  const t = text.trim();
  const lead = new RegExp(`^${LEAD_IN}`, 'i').exec(t)?.[0] ?? '';
  let body = QUESTION.test(t) ? t.slice(lead.length) : t;
  if (!QUESTION.test(t) && !t.endsWith('?')) {
    const inner = INNER_QUESTION.exec(t);
    if (inner) body = t.slice(inner.index);
  }
  return `${capitalize(body.replace(/[.?!,\s]+$/, ''))}?`;
}

const DECISION = new RegExp(
  [
    String.raw`\b(?:we|i|they|the team|everyone|everybody|all of us)\s+(?:have\s+|had\s+|all\s+|just\s+|finally\s+)?(?:decided|agreed|settled|concluded|chose|approved|committed|signed off)\b`,
    String.raw`\b(?:the\s+)?(?:final\s+)?(?:decision|consensus|verdict)\s+(?:is|was|has been|made)\b`,
    String.raw`\b(?:let'?s|we'?ll|we will|we are|we're|we'?re going to)\s+(?:go|going|stick|stay)\s+with\b`,
    String.raw`\bgo ahead with\b`,
    String.raw`\b(?:it'?s|it is|that'?s|that is)\s+(?:decided|agreed|settled|final)\b`,
  ].join('|'),
  'i',
);

/** A sentence that states a decision ("we decided", "the decision is", "let's go with"). */
export function isDecision(text: string): boolean {
  return DECISION.test(text);
}

/** "No, we will start with Germany" — a plan stated by the group (decides a should-we question). */
const GROUP_PLAN =
  /\b(?:we will|we'll|we are going to|we're going to|let's|we keep|we start|we stay|we ship|we launch|we release)\b/i;
export function statesGroupPlan(text: string): boolean {
  return GROUP_PLAN.test(text);
}

/** Questions asking the group whether to do something, which an answer turns into a decision. */
export function isGroupChoiceQuestion(text: string): boolean {
  return /\b(?:should|shall|do|can|could|must|will)\s+we\b|\bdoes it stay\b|\bwhat about\b/i.test(text);
}

const DEFERRAL = new RegExp(
  [
    String.raw`\b(?:not sure|no idea|don'?t know|do not know|doesn'?t know|unclear|undecided|tbd|to be decided|to be confirmed)\b`,
    String.raw`\b(?:nobody|no one|noone)\s+(?:has\s+)?(?:knows?|confirmed|decided|answered)\b`,
    String.raw`\b(?:has|have)\s*n[o']t\s+(?:been\s+)?(?:confirmed|decided|answered)\b`,
    String.raw`\b(?:will|'ll|can|could|should|must|need to|have to)\s+(?:decide|discuss|revisit|figure out|think about|talk about)\b`,
    String.raw`\b(?:come|get|circle)\s+back\s+(?:to|on)\b`,
    String.raw`\b(?:take|taking)\s+(?:it|that|this)\s+offline\b`,
    String.raw`\b(?:park|parking)\s+(?:it|that|this)\b`,
    String.raw`\bopen question\b`,
  ].join('|'),
  'i',
);

/** A sentence that leaves something open ("not sure", "we will decide that on Monday"). */
export function isDeferral(text: string): boolean {
  return DEFERRAL.test(text);
}

const ANSWER_START =
  /^(?:yes|yeah|yep|yup|no|nope|nah|sure|of course|definitely|absolutely|correct|right|exactly|not yet|i think|i believe|we decided|we agreed|it is|it's|they are|they're|that is|that's)\b/i;

/** A sentence that starts like an answer ("no", "yes", "I think"). */
export function startsLikeAnswer(text: string): boolean {
  return ANSWER_START.test(text.trim());
}

const ACCEPT_START =
  /^(?:yes|yeah|yep|yup|sure|okay|ok|alright|all right|will do|on it|of course|no problem|absolutely|definitely|fine|i will|i'll|i can|we'll do|i'm on it|consider it done)\b/i;

/** A reply that takes on a request ("sure, I'll call them tomorrow", "okay, will do"). */
export function acceptsRequest(text: string): boolean {
  return ACCEPT_START.test(text.trim());
}

const BLOCKER = new RegExp(
  [
    String.raw`\b(?:blocked|blocker|blocking|stuck)\b`,
    String.raw`\b(?:held|holding)\s+(?:us|me|them|it|things)?\s*(?:up|back)\b`,
    String.raw`\bwaiting\s+(?:on|for)\b`,
    String.raw`\b(?:can'?t|cannot|can not|unable to)\b[^.?!]*\b(?:until|without|because)\b`,
    String.raw`\bwithout\b[^.?!]*\b(?:can'?t|cannot|can not|unable to)\b`,
    String.raw`\b(?:is|are|was|were|running)\s+(?:still\s+)?(?:late|delayed|behind schedule|behind)\b`,
  ].join('|'),
  'i',
);

/** A sentence that reports something standing in the way ("I am blocked on …", "the integration is late"). */
export function isBlocker(text: string): boolean {
  return BLOCKER.test(text);
}

/** What someone was asked to do, and whom the request named. */
export interface Request {
  /** The word that addressed someone ("Ken, please …"), resolved to a participant when it sounds like one. */
  addressee: string | undefined;
  task: string;
}

const REQUEST_BODY =
  /\b(?:please|(?:can|could|would|will)\s+you(?:\s+please)?|i need you to|i'd like you to|you need to)\s+(?!be\b|hear\b|see\b|repeat\b)([a-z].*)$/i;
const VOCATIVE =
  /^(?:(?:so|okay|ok|and|then|also|alright)[,\s]+)?([A-Za-z][a-z'-]+),?\s+(?=please\b|(?:can|could|would|will) you\b|i need you to\b|you need to\b|i'd like you to\b)/i;
const NOT_VOCATIVE = new Set(
  'so okay ok and then also alright please you i we they it this that there now maybe just and but yes no sure'.split(
    ' ',
  ),
);

/** "Ken, please update the release notes" → addressee Ken; "could you call the bank" → no addressee. */
export function requestIn(text: string, participants: readonly string[]): Request | undefined {
  const body = REQUEST_BODY.exec(text);
  if (!body) return undefined;
  const vocative = VOCATIVE.exec(text)?.[1];
  let addressee: string | undefined;
  if (vocative && !NOT_VOCATIVE.has(vocative.toLowerCase())) {
    addressee = matchParticipant(vocative, participants) ?? (/^[A-Z]/.test(vocative) ? vocative : undefined);
  }
  return { addressee, task: body[1]! };
}

/** What someone committed to, and who ("I" → the speaker, a name → that person, "we" → nobody). */
export interface Commitment {
  /** undefined when the group committed ("we need to …"). */
  owner: string | undefined;
  task: string;
}

const MODAL = String.raw`(?:will|'ll|shall|am going to|'m going to|'m gonna|am gonna|are going to|'re going to|is going to|need to|needs to|have to|has to|must|should|plan to|promise to)`;
const NOT_A_TASK = String.raw`(?!\s*(?:be|have been|not|never|decide|discuss|revisit|think|talk|see|come back|get back|start with)\b)`;
const COMMITMENT = new RegExp(
  String.raw`\b(i|we|he|she|they|[a-z][a-z'-]+)\s*${MODAL}\s+${NOT_A_TASK}([a-z].*)$`,
  'i',
);
/** "I can finish the invoice emails by Friday": an offer with a date is a commitment. */
const OFFER = new RegExp(String.raw`\b(i|we)\s+can\s+${NOT_A_TASK}([a-z].*)$`, 'i');
const LET_ME = new RegExp(String.raw`\blet me\s+${NOT_A_TASK}([a-z].*)$`, 'i');
const LETS = new RegExp(
  String.raw`\blet'?s\s+(?!go with\b|stick with\b|start the\b|start with\b|begin\b|meet\b|wrap\b)${NOT_A_TASK}([a-z].*)$`,
  'i',
);
const PRONOUNS = new Set(['i', 'we', 'he', 'she', 'they']);
const NOT_NAMES = new Set(
  'it this that there who what which where when how everyone everybody someone somebody nobody anyone one team you'.split(
    ' ',
  ),
);

export function commitmentIn(
  text: string,
  speaker: string,
  participants: readonly string[],
): Commitment | undefined {
  const m = COMMITMENT.exec(text);
  if (m) {
    const word = m[1]!;
    const subject = word.toLowerCase();
    const task = m[2]!;
    if (subject === 'i') return { owner: speaker, task };
    if (PRONOUNS.has(subject)) return subject === 'we' ? { owner: undefined, task } : undefined;
    if (!NOT_NAMES.has(subject)) {
      const named = participants.find((p) => p.toLowerCase() === subject);
      if (named) return { owner: named, task };
      if (/^[A-Z][a-z'-]+$/.test(word) && !/^(?:It|This|That|There|The|Then|So)$/.test(word)) {
        return { owner: word, task };
      }
    }
  }
  const offer = OFFER.exec(text);
  if (offer && findDue(offer[2]!)) {
    return { owner: offer[1]!.toLowerCase() === 'i' ? speaker : undefined, task: offer[2]! };
  }
  const letMe = LET_ME.exec(text);
  if (letMe) return { owner: speaker, task: letMe[1]! };
  const lets = LETS.exec(text);
  if (lets) return { owner: undefined, task: lets[1]! };
  return undefined;
}

export function capitalize(text: string): string {
  const t = text.trim();
  return t === '' ? t : t[0]!.toUpperCase() + t.slice(1);
}
