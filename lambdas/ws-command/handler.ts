import { requireSecret } from '../../core/clients/secrets';
import { recallBaseUrl } from '../../core/config';
import { CommandSchema } from '../../core/realtime/protocol';
import { createRecallClient, type RecallClient } from '../../core/recall/client';
import { logger, realtime, useRecall, wsRoute } from '../shared/realtime';

const baseUrl = recallBaseUrl();
let recall: Promise<RecallClient> | undefined;
useRecall(async () => {
  if (!baseUrl) return undefined; // Recall not configured: commands only change Parley's state
  recall ??= requireSecret('RECALL_API_KEY').then((apiKey) =>
    createRecallClient({ baseUrl, apiKey, logger }),
  );
  return recall;
});

export const handler = wsRoute('command', CommandSchema, (ctx, msg) => realtime().routes.command(ctx, msg));
