/**
 * Publishes the audio gateway's active-session count (the ECS service scales on it) once a
 * period. Off in local mode and when no stage is set.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import { countPublisher } from '../clients/cloudwatch';
import { ACTIVE_SESSIONS_METRIC } from '../resources';

export function publishActiveSessions(opts: {
  stage: string;
  region: string;
  count: () => number;
  logger: Logger;
}): () => void {
  const metrics = countPublisher(opts.region);
  const metric = {
    namespace: ACTIVE_SESSIONS_METRIC.namespace,
    metricName: ACTIVE_SESSIONS_METRIC.metricName,
    dimension: { name: ACTIVE_SESSIONS_METRIC.dimension, value: opts.stage },
  };
  const timer = setInterval(() => {
    metrics
      .put(metric, opts.count())
      .catch((error) => opts.logger.warn('could not publish ActiveSessions', { error: String(error) }));
  }, ACTIVE_SESSIONS_METRIC.periodSeconds * 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    metrics.destroy();
  };
}
