/**
 * The meeting routes of the REST API: join (create), list, read, leave, share. Each function
 * takes the caller's user id and exactly the dependencies it uses, so each Lambda gets only
 * the configuration and permissions its route needs.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { applyLifecycleCommand, type MeetingCommandDeps, recordStatusChange } from '../meetings/commands';
import { canRead } from '../meetings/lifecycle';
import type { Meeting } from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import { createMeeting } from '../meetings/service';
import { type ShareItem, type ShareRepository, shareKey } from '../meetings/share-repository';
import type { RecallClient } from '../recall/client';
import { meetingView, ownedMeeting, readableMeeting, statusView } from './access';
import {
  decodeMeetingsCursor,
  encodeMeetingsCursor,
  type ListPosition,
  type MeetingsPosition,
} from './cursor';
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

export interface ListMeetingsDeps {
  meetings: Pick<MeetingRepository, 'listByOwner' | 'getMany'>;
  shares: Pick<ShareRepository, 'listByReader'>;
}

/**
 * The caller's own meetings and the meetings shared with them, merged newest first. Each page
 * reads up to `limit` of each listing (byOwner index; the shares table), keeps the newest
 * `limit`, and the cursor says where each listing resumes. Shared meetings are read from the
 * meetings table and kept only if the caller may still read them, so a page can hold fewer
 * than `limit` meetings and still have a next one.
 */
export async function listMeetings(
  userId: string,
  query: { limit: number; cursor?: string },
  deps: ListMeetingsDeps,
): Promise<{ meetings: MeetingView[]; nextCursor: string | null }> {
  const from: MeetingsPosition = query.cursor
    ? decodeMeetingsCursor(query.cursor, userId)
    : { own: 'start', shared: 'start' };
  const after = <K>(position: ListPosition<K>) => (typeof position === 'object' ? position : undefined);
  const [own, shared] = await Promise.all([
    from.own === 'end'
      ? { items: [] as Meeting[], cursor: undefined }
      : deps.meetings.listByOwner(userId, { limit: query.limit, cursor: after(from.own) }),
    from.shared === 'end'
      ? { items: [] as ShareItem[], cursor: undefined }
      : deps.shares.listByReader(userId, { limit: query.limit, cursor: after(from.shared) }),
  ]);
  // Both listings are newest first; take the newest `limit` of the two.
  const merged = [
    ...own.items.map((m) => ({ key: shareKey(m), own: m as Meeting | undefined, share: undefined })),
    ...shared.items.map((s) => ({ key: s.meetingKey, own: undefined, share: s as ShareItem | undefined })),
  ]
    .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0))
    .slice(0, query.limit);
  const ownTaken = merged.filter((e) => e.own).length;
  const sharedTaken = merged.filter((e) => e.share).length;

  const next: MeetingsPosition = {
    own: resumeAt(from.own, own.items, ownTaken, own.cursor, (m) => ({
      meetingId: m.meetingId,
      ownerId: m.ownerId,
      createdAt: m.createdAt,
    })),
    shared: resumeAt(from.shared, shared.items, sharedTaken, shared.cursor, (s) => ({
      readerId: s.readerId,
      meetingKey: s.meetingKey,
    })),
  };
  const found = await deps.meetings.getMany(merged.flatMap((e) => (e.share ? [e.share.meetingId] : [])));
  const byId = new Map(found.map((m) => [m.meetingId, m]));
  const meetings = merged.flatMap((e) => {
    const meeting = e.own ?? byId.get(e.share?.meetingId ?? '');
    // A share item whose meeting is gone or no longer shared (unshared midway) is not shown.
    return meeting && canRead(meeting, userId) ? [meetingView(meeting, userId)] : [];
  });
  return { meetings, nextCursor: encodeMeetingsCursor(next) };
}

/** Where a listing resumes after `taken` of the `items` it returned. */
function resumeAt<T, K>(
  previous: ListPosition<K>,
  items: readonly T[],
  taken: number,
  lastEvaluated: Record<string, unknown> | undefined,
  keyOf: (item: T) => K,
): ListPosition<K> {
  if (previous === 'end') return 'end';
  if (taken === 0) return items.length === 0 && !lastEvaluated ? 'end' : previous;
  if (taken < items.length) return keyOf(items[taken - 1] as T);
  return lastEvaluated ? keyOf(items[taken - 1] as T) : 'end';
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
  deps: { meetings: Pick<MeetingRepository, 'get' | 'share'>; shares: Pick<ShareRepository, 'put'> },
): Promise<{ meetingId: string; sharedWith: string[] }> {
  const meeting = await ownedMeeting(deps.meetings, meetingId, userId, 'share it');
  if (withUser === userId) throw new FieldValidationError('userId', 'userId: you own this meeting already');
  const sharedWith = await deps.meetings.share(meetingId, withUser, maxShares);
  // After the meeting's list (the authority): sharing again repairs a failure here.
  await deps.shares.put(withUser, meeting);
  return { meetingId, sharedWith };
}

export async function unshareMeeting(
  userId: string,
  meetingId: string,
  withUser: string,
  deps: { meetings: Pick<MeetingRepository, 'get' | 'unshare'>; shares: Pick<ShareRepository, 'delete'> },
): Promise<{ meetingId: string; sharedWith: string[] }> {
  const meeting = await ownedMeeting(deps.meetings, meetingId, userId, 'change who it is shared with');
  const sharedWith = await deps.meetings.unshare(meetingId, withUser);
  // After the meeting's list: a leftover share item is filtered out when listing.
  await deps.shares.delete(withUser, meeting);
  return { meetingId, sharedWith };
}
