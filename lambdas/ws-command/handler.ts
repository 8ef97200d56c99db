import { sendMessageLean } from '../../core/clients/sqs-lean';
import { queueUrl } from '../../core/config';
import { MeetingRepository } from '../../core/meetings/repository';
import type { PipelineEvent } from '../../core/pipeline/events';
import { pipelineMessage } from '../../core/pipeline/pipeline-message';
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
  // SendMessage without the SDK client (core/clients/sqs-lean.ts): ~100 ms less cold start.
  publish: async (event: PipelineEvent) => {
    await sendMessageLean(pipelineMessage(transcriptQueue, event));
  },
  // Recall not configured: commands only change Parley's state. A failed key lookup is retried.
  recall: recallFromEnv(logger),
  logger,
};

export const handler = wsRoute('command', CommandSchema, deps.fanout, (ctx, msg) => command(deps, ctx, msg));
