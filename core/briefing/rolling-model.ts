/**
 * The shapes of the rolling briefing (rolling.ts computes it): what clients receive in a
 * `briefing_update`, and what is stored with it for the next update. Types and plain data
 * only, so the realtime routes can send a stored briefing without loading the engines.
 */
import type { ActionItem, BriefContent, TranscriptLine } from './model';

export interface RollingBriefing extends BriefContent {
  meetingId: string;
  /** The last final seq the briefing has read. */
  coversSeq: number;
  engine: string;
  generatedAt: string;
  /** 1 for the first update of the meeting, then 2, 3 … */
  updates: number;
}

/** What an update added: items and topics not in the previous briefing; the summary if it changed. */
export interface BriefingDelta {
  summary?: string;
  keyPoints: string[];
  decisions: string[];
  actionItems: ActionItem[];
  openQuestions: string[];
  blockers: string[];
  topics: string[];
}

export interface SeqItem {
  seq: number;
}

/** What the next update needs that clients do not: where each item came from, the last lines. */
export interface RollingMemory {
  tail: TranscriptLine[];
  decisions: (SeqItem & { text: string })[];
  actionItems: (SeqItem & ActionItem)[];
  openQuestions: (SeqItem & { text: string })[];
  blockers: (SeqItem & { text: string })[];
  /** Key points as lines, so the next TextRank can weigh them against new lines. */
  keyLines: TranscriptLine[];
  /** When an update was last posted to viewers (epoch ms). */
  lastPostAt?: number;
  /** This update was held back (briefing-push.ts): what viewers last got instead. */
  unsent?: { posted: BriefContent };
}

export interface StoredRollingBriefing extends RollingBriefing {
  memory: RollingMemory;
}

export const EMPTY_DELTA: BriefingDelta = {
  keyPoints: [],
  decisions: [],
  actionItems: [],
  openQuestions: [],
  blockers: [],
  topics: [],
};

/** The client's view: the stored briefing without the update's memory. */
export function publicBriefing(stored: StoredRollingBriefing): RollingBriefing {
  const { memory: _memory, ...briefing } = stored;
  return briefing;
}
