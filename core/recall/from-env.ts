/**
 * The Recall client of a Lambda, built from its environment: RECALL_BASE_URL and the
 * RECALL_API_KEY secret, read on first use. A failed secret lookup is never cached: the next
 * call tries again (a Secrets Manager blip must not disable commands until the next cold start).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { requireSecret } from '../clients/secrets';
import { recallBaseUrl } from '../config';
import { createRecallClient, type RecallClient } from './client';

export function recallFromEnv(
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): () => Promise<RecallClient | undefined> {
  const baseUrl = recallBaseUrl(env);
  let client: Promise<RecallClient> | undefined;
  return async () => {
    if (!baseUrl) return undefined; // Recall not configured: the feature is off
    if (!client) {
      const pending = requireSecret('RECALL_API_KEY', env).then((apiKey) =>
        createRecallClient({ baseUrl, apiKey, logger }),
      );
      client = pending;
      pending.catch(() => {
        if (client === pending) client = undefined;
      });
    }
    return client;
  };
}
