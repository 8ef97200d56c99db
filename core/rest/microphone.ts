/**
 * `POST /meetings` with `source: "microphone"`: a meeting without a bot, which its owner streams
 * into from the browser (core/audio/browser-ingress.ts). It starts `joining` and becomes `live`
 * when the first stream connects, like a bot meeting when Recall connects.
 */
import { browserStreamUrl } from '../audio/chunk-protocol';
import { newMeetingRecord } from '../meetings/service';
import { meetingView } from './access';
import { FieldValidationError } from './errors';
import type { CreateMeetingDeps } from './meetings';
import type { CreateMeetingRequest, MeetingView } from './schemas';

/** The socket a microphone meeting's owner streams to, without the `session` parameter. */
export function microphoneStreamUrl(audioGatewayUrl: string, meetingId: string): string {
  return browserStreamUrl(audioGatewayUrl, meetingId, '').replace(/\?session=$/, '');
}

export async function startMicrophoneMeeting(
  userId: string,
  body: CreateMeetingRequest,
  deps: Pick<CreateMeetingDeps, 'meetings' | 'audioGatewayUrl' | 'logger'> & { defaultTitle: string },
): Promise<MeetingView> {
  if (body.meetingUrl !== undefined) {
    throw new FieldValidationError('meetingUrl', 'meetingUrl: a microphone meeting has no meeting link');
  }
  if (body.botName !== undefined) {
    throw new FieldValidationError('botName', 'botName: a microphone meeting has no bot');
  }
  const { meeting } = newMeetingRecord({
    ownerId: userId,
    title: body.title ?? deps.defaultTitle,
    meetingUrl: '',
    keywords: body.keywords ?? [],
    language: body.language ?? 'en',
  });
  const record = { ...meeting, source: 'microphone' as const };
  await deps.meetings.create(record);
  deps.logger.info('microphone meeting created', { meetingId: record.meetingId });
  return {
    ...meetingView(record, userId),
    streamUrl: microphoneStreamUrl(deps.audioGatewayUrl, record.meetingId),
  };
}
