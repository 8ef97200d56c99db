/**
 * When the rolling briefing of a live meeting is updated, and the update itself. The fan-out
 * calls `afterFinal` once a final has been stored and delivered (and `afterEnd` when the meeting
 * ends); an update that is due reads the finals since the stored briefing, advances it
 * (rolling.ts), stores it conditionally and returns the `briefing_update` to post — or nothing,
 * when it is not due or another delivery stored it first.
 *
 * Cost bound (docs/architecture.md "Rolling briefing"): an update runs when `everyFinals` finals
 * have arrived since the last, or `everySeconds` have passed with at least one new final, and
 * never sooner than `minSeconds` after the last. With OpenAI the defaults (20 finals / 120 s /
 * at least 60 s) allow at most 60 requests per meeting-hour.
 *
 * Push bound (docs/protocol.md "Rolling briefing"): an update is posted to every subscriber, so
 * its cost grows with the audience. Updates are therefore also spaced by the audience the final
 * reached — at least `audience / PUSH_BUDGET_PER_SECOND` seconds apart, at most a minute
 * (`pushSpacingMs`) — so briefing posts average at most 20 a second per meeting up to 1,200
 * viewers, and one a minute per viewer beyond. Which updates are posted at all is
 * briefing-push.ts's rule (items at once, summary-only changes at most once a minute, no-change
 * never); a held-back update is stored. A viewer gets the stored briefing on `subscribe` and
 * `get_state` whenever it asks.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { MeetingRepository } from '../meetings/repository';
import type { ServerMessage } from '../realtime/protocol';
import type { SegmentRepository } from '../transcript/segment-repository';
import { contentOf, shouldPost, viewersHave } from './briefing-push';
import { type BriefingEngine, EMBEDDED_BRIEF_ENGINE, type TranscriptLine } from './model';
import { advanceBriefing, briefingDelta } from './rolling';
import { type BriefingDelta, publicBriefing, type StoredRollingBriefing } from './rolling-model';
import type { RollingBriefingRepository } from './rolling-repository';

export interface RollingPolicy {
  everyFinals: number;
  everySeconds: number;
  minSeconds: number;
}

/** The embedded engine costs milliseconds: update often. */
export const EMBEDDED_ROLLING_POLICY: RollingPolicy = { everyFinals: 5, everySeconds: 20, minSeconds: 3 };
/** A model costs money and seconds: at most once a minute (≤ 60 requests per meeting-hour). */
export const MODEL_ROLLING_POLICY: RollingPolicy = { everyFinals: 20, everySeconds: 120, minSeconds: 60 };
/** Briefing posts a meeting may cost per second, on average, whatever its audience (≤ 1,200). */
export const PUSH_BUDGET_PER_SECOND = 20;
/** The longest a large audience waits between briefing updates. */
export const MAX_PUSH_SPACING_MS = 60_000;

/** How far apart updates are spaced for `audience` subscribers: audience / 20 s, at most a minute. */
export function pushSpacingMs(audience: number): number {
  return Math.min(MAX_PUSH_SPACING_MS, (Math.max(0, audience) * 1000) / PUSH_BUDGET_PER_SECOND);
}

/** The policy for a final that reached `audience` subscribers: `minSeconds` raised to its spacing. */
export function policyFor(policy: RollingPolicy, audience: number): RollingPolicy {
  const minSeconds = Math.max(policy.minSeconds, pushSpacingMs(audience) / 1000);
  return minSeconds === policy.minSeconds ? policy : { ...policy, minSeconds };
}

function briefingUpdate(stored: StoredRollingBriefing, added: BriefingDelta): BriefingUpdate {
  return { type: 'briefing_update', meetingId: stored.meetingId, briefing: publicBriefing(stored), added };
}

/** Finals read in one update at most (a meeting that was briefed long ago catches up in steps). */
const MAX_LINES_PER_UPDATE = 500;

export interface RollingBriefingsDeps {
  repo: Pick<RollingBriefingRepository, 'get' | 'put'>;
  segments: Pick<SegmentRepository, 'all'>;
  meetings: Pick<MeetingRepository, 'get'>;
  engine: () => Promise<BriefingEngine>;
  logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** Overrides the policy of the engine in use (tests). */
  policy?: RollingPolicy;
  now?: () => number;
}

type BriefingUpdate = Extract<ServerMessage, { type: 'briefing_update' }>;

/** The last update of a meeting's briefing: the seq it covers, when it was made (epoch ms). */
export interface LastUpdate {
  coversSeq: number;
  at: number;
}

/**
 * Whether final `seq` makes an update due: `everyFinals` new finals, or `everySeconds` passed
 * with at least one, and never within `minSeconds` of the last update.
 */
