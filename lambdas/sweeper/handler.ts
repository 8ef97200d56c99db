import { sqs } from '../../core/clients/sqs';
import { queueUrl } from '../../core/config';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { sweepStuckMeetings } from '../../core/meetings/stuck-sweeper';
import { sendPipelineEvent } from '../../core/pipeline/send-event';

const logger = createLogger('sweeper');
const transcriptQueue = queueUrl('transcriptEvents');
const meetings = new MeetingRepository();

/** Scheduled (EventBridge): ends meetings stuck in `disconnecting` (core/meetings/stuck-sweeper.ts). */
export async function handler(): Promise<{ found: number; ended: number }> {
  const result = await sweepStuckMeetings({
    meetings,
    publish: (event) => sendPipelineEvent(sqs(), transcriptQueue, event),
    logger,
  });
  logger.info('sweep done', { found: result.found, ended: result.ended.length });
  return { found: result.found, ended: result.ended.length };
}
