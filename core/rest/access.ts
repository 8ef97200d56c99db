/**
 * Who may see and do what with a meeting over the REST API, and the public view of a meeting.
 * A meeting the caller may not read is answered exactly like one that does not exist (404
 * MEETING_NOT_FOUND): its existence never leaks. A reader who is not the owner gets 403 on
 * owner-only actions.
 */
import { ForbiddenError, NotFoundError } from '../errors';
import { canControl, canRead } from '../meetings/lifecycle';
import type { Meeting } from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import type { MeetingStatusView, MeetingView } from './schemas';

export function meetingNotFound(meetingId: string): NotFoundError {
  return new NotFoundError(`Meeting ${meetingId} not found`, 'MEETING_NOT_FOUND');
}

export async function readableMeeting(
  meetings: Pick<MeetingRepository, 'get'>,
  meetingId: string,
  userId: string,
): Promise<Meeting> {
  const meeting = await meetings.get(meetingId);
  if (!meeting || !canRead(meeting, userId)) throw meetingNotFound(meetingId);
  return meeting;
}

export async function ownedMeeting(
  meetings: Pick<MeetingRepository, 'get'>,
  meetingId: string,
  userId: string,
  action: string,
): Promise<Meeting> {
  const meeting = await readableMeeting(meetings, meetingId, userId);
  if (!canControl(meeting, userId)) throw new ForbiddenError(`Only the meeting owner can ${action}`);
  return meeting;
}

/** The public view: no endpoint token hash, bot id, seq counter or status epoch. */
export function meetingView(meeting: Meeting, userId: string): MeetingView {
  const owner = meeting.ownerId === userId;
  return {
    meetingId: meeting.meetingId,
    title: meeting.title,
    status: meeting.status,
    paused: meeting.desiredState === 'pause',
    keywords: meeting.keywords ?? [],
    language: meeting.language,
    role: owner ? 'owner' : 'viewer',
    ...(owner ? { meetingUrl: meeting.meetingUrl, sharedWith: meeting.sharedWith ?? [] } : {}),
    lastSeq: meeting.lastSeq ?? 0,
    ...(meeting.source ? { source: meeting.source } : {}),
    createdAt: meeting.createdAt,
    updatedAt: meeting.updatedAt,
    ...(meeting.endedAt ? { endedAt: meeting.endedAt } : {}),
  };
}

export function statusView(meeting: Meeting): MeetingStatusView {
  return {
    meetingId: meeting.meetingId,
    status: meeting.status,
    paused: meeting.desiredState === 'pause',
    lastSeq: meeting.lastSeq ?? 0,
    updatedAt: meeting.updatedAt,
    ...(meeting.endedAt ? { endedAt: meeting.endedAt } : {}),
  };
}
