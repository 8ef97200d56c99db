/**
 * The meeting routes of the REST API: join (create), list, read, leave, share. Each function
 * takes the caller's user id and exactly the dependencies it uses, so each Lambda gets only
 * the configuration and permissions its route needs.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { applyLifecycleCommand, type MeetingCommandDeps, recordStatusChange } from '../meetings/commands';
import type { MeetingRepository } from '../meetings/repository';
import { createMeeting } from '../meetings/service';
import type { RecallClient } from '../recall/client';
import { meetingView, ownedMeeting, readableMeeting, statusView } from './access';
import { decodeMeetingsCursor, encodeMeetingsCursor } from './cursor';
import { FieldValidationError } from './errors';
import { startMicrophoneMeeting } from './microphone';
import type { CreateMeetingRequest, MeetingStatusView, MeetingView } from './schemas';

export interface CreateMeetingDeps {
  meetings: Pick<MeetingRepository, 'create' | 'get' | 'setBot' | 'setStatus'>;
  recall: () => Promise<RecallClient | undefined>;
  /** Public wss base URL of the audio gateway (AUDIO_GATEWAY_URL). */
  audioGatewayUrl: string;
  /** Local mode: accept `local://…` meeting URLs (the Recall simulator's meetings). */
  allowLocalMeetingUrls: boolean;
  logger: Logger;
}

export const DEFAULT_MEETING_TITLE = 'Untitled meeting';

/** Meeting links are https; local mode also takes the simulator's `local://…` meetings. */
export function checkMeetingUrl(raw: string, allowLocal: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FieldValidationError('meetingUrl', 'meetingUrl: must be a URL');
  }
  if (url.protocol === 'https:' || (allowLocal && url.protocol === 'local:')) return raw;
  throw new FieldValidationError(
    'meetingUrl',
    `meetingUrl: must be an https:// meeting link${allowLocal ? ' or a local:// meeting' : ''}`,
  );
}

/** Creates the meeting, its Recall endpoint token and its bot; the meeting starts `joining`. */
export async function joinMeeting(
  userId: string,
  body: CreateMeetingRequest,
  deps: CreateMeetingDeps,
): Promise<MeetingView> {
  if (body.source === 'microphone') {
    return startMicrophoneMeeting(userId, body, { ...deps, defaultTitle: DEFAULT_MEETING_TITLE });
  }
  if (body.meetingUrl === undefined) {
    throw new FieldValidationError('meetingUrl', 'meetingUrl: required unless source is "microphone"');
  }
  const meetingUrl = checkMeetingUrl(body.meetingUrl, deps.allowLocalMeetingUrls);
  const meeting = await createMeeting(
    {
      ownerId: userId,
      title: body.title ?? DEFAULT_MEETING_TITLE,
      meetingUrl,
      keywords: body.keywords ?? [],
      language: body.language ?? 'en',
      ...(body.botName ? { botName: body.botName } : {}),
    },
    {
      repo: deps.meetings,
      recall: await deps.recall(),
      audioGatewayUrl: deps.audioGatewayUrl,
      logger: deps.logger,
    },
  );
  return meetingView(meeting, userId);
}

/** The caller's own meetings, newest first. */
export async function listMeetings(
  userId: string,
  query: { limit: number; cursor?: string },
  deps: { meetings: Pick<MeetingRepository, 'listByOwner'> },
): Promise<{ meetings: MeetingView[]; nextCursor: string | null }> {
  const start = query.cursor ? decodeMeetingsCursor(query.cursor, userId) : undefined;
  const page = await deps.meetings.listByOwner(userId, { limit: query.limit, cursor: start });
  return {
    meetings: page.items.map((meeting) => meetingView(meeting, userId)),
    nextCursor: page.cursor ? encodeMeetingsCursor(page.cursor) : null,
  };
}

export async function getMeeting(
  userId: string,
  meetingId: string,
  deps: { meetings: Pick<MeetingRepository, 'get'> },
): Promise<MeetingView> {
  return meetingView(await readableMeeting(deps.meetings, meetingId, userId), userId);
}

export async function getMeetingStatus(
  userId: string,
  meetingId: string,
  deps: { meetings: Pick<MeetingRepository, 'get'> },
): Promise<MeetingStatusView> {
  return statusView(await readableMeeting(deps.meetings, meetingId, userId));
}

/** The bot leaves the call (irreversible); the meeting becomes `disconnecting`, then `ended`. */
export async function leaveMeeting(
  userId: string,
  meetingId: string,
  deps: MeetingCommandDeps & { meetings: Pick<MeetingRepository, 'get'> },
): Promise<MeetingStatusView> {
  const meeting = await ownedMeeting(deps.meetings, meetingId, userId, 'make the bot leave');
  const status = await applyLifecycleCommand(meeting, 'stop', deps);
  await recordStatusChange(meeting, status, deps);
  return statusView({ ...meeting, status, desiredState: 'stop', updatedAt: new Date().toISOString() });
}

export async function shareMeeting(
  userId: string,
  meetingId: string,
  withUser: string,
  maxShares: number,
  deps: { meetings: Pick<MeetingRepository, 'get' | 'share'> },
): Promise<{ meetingId: string; sharedWith: string[] }> {
  await ownedMeeting(deps.meetings, meetingId, userId, 'share it');
  if (withUser === userId) throw new FieldValidationError('userId', 'userId: you own this meeting already');
  const sharedWith = await deps.meetings.share(meetingId, withUser, maxShares);
  return { meetingId, sharedWith };
}

export async function unshareMeeting(
  userId: string,
  meetingId: string,
  withUser: string,
  deps: { meetings: Pick<MeetingRepository, 'get' | 'unshare'> },
): Promise<{ meetingId: string; sharedWith: string[] }> {
  await ownedMeeting(deps.meetings, meetingId, userId, 'change who it is shared with');
  const sharedWith = await deps.meetings.unshare(meetingId, withUser);
  return { meetingId, sharedWith };
}
