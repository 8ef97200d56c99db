/**
 * Ends meetings stuck in `disconnecting`. The bot has left and the webhook set `disconnecting`;
 * normally the gateway task holding the meeting finalizes the last words and marks it `ended`
 * within seconds. When no task holds it (the task crashed and Recall gave up reconnecting),
 * nothing else would ever end it: this sweep, run on a schedule (lambdas/sweeper), does.
 *
 * It scans the meetings table (no index serves "status = disconnecting"; a meeting is one small
 * item, so a sweep reads about 1 KB per meeting ever created — see docs/operations.md for the
 * cost) and ends, with a conditional write, each meeting whose last update is older than
 * `stuckAfterMs`, then publishes its `status` event so subscribers hear `ended`.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PipelineEvent } from '../pipeline/events';
import { changeStatus } from './lifecycle';
import type { MeetingRepository } from './repository';

/**
 * A meeting still `disconnecting` this long after its last update has no task: a holding task
 * ends it within seconds, and one that lost Recall waits RECALL_RECONNECT_GRACE_MS (100 s)
 * before finalizing. Ten minutes leaves a wide margin over both.
 */
export const STUCK_DISCONNECTING_AFTER_MS = 10 * 60_000;
/** The sweep's own bound per run (scan pages); the next run continues where items remain. */
export const MAX_SCAN_PAGES = 50;

export interface SweepDeps {
  meetings: Pick<MeetingRepository, 'setStatusIf' | 'findStale'>;
  publish: (event: PipelineEvent) => Promise<void>;
  logger: Pick<Logger, 'info' | 'warn'>;
  now?: () => Date;
}

export interface SweepResult {
  /** Meetings the scan found stuck. */
  found: number;
  /** Meetings this run moved to `ended` (another writer may have ended the rest first). */
  ended: string[];
}

export async function sweepStuckMeetings(
  deps: SweepDeps,
  opts: { stuckAfterMs?: number; maxPages?: number } = {},
): Promise<SweepResult> {
  const now = deps.now?.() ?? new Date();
  const cutoff = new Date(now.getTime() - (opts.stuckAfterMs ?? STUCK_DISCONNECTING_AFTER_MS));
  const { meetingIds: stuck, complete } = await deps.meetings.findStale(
    'disconnecting',
    cutoff,
    opts.maxPages ?? MAX_SCAN_PAGES,
  );
  if (!complete)
    deps.logger.warn('sweep stopped at its page bound; the next run continues', { stuck: stuck.length });

  const ended: string[] = [];
  for (const meetingId of stuck) {
    // Conditional: a task or webhook that ended it meanwhile wins, and nothing is published twice.
    const changed = await changeStatus(deps, meetingId, 'ended', {
      from: ['disconnecting'],
      reason: 'No audio gateway task held the meeting after the bot left; ended by the sweeper.',
      now,
    });
    if (!changed) continue;
    deps.logger.info('ended a meeting stuck in disconnecting', { meetingId });
    ended.push(meetingId);
  }
  return { found: stuck.length, ended };
}
