/**
 * Pause, resume and stop: what a meeting's owner can tell a live meeting to do, from the
 * WebSocket `command` route (core/realtime/routes.ts) and the REST API (`POST /meetings/{id}/leave`).
 *
 * Each command is appended to the meeting's command log first (the audio gateway applies the
 * log's transitions in order, so a pause is applied however soon a resume follows it), then the
 * Recall bot is told, then the new status is recorded and announced to subscribers.
 * Callers check who may control the meeting (core/meetings/lifecycle.ts `canControl`).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { UpstreamError } from '../errors';
import type { PipelineEvent } from '../pipeline/events';
import type { RecallClient } from '../recall/client';
import { RecallApiError } from '../recall/errors';
import { changeStatus, planCommand } from './lifecycle';
import type { Meeting, MeetingStatus } from './model';
import type { MeetingRepository } from './repository';

export const LIFECYCLE_COMMANDS = ['pause', 'resume', 'stop'] as const;
export type LifecycleCommand = (typeof LIFECYCLE_COMMANDS)[number];

export interface MeetingCommandDeps {
  meetings: Pick<MeetingRepository, 'appendCommand' | 'setStatusIf'>;
  /** Only called when the meeting has a bot. */
  recall: () => Promise<RecallClient | undefined>;
  publish: (event: PipelineEvent) => Promise<void>;
  logger: Pick<Logger, 'error' | 'info'>;
}

const BOT_CALLS: Record<LifecycleCommand, (client: RecallClient, botId: string) => Promise<void>> = {
  pause: (c, id) => c.pauseRecording(id),
  resume: (c, id) => c.resumeRecording(id),
  stop: (c, id) => c.leaveCall(id),
};

/**
 * Applies `command` to `meeting` and returns the status the meeting should have afterwards
 * (not yet recorded: see `recordStatusChange`). Throws `ConflictError` (INVALID_STATE) when the
 * meeting's status does not allow the command, and `UpstreamError` (UPSTREAM_ERROR) when the bot
 * refuses it.
 */
export async function applyLifecycleCommand(
  meeting: Meeting,
  command: LifecycleCommand,
  deps: MeetingCommandDeps,
): Promise<MeetingStatus> {
  const plan = planCommand(meeting.status, command);
  const recall = meeting.botId ? await deps.recall() : undefined;
  if (plan.transition) await deps.meetings.appendCommand(meeting.meetingId, plan.transition);
  if (recall && meeting.botId) {
    try {
      await BOT_CALLS[command](recall, meeting.botId);
    } catch (error) {
      if (command === 'stop' && botAlreadyLeft(error)) {
        // What stop asks for has happened (the call ended, or the bot was removed): the gateway
        // ends the meeting when Recall's socket closes, as after any leave.
        deps.logger.info('stop: the bot had already left the call', { meetingId: meeting.meetingId });
        return plan.status;
      }
      deps.logger.error('Recall call failed', {
        meetingId: meeting.meetingId,
        command,
        error: String(error),
      });
      throw new UpstreamError('UPSTREAM_ERROR', 'The meeting bot did not accept the command; try again');
    }
  }
  return plan.status;
}

/** Recall refused a command because its bot has completed (left the call, or was removed). */
function botAlreadyLeft(error: unknown): boolean {
  return error instanceof RecallApiError && error.recallCode === 'cannot_command_completed_bot';
}

/** Records `status` and sends a `status` event to the meeting's subscribers, if it changed. */
export async function recordStatusChange(
  meeting: Pick<Meeting, 'meetingId' | 'status'>,
  status: MeetingStatus,
  deps: Pick<MeetingCommandDeps, 'meetings' | 'publish'>,
): Promise<void> {
  if (status === meeting.status) return;
  await changeStatus(deps, meeting.meetingId, status);
}
