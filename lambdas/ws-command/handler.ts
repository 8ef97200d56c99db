import { sqs } from '../../core/clients/sqs';
import { queueUrl } from '../../core/config';
import { MeetingRepository } from '../../core/meetings/repository';
import { sendPipelineEvent } from '../../core/pipeline/send-event';
import { CommandSchema } from '../../core/realtime/client-messages';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { command } from '../../core/realtime/routes';
import { recallFromEnv } from '../../core/recall/from-env';
import { logger, wsRoute } from '../shared/realtime';
import { replier } from '../shared/replier';

const transcriptQueue = queueUrl('transcriptEvents');
const deps = {
  meetings: new MeetingRepository(),
  fanout: replier(new ConnectionRepository()),
  publish: (event: Parameters<typeof sendPipelineEvent>[2]) =>
    sendPipelineEvent(sqs(), transcriptQueue, event),
  // Recall not configured: commands only change Parley's state. A failed key lookup is retried.
  recall: recallFromEnv(logger),
  logger,
};

export const handler = wsRoute('command', CommandSchema, deps.fanout, (ctx, msg) => command(deps, ctx, msg));
