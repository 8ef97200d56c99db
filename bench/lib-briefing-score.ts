/**
 * Scoring a briefing against a fixture's labelled `briefing`: precision and recall per field.
 *
 * An extracted item matches a label when it contains at least half of the label's content words
 * (stemmed, stop words removed, a parenthesised note in the label ignored); labels and items are
 * paired one to one, best coverage first, so a duplicate extraction counts against precision.
 * An action item is also checked for its owner (same name) and due date (same phrase once "by",
 * "on", "the" and case are set aside; both absent counts as the same).
 */
import { normalizeDue } from '../core/briefing/due-dates';
import type { BriefContent } from '../core/briefing/model';
import { contentTokens } from '../core/briefing/text';

export interface LabelledAction {
  owner: string | null;
  task: string;
  due: string | null;
}

export interface LabelledBriefing {
  topics: string[];
  decisions: string[];
  actionItems: LabelledAction[];
  openQuestions: string[];
  blockers: string[];
}

export interface FieldScore {
  labels: number;
  extracted: number;
  matched: number;
  precision: number;
  recall: number;
}

export interface BriefingScore {
  decisions: FieldScore;
  actionItems: FieldScore;
  /** Action items matched with the right owner and due date. */
  actionItemsExact: FieldScore;
  openQuestions: FieldScore;
  blockers: FieldScore;
  topics: FieldScore;
}

export const MATCH_COVERAGE = 0.5;

function labelStems(label: string): Set<string> {
  return new Set(contentTokens(label.replace(/\([^)]*\)/g, ' ')));
}

export function coverage(label: string, item: string): number {
  const want = labelStems(label);
  if (want.size === 0) return 0;
  const have = new Set(contentTokens(item));
  let hit = 0;
  for (const s of want) if (have.has(s)) hit++;
  return hit / want.size;
}

/** One-to-one pairs (label index, item index) with coverage ≥ MATCH_COVERAGE, best first. */
export function pair(labels: readonly string[], items: readonly string[]): [number, number][] {
  const candidates: { l: number; i: number; c: number }[] = [];
  labels.forEach((label, l) => {
    items.forEach((item, i) => {
      const c = coverage(label, item);
      if (c >= MATCH_COVERAGE) candidates.push({ l, i, c });
    });
  });
  candidates.sort((a, b) => b.c - a.c || a.l - b.l || a.i - b.i);
  const usedL = new Set<number>();
  const usedI = new Set<number>();
  const pairs: [number, number][] = [];
  for (const { l, i } of candidates) {
    if (usedL.has(l) || usedI.has(i)) continue;
    usedL.add(l);
    usedI.add(i);
    pairs.push([l, i]);
  }
  return pairs;
}

function field(labels: number, extracted: number, matched: number): FieldScore {
  return {
    labels,
    extracted,
    matched,
    precision: extracted === 0 ? (labels === 0 ? 1 : 0) : matched / extracted,
    recall: labels === 0 ? 1 : matched / labels,
  };
}

function simple(labels: readonly string[], items: readonly string[]): FieldScore {
  return field(labels.length, items.length, pair(labels, items).length);
}

export function scoreBriefing(label: LabelledBriefing, brief: BriefContent): BriefingScore {
  const actionPairs = pair(
    label.actionItems.map((a) => a.task),
    brief.actionItems.map((a) => a.text),
  );
  const exact = actionPairs.filter(([l, i]) => {
    const want = label.actionItems[l]!;
    const got = brief.actionItems[i]!;
    return (
      (want.owner ?? '').toLowerCase() === (got.owner ?? '').toLowerCase() &&
      normalizeDue(want.due) === normalizeDue(got.due)
    );
  }).length;
  return {
    decisions: simple(label.decisions, brief.decisions),
    actionItems: field(label.actionItems.length, brief.actionItems.length, actionPairs.length),
    actionItemsExact: field(label.actionItems.length, brief.actionItems.length, exact),
    openQuestions: simple(label.openQuestions, brief.openQuestions),
    blockers: simple(label.blockers, brief.blockers ?? []),
    topics: simple(label.topics, brief.topics ?? []),
  };
}

/** Sums of several fixtures' scores (micro-averaged precision and recall). */
export function totalScore(scores: readonly BriefingScore[]): BriefingScore {
  const keys = [
    'decisions',
    'actionItems',
    'actionItemsExact',
    'openQuestions',
    'blockers',
    'topics',
  ] as const;
  const out = {} as BriefingScore;
  for (const key of keys) {
    const sum = (f: (s: FieldScore) => number) => scores.reduce((a, s) => a + f(s[key]), 0);
    out[key] = field(
      sum((s) => s.labels),
      sum((s) => s.extracted),
      sum((s) => s.matched),
    );
  }
  return out;
}
