import { CommandSchema } from '../../core/realtime/protocol';
import { recallFromEnv } from '../../core/recall/from-env';
import { logger, realtime, useRecall, wsRoute } from '../shared/realtime';

// Recall not configured: commands only change Parley's state. A failed key lookup is retried.
useRecall(recallFromEnv(logger));

export const handler = wsRoute('command', CommandSchema, (ctx, msg) => realtime().routes.command(ctx, msg));