export function isDue(last: LastUpdate, seq: number, now: number, policy: RollingPolicy): boolean {
  const newFinals = seq - last.coversSeq;
  if (newFinals <= 0) return false;
  const since = now - last.at;
  if (since < policy.minSeconds * 1000) return false;
  return newFinals >= policy.everyFinals || since >= policy.everySeconds * 1000;
}

export class RollingBriefings {
  /** What this container last knew of each meeting's briefing: spares a read per final. */
  private readonly known = new Map<string, LastUpdate>();

  constructor(private readonly deps: RollingBriefingsDeps) {}

  /**
   * After final `seq` was delivered to `audience` subscribers: the update to post, if one is
   * due, this call made it, and it changed what viewers see.
   */
  async afterFinal(meetingId: string, seq: number, audience = 0): Promise<BriefingUpdate | undefined> {
    const policy = policyFor(await this.policy(), audience);
    const cached = this.known.get(meetingId);
    const now = this.deps.now?.() ?? Date.now();
    if (cached && !isDue(cached, seq, now, policy)) return undefined;
    const stored = await this.deps.repo.get(meetingId);
    const state = stored ? { coversSeq: stored.coversSeq, at: Date.parse(stored.generatedAt) } : undefined;
    this.remember(meetingId, state ?? { coversSeq: 0, at: Number.NEGATIVE_INFINITY });
    if (state && !isDue(state, seq, now, policy)) return undefined;
    return this.update(meetingId, stored);
  }

  /**
   * The meeting ended: brief what was said since the last update, however recent it was (and
   * whatever the audience: the last update is always posted when it changed anything).
   */
  async afterEnd(meetingId: string): Promise<BriefingUpdate | undefined> {
    const stored = await this.deps.repo.get(meetingId);
    const meeting = await this.deps.meetings.get(meetingId);
    const lastSeq = meeting?.lastSeq ?? 0;
    if (lastSeq > (stored?.coversSeq ?? 0)) return this.update(meetingId, stored, true);
    // Nothing new to read; a stored update that was held back is posted now, as the last one.
    const held = stored?.memory.unsent;
    return stored && held ? briefingUpdate(stored, briefingDelta(held.posted, stored)) : undefined;
  }

  /** Advances, stores and returns the update to post: when it changed anything, or `ending`. */
  private async update(
    meetingId: string,
    stored: StoredRollingBriefing | undefined,
    ending = false,
  ): Promise<BriefingUpdate | undefined> {
    const lines: TranscriptLine[] = [];
    for await (const s of this.deps.segments.all(meetingId, stored?.coversSeq ?? 0)) {
      if (s.text.trim() !== '') {
        lines.push({ seq: s.seq, speaker: s.speaker, text: s.text, startMs: s.startMs, endMs: s.endMs });
      }
      if (lines.length >= MAX_LINES_PER_UPDATE) break;
    }
    if (lines.length === 0) return undefined;
    const [engine, meeting] = await Promise.all([this.deps.engine(), this.deps.meetings.get(meetingId)]);
    const now = new Date(this.deps.now?.() ?? Date.now());
    const advanced = await advanceBriefing(meetingId, stored, lines, engine, {
      title: meeting?.title ?? '',
      now,
    });
    // Held back (briefing-push.ts): stored with what viewers have; subscribe and get_state send it.
    const have = viewersHave(stored);
    const lastPostAt = stored?.memory.lastPostAt ?? 0;
    const post = ending || shouldPost(have, advanced, lastPostAt, now.getTime());
    const next: StoredRollingBriefing = {
      ...advanced,
      memory: {
        ...advanced.memory,
        lastPostAt: post ? now.getTime() : lastPostAt,
        ...(post || !have ? {} : { unsent: { posted: contentOf(have) } }),
      },
    };
    if (!(await this.deps.repo.put(next))) {
      this.deps.logger.debug('rolling briefing already updated by another delivery', { meetingId });
      this.known.delete(meetingId);
      return undefined;
    }
    this.remember(meetingId, { coversSeq: next.coversSeq, at: now.getTime() });
    this.deps.logger.info('rolling briefing updated', {
      meetingId,
      coversSeq: next.coversSeq,
      lines: lines.length,
      engine: next.engine,
      posted: post,
    });
    return post ? briefingUpdate(next, briefingDelta(have, next)) : undefined;
  }

  private async policy(): Promise<RollingPolicy> {
    if (this.deps.policy) return this.deps.policy;
    const engine = await this.deps.engine();
    return engine.briefEngine === EMBEDDED_BRIEF_ENGINE ? EMBEDDED_ROLLING_POLICY : MODEL_ROLLING_POLICY;
  }

  private remember(meetingId: string, known: LastUpdate): void {
    if (this.known.size >= 10_000) this.known.clear();
    this.known.set(meetingId, known);
  }
}
