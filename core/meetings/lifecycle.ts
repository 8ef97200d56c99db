/**
 * The meeting lifecycle in one place: which status may follow which, who may read and steer a
 * meeting, what each command does to it, and `changeStatus`, the one way a status is written
 * and announced (commands, the audio gateway's sessions and Recall's webhooks all use it).
 *
 *   joining ──► live ⇄ paused ──► disconnecting ──► ended
 *      │          │        │            │
 *      └──────────┴────────┴────────────┴──────────► failed / ended
 *
 * Every write is conditional on the status it moves from, so two writers racing (a webhook and
 * the gateway, two commands) never move a meeting backwards or out of `ended` / `failed`.
 */
import { ConflictError } from '../errors';
import type { PipelineEvent } from '../pipeline/events';
import { type DesiredState, MEETING_STATUSES, type Meeting, type MeetingStatus } from './model';
import type { MeetingRepository } from './repository';

/** Statuses after which a meeting takes no more audio and no more commands. */
export function isTerminal(status: MeetingStatus): boolean {
  return status === 'ended' || status === 'failed';
}

/** The audio gateway finalizes a session whose meeting is in one of these statuses. */
export function sessionMustEnd(status: MeetingStatus): boolean {
  return isTerminal(status) || status === 'disconnecting';
}

export const NON_TERMINAL_STATUSES: readonly MeetingStatus[] = MEETING_STATUSES.filter((s) => !isTerminal(s));

/** For each status, the statuses a meeting may move to it from. */
export const TRANSITIONS_INTO: Readonly<Record<MeetingStatus, readonly MeetingStatus[]>> = {
  joining: [],
  live: ['joining', 'paused'],
  paused: ['joining', 'live'],
  disconnecting: ['joining', 'live', 'paused'],
  ended: NON_TERMINAL_STATUSES,
  failed: NON_TERMINAL_STATUSES,
};

const RANK: Record<MeetingStatus, number> = {
  joining: 0,
  live: 1,
  paused: 1,
  disconnecting: 2,
  ended: 3,
  failed: 3,
};

/**
 * Statuses strictly earlier in the lifecycle than `target` (Recall's webhooks only move a
 * meeting forward: `in_call_recording` never un-pauses it).
 */
export function statusesBefore(target: MeetingStatus): MeetingStatus[] {
  return MEETING_STATUSES.filter((status) => RANK[status] < RANK[target]);
}

export function canRead(meeting: Pick<Meeting, 'ownerId' | 'sharedWith'>, userId: string): boolean {
  return meeting.ownerId === userId || (meeting.sharedWith ?? []).includes(userId);
}

/** Only the owner steers a meeting (pause, resume, stop, configure, share). */
export function canControl(meeting: Pick<Meeting, 'ownerId'>, userId: string): boolean {
  return meeting.ownerId === userId;
}

export const MEETING_COMMANDS = ['pause', 'resume', 'stop', 'configure'] as const;
export type MeetingCommand = (typeof MEETING_COMMANDS)[number];

export interface CommandPlan {
  /** The transition appended to the meeting's command log (none for `configure`). */
  transition?: DesiredState;
  /** The status the meeting has once the command is accepted. */
  status: MeetingStatus;
}

/**
 * What `command` does to a meeting in `status`, or a ConflictError (INVALID_STATE) when the
 * status does not allow it: nothing is accepted once a meeting has ended, and only `stop` (and
 * `configure`) once the bot is leaving.
 */
export function planCommand(status: MeetingStatus, command: MeetingCommand): CommandPlan {
  const refuse = () => new ConflictError(`Cannot ${command} a meeting that is ${status}`, 'INVALID_STATE');
  if (isTerminal(status)) throw refuse();
  switch (command) {
    case 'pause':
      if (status === 'disconnecting') throw refuse();
      return { transition: 'pause', status: 'paused' };
    case 'resume':
      if (status === 'disconnecting') throw refuse();
      return { transition: 'run', status: status === 'joining' ? 'joining' : 'live' };
    case 'stop':
      return { transition: 'stop', status: 'disconnecting' };
    case 'configure':
      return { status };
  }
}

export interface ChangeStatusDeps {
  meetings: Pick<MeetingRepository, 'setStatusIf'>;
  publish: (event: PipelineEvent) => void | Promise<void>;
}

/**
 * Moves a meeting to `status` if its current status is one of `from` (default: every status
 * `status` may follow) and announces it to subscribers. Returns whether it changed; a meeting
 * already there, or past it, is left alone and nothing is announced.
 */
export async function changeStatus(
  deps: ChangeStatusDeps,
  meetingId: string,
  status: MeetingStatus,
  opts: { from?: readonly MeetingStatus[]; reason?: string; now?: Date } = {},
): Promise<boolean> {
  const now = opts.now ?? new Date();
  const epoch = await deps.meetings.setStatusIf(
    meetingId,
    status,
    opts.from ?? TRANSITIONS_INTO[status],
    now,
  );
  if (epoch === undefined) return false;
  await deps.publish({
    v: 1,
    type: 'status',
    meetingId,
    status,
    epoch,
    at: now.toISOString(),
    ...(opts.reason ? { reason: opts.reason.slice(0, 500) } : {}),
  });
  return true;
}
