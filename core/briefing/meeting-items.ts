/**
 * Decisions, action items, open questions and blockers of a meeting, from its utterances in
 * order. Each sentence is first judged on its own wording (cues.ts), then in context:
 *
 * - a question is open unless the next turn by someone else answers it ("no, we decided …");
 *   a reply that defers it ("we will decide that on Monday", "not sure") keeps it open, and a
 *   question nobody replies to stays open;
 * - "should we …?" answered with a plan ("no, we will start with Germany") makes that plan a decision;
 * - a request ("Ken, please …", "could you …?") is an action item of the person addressed, or of
 *   whoever accepts it in the next turns; an acceptance that restates the task ("sure, I'll call
 *   them tomorrow") is the same item, and its due date wins (the owner said it);
 * - a commitment ("I will …", "Dana should …", "we need to …") is an action item of the speaker,
 *   the named person, or nobody (the group).
 */
import {
  acceptsRequest,
  capitalize,
  commitmentIn,
  isBlocker,
  isDecision,
  isDeferral,
  isGroupChoiceQuestion,
  isQuestion,
  questionText,
  requestIn,
  startsLikeAnswer,
  statesGroupPlan,
} from './cues';
import { findDue, withoutDue } from './due-dates';
import type { Utterance } from './utterances';

export interface ExtractedAction {
  text: string;
  owner?: string;
  due?: string;
  seq: number;
}

export interface MeetingItems {
  decisions: { text: string; seq: number }[];
  actionItems: ExtractedAction[];
  openQuestions: { text: string; seq: number }[];
  blockers: { text: string; seq: number }[];
}

/** How many following utterances may answer a question or accept a request. */
const REPLY_WINDOW = 3;

export function extractMeetingItems(
  utterances: readonly Utterance[],
  participants: readonly string[],
): MeetingItems {
  const items: MeetingItems = { decisions: [], actionItems: [], openQuestions: [], blockers: [] };
  const consumed = new Set<number>();
  const decided = new Set<number>();

  utterances.forEach((u, i) => {
    if (consumed.has(i)) return;
    const text = u.text;

    if (isBlocker(text) && !isQuestion(text)) {
      const next = utterances[i + 1];
      const more = next && next.turn === u.turn && !isQuestion(next.text) ? ` ${next.text}` : '';
      items.blockers.push({ text: `${u.speaker}: ${sentence(text)}${more}`, seq: u.seq });
    }

    if (decided.has(i) || (isDecision(text) && !isQuestion(text))) {
      items.decisions.push({ text: sentence(stripAnswerWord(text)), seq: u.seq });
      return;
    }

    const request = requestIn(text, participants);
    if (request) {
      addRequest(u, i, request.addressee, request.task);
      return;
    }

    if (isQuestion(text)) {
      const replies = repliesTo(i);
      const deferred =
        replies.some((r) => isDeferral(r.text)) || /\bopen question\b/i.test(previousInTurn(i));
      const answer = replies[0];
      const answered =
        !deferred && answer !== undefined && (startsLikeAnswer(answer.text) || isDecision(answer.text));
      if (answered && isGroupChoiceQuestion(text)) {
        // "Should we launch everywhere?" — "No, we will start with Germany": the answer decides.
        const plan = replies.find((r) => statesGroupPlan(r.text) || isDecision(r.text));
        if (plan) decided.add(plan.index);
      }
      if (!answered) items.openQuestions.push({ text: questionText(text), seq: u.seq });
      return;
    }

    if (isDeferral(text)) return;
    const commitment = commitmentIn(text, u.speaker, participants);
    if (commitment) addAction(u, commitment.owner, commitment.task);
  });

  return {
    decisions: dedupeBy(items.decisions, (d) => d.text),
    actionItems: items.actionItems,
    openQuestions: dedupeBy(items.openQuestions, (q) => q.text),
    blockers: items.blockers,
  };

  /**
   * The reply: the first turn by someone else after utterance i (the rest of the asker's own
   * turn is skipped), at most REPLY_WINDOW utterances of it.
   */
  function repliesTo(i: number): Utterance[] {
    const asker = utterances[i]!;
    let j = i + 1;
    while (j < utterances.length && utterances[j]!.turn === asker.turn) j++;
    const first = utterances[j];
    if (!first || first.speaker === asker.speaker) return [];
    const out: Utterance[] = [];
    for (; j < utterances.length && out.length < REPLY_WINDOW && utterances[j]!.turn === first.turn; j++) {
      out.push(utterances[j]!);
    }
    return out;
  }

  function previousInTurn(i: number): string {
    const prev = utterances[i - 1];
    return prev && prev.turn === utterances[i]!.turn ? prev.text : '';
  }

  function addRequest(u: Utterance, i: number, addressee: string | undefined, task: string): void {
    let owner = addressee;
    let due = findDue(task);
    for (const reply of repliesTo(i)) {
      if (addressee && reply.speaker !== addressee) continue;
      if (!acceptsRequest(reply.text)) break;
      owner ??= reply.speaker;
      consumed.add(reply.index);
      // The reply's own words may continue in its next sentence ("Sure. I'll call them tomorrow.").
      const next = utterances[reply.index + 1];
      const said = next && next.turn === reply.turn ? `${reply.text} ${next.text}` : reply.text;
      if (next && next.turn === reply.turn && commitmentIn(next.text, reply.speaker, []))
        consumed.add(next.index);
      const replyDue = findDue(said);
      if (replyDue) due = replyDue;
      break;
    }
    const ownDue = findDue(task);
    items.actionItems.push({
      text: sentence(withoutDue(task, ownDue)),
      ...(owner ? { owner } : {}),
      ...(due ? { due: due.due } : {}),
      seq: u.seq,
    });
  }

  function addAction(u: Utterance, owner: string | undefined, task: string): void {
    const due = findDue(task) ?? findDue(u.text);
    items.actionItems.push({
      text: sentence(withoutDue(task, findDue(task))),
      ...(owner ? { owner } : {}),
      ...(due ? { due: due.due } : {}),
      seq: u.seq,
    });
  }
}

/** Drops a leading "No," / "Yes." that only answered the question before. */
function stripAnswerWord(text: string): string {
  return text.replace(/^(?:no|yes|yeah|okay|ok|so|well)\b[,.]?\s+/i, '');
}

/** Capitalised, trailing punctuation normalised to one full stop. */
function sentence(text: string): string {
  const t = capitalize(text.replace(/[\s,;:]+$/, '').replace(/[.?!]+$/, ''));
  return t === '' ? t : `${t}.`;
}

function dedupeBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item).toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
