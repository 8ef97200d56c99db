/**
 * Whether a rolling briefing update is posted to viewers (docs/protocol.md "Rolling briefing"):
 * what a viewer acts on — decisions, action items, open questions, blockers — is posted with the
 * update that changes it; a change of the summary, key points or topics alone at most once a
 * minute (TextRank re-ranks the summary on almost every update, and a summary that rewrites
 * itself every few seconds is noise, and a message to every viewer); an update that changes
 * nothing visible never. A held-back update is stored with what viewers last got, so the next
 * post announces (`added`) everything new since then, and the meeting's end posts it.
 */
import type { BriefContent } from './model';
import { sameContent } from './rolling';
import type { StoredRollingBriefing } from './rolling-model';

/** A change of the summary, key points or topics alone is posted at most this often. */
export const SUMMARY_PUSH_SPACING_MS = 60_000;

/** The content fields of a briefing (what viewers see). */
export function contentOf(b: BriefContent): BriefContent {
  const { summary, keyPoints, decisions, actionItems, openQuestions, blockers, topics } = b;
  return { summary, keyPoints, decisions, actionItems, openQuestions, blockers, topics };
}

/** What viewers last got: the stored briefing, or what was posted before it when it was held back. */
export function viewersHave(stored: StoredRollingBriefing | undefined): BriefContent | undefined {
  return stored?.memory.unsent?.posted ?? stored;
}

const items = (b: BriefContent) => JSON.stringify([b.decisions, b.actionItems, b.openQuestions, b.blockers]);

/** Whether `next` is posted, given what viewers have and when they last got an update. */
export function shouldPost(
  have: BriefContent | undefined,
  next: BriefContent,
  lastPostAt: number,
  now: number,
): boolean {
  if (!have) return true;
  if (items(have) !== items(next)) return true;
  return !sameContent(have, next) && now - lastPostAt >= SUMMARY_PUSH_SPACING_MS;
}
