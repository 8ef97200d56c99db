/**
 * Creating and ending meetings: the one place a meeting, its Recall endpoint token and its
 * bot come into being. Used by the REST API and by local mode's sample meeting.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { retry } from '../backoff';
import { UpstreamError } from '../errors';
import type { RecallClient } from '../recall/client';
import { newEndpointToken } from './endpoint-token';
import type { Meeting } from './model';
import type { MeetingRepository } from './repository';

export interface NewMeeting {
  ownerId: string;
  title: string;
  meetingUrl: string;
  keywords: string[];
  language: string;
  botName?: string;
  /** Ask Recall for one audio stream per participant (speaker attribution by stream). */
  separateAudio?: boolean;
}

export interface MeetingServiceDeps {
  repo: Pick<MeetingRepository, 'create' | 'get' | 'setBot' | 'setStatus'>;
  recall: RecallClient | undefined;
  /** Where Recall connects: `wss://gateway.example.com` (the path and token are added). */
  audioGatewayUrl: string;
  logger: Logger;
}

export function recallEndpointUrl(audioGatewayUrl: string, meetingId: string, token: string): string {
  const base = audioGatewayUrl.replace(/\/+$/, '');
  return `${base}/recall/${encodeURIComponent(meetingId)}?token=${encodeURIComponent(token)}`;
}

/** A new meeting item (not stored), with a fresh endpoint token whose hash it keeps. */
export function newMeetingRecord(
  input: Pick<NewMeeting, 'ownerId' | 'title' | 'meetingUrl'> &
    Partial<Pick<Meeting, 'keywords' | 'language' | 'status'>>,
  now = new Date(),
): { meeting: Meeting; token: string } {
  const { token, hash } = newEndpointToken();
  const at = now.toISOString();
  const meeting: Meeting = {
    meetingId: randomUUID(),
    ownerId: input.ownerId,
    title: input.title,
    meetingUrl: input.meetingUrl,
    status: input.status ?? 'joining',
    desiredState: 'run',
    keywords: input.keywords ?? [],
    language: input.language ?? 'en',
    sharedWith: [],
    endpointTokenHash: hash,
    seqCounter: 0,
    statusEpoch: 0,
    lastSeq: 0,
    createdAt: at,
    updatedAt: at,
  };
  return { meeting, token };
}

export async function createMeeting(input: NewMeeting, deps: MeetingServiceDeps): Promise<Meeting> {
  const { meeting, token } = newMeetingRecord(input);
  await deps.repo.create(meeting);
  if (!deps.recall) {
    deps.logger.warn('Recall is not configured: the meeting has no bot', { meetingId: meeting.meetingId });
    return meeting;
  }
  try {
    const bot = await deps.recall.createBot({
      meetingUrl: input.meetingUrl,
      botName: input.botName ?? 'Parley',
      realtimeEndpointUrl: recallEndpointUrl(deps.audioGatewayUrl, meeting.meetingId, token),
      separateAudio: input.separateAudio ?? false,
      automaticAudioOutput: true,
      metadata: { parleyMeetingId: meeting.meetingId },
    });
    await deps.repo.setBot(meeting.meetingId, bot.id);
    return { ...meeting, botId: bot.id };
  } catch (error) {
    deps.logger.warn('the meeting bot could not be created; marking the meeting failed', {
      meetingId: meeting.meetingId,
      error: String(error),
    });
    await markFailed(meeting.meetingId, deps);
    if (error instanceof UpstreamError) throw error;
    throw new UpstreamError('RECALL_ERROR', 'The meeting bot could not be created', { cause: error });
  }
}

/**
 * A meeting whose bot was never created must not stay `joining`: the write is retried, and a
 * write that still fails is logged as an error (the caller still gets the bot's error).
 */
async function markFailed(meetingId: string, deps: MeetingServiceDeps): Promise<void> {
  try {
    await retry(() => deps.repo.setStatus(meetingId, 'failed'), { maxAttempts: 4, baseMs: 100 });
  } catch (error) {
    deps.logger.error('could not mark the meeting failed; it stays joining', {
      meetingId,
      error: error as Error,
    });
  }
}
