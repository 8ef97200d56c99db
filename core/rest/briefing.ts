/**
 * `GET /meetings/{id}/brief` and `POST /meetings/{id}/ask`: briefing and questions for anyone
 * who may read the meeting; having the bot speak the answer is for the owner only, and needs
 * text-to-speech (OpenAI's, or espeak-ng in local mode).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { BriefingRepository } from '../briefing/repository';
import { answerQuestion, type Brief, type BriefingDeps, briefMeeting } from '../briefing/service';
import { ConflictError, ForbiddenError } from '../errors';
import type { MeetingStatus } from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import type { RecallClient } from '../recall/client';
import { RecallApiError } from '../recall/errors';
import { readableMeeting } from './access';
import { UnavailableError } from './errors';
import type { AskResponse } from './schemas';

/** Statuses in which the bot may be in the call (Recall decides; it answers "not in call" otherwise). */
const BOT_MAY_BE_IN_CALL: ReadonlySet<MeetingStatus> = new Set(['joining', 'live', 'paused']);

export async function getBrief(
  userId: string,
  meetingId: string,
  deps: BriefingDeps & {
    meetings: Pick<MeetingRepository, 'get'>;
    briefings: Pick<BriefingRepository, 'get' | 'put'>;
  },
): Promise<Brief> {
  const meeting = await readableMeeting(deps.meetings, meetingId, userId);
  return briefMeeting(meeting, deps);
}

export async function askMeeting(
  userId: string,
  meetingId: string,
  body: { question: string; speak: boolean },
  deps: BriefingDeps & {
    meetings: Pick<MeetingRepository, 'get'>;
    recall: () => Promise<RecallClient | undefined>;
    logger: Pick<Logger, 'info' | 'warn'>;
  },
): Promise<AskResponse> {
  const meeting = await readableMeeting(deps.meetings, meetingId, userId);
  let speak: ((text: string) => Promise<Buffer>) | undefined;
  if (body.speak) {
    if (meeting.ownerId !== userId) throw new ForbiddenError('Only the meeting owner can make the bot speak');
    speak = (await deps.engine()).speak;
    if (!speak) {
      throw new ConflictError(
        'Speaking answers needs text-to-speech (set OPENAI_API_KEY, or SPEECH_SYNTHESIS=espeak-ng where espeak-ng is installed); ask without "speak"',
        'SPEECH_UNAVAILABLE',
      );
    }
    if (!meeting.botId || !BOT_MAY_BE_IN_CALL.has(meeting.status)) {
      throw new ConflictError(
        `The meeting bot is not in the call (meeting is ${meeting.status})`,
        'BOT_NOT_IN_CALL',
      );
    }
  }
  const answer = await answerQuestion(meeting, body.question, deps);
  if (!speak || !meeting.botId) return { ...answer, spoken: false };

  const mp3 = await speak(answer.answer);
  const recall = await deps.recall();
  if (!recall) throw new UnavailableError('The meeting bot service (Recall) is not configured');
  try {
    await recall.outputAudio(meeting.botId, mp3);
  } catch (error) {
    if (error instanceof RecallApiError && error.code === 'RECALL_BOT_NOT_IN_CALL') {
      throw new ConflictError('The meeting bot is not in the call', 'BOT_NOT_IN_CALL');
    }
    throw error;
  }
  deps.logger.info('answer spoken in the call', { meetingId, bytes: mp3.length });
  return { ...answer, spoken: true };
}
