/**
 * Pause, resume and stop: what a meeting's owner can tell a live meeting to do, from the
 * WebSocket `command` route (core/realtime/routes.ts) and the REST API (`POST /meetings/{id}/leave`).
 *
 * The desired state is written first (the audio gateway polls it and follows within a second),
 * then the Recall bot is told, then the new status is recorded and announced to subscribers.
 * Callers check who may control the meeting; nothing here does.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { ConflictError, UpstreamError } from '../errors';
import type { PipelineEvent } from '../pipeline/events';
import type { RecallClient } from '../recall/client';
import type { Meeting, MeetingStatus } from './model';
import type { MeetingRepository } from './repository';

export const LIFECYCLE_COMMANDS = ['pause', 'resume', 'stop'] as const;
export type LifecycleCommand = (typeof LIFECYCLE_COMMANDS)[number];

export interface MeetingCommandDeps {
  meetings: Pick<MeetingRepository, 'setDesiredState' | 'setStatus'>;
  /** Only called when the meeting has a bot. */
  recall: () => Promise<RecallClient | undefined>;
  publish: (event: PipelineEvent) => Promise<void>;
  logger: Pick<Logger, 'error'>;
}

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
  const ended = meeting.status === 'ended' || meeting.status === 'failed';
  const recall = meeting.botId ? await deps.recall() : undefined;
  const botCall = async (call: (client: RecallClient, botId: string) => Promise<void>) => {
    if (!recall || !meeting.botId) return;
    try {
      await call(recall, meeting.botId);
    } catch (error) {
      deps.logger.error('Recall call failed', {
        meetingId: meeting.meetingId,
        command,
        error: String(error),
      });
      throw new UpstreamError('UPSTREAM_ERROR', 'The meeting bot did not accept the command; try again');
    }
  };
  switch (command) {
    case 'pause':
      if (ended || meeting.status === 'disconnecting') throw invalidState(meeting.status, 'pause');
      await deps.meetings.setDesiredState(meeting.meetingId, 'pause');
      await botCall((c, id) => c.pauseRecording(id));
      return 'paused';
    case 'resume':
      if (ended || meeting.status === 'disconnecting') throw invalidState(meeting.status, 'resume');
      await deps.meetings.setDesiredState(meeting.meetingId, 'run');
      await botCall((c, id) => c.resumeRecording(id));
      return meeting.status === 'joining' ? 'joining' : 'live';
    case 'stop':
      if (ended) throw invalidState(meeting.status, 'stop');
      await deps.meetings.setDesiredState(meeting.meetingId, 'stop');
      await botCall((c, id) => c.leaveCall(id));
      return 'disconnecting';
  }
}

/** Records `status` and sends a `status` event to the meeting's subscribers, if it changed. */
export async function recordStatusChange(
  meeting: Pick<Meeting, 'meetingId' | 'status'>,
  status: MeetingStatus,
  deps: Pick<MeetingCommandDeps, 'meetings' | 'publish'>,
): Promise<void> {
  if (status === meeting.status) return;
  const epoch = await deps.meetings.setStatus(meeting.meetingId, status);
  await deps.publish({
    v: 1,
    type: 'status',
    meetingId: meeting.meetingId,
    status,
    epoch,
    at: new Date().toISOString(),
  });
}

function invalidState(status: MeetingStatus, command: string): ConflictError {
  return new ConflictError(`Cannot ${command} a meeting that is ${status}`, 'INVALID_STATE');
}
