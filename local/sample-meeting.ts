/**
 * Starts the sample meeting of local mode: a meeting owned by `ownerId` whose Recall bot (the
 * simulator) streams the recorded LibriVox fixture into the audio gateway.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Meeting } from '../core/meetings/model';
import { MeetingRepository } from '../core/meetings/repository';
import { createMeeting } from '../core/meetings/service';
import { createRecallClient } from '../core/recall/client';
import type { LocalStack } from './stack';

/** Words spoken in the fixture, so the sample shows keyword alerts. */
export const SAMPLE_KEYWORDS = ['amiable', 'ill disposed'];

export async function startSampleMeeting(
  stack: LocalStack,
  logger: Logger,
  opts: { ownerId?: string; keywords?: string[]; separateAudio?: boolean; meetingUrl?: string } = {},
): Promise<Meeting> {
  const recall = createRecallClient({
    baseUrl: stack.urls.recall,
    apiKey: stack.env.RECALL_API_KEY as string,
    logger,
  });
  return createMeeting(
    {
      ownerId: opts.ownerId ?? 'alice',
      title: 'Sample meeting: Sense and Sensibility, chapter 1',
      meetingUrl: opts.meetingUrl ?? 'local://sample',
      keywords: opts.keywords ?? SAMPLE_KEYWORDS,
      language: 'en',
      separateAudio: opts.separateAudio,
    },
    { repo: new MeetingRepository(), recall, audioGatewayUrl: stack.urls.audioGateway, logger },
  );
}
