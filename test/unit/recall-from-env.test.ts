import { ConfigError } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { recallFromEnv } from '../../core/recall/from-env';

describe('recallFromEnv', () => {
  const logger = createLogger('test');

  it('tries the key lookup again after a failure instead of caching the rejection', async () => {
    // Prepare: Recall configured, its key not (yet) readable.
    const env: NodeJS.ProcessEnv = { RECALL_BASE_URL: 'http://127.0.0.1:9' };
    const recall = recallFromEnv(logger, env);

    // Act + Assess
    await expect(recall()).rejects.toBeInstanceOf(ConfigError);
    env.RECALL_API_KEY = 'now-readable';
    const client = await recall();
    expect(client).toBeDefined();
    expect(await recall()).toBe(client); // a success is kept
  });

  it('returns undefined when Recall is not configured', async () => {
    await expect(recallFromEnv(logger, {})()).resolves.toBeUndefined();
  });
});
