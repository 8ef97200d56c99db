/**
 * Publishes the audio gateway's active-session count (the ECS service scales on it) once a
 * period. Off in local mode and when no stage is set.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ACTIVE_SESSIONS_METRIC } from '../resources';

export function publishActiveSessions(opts: {
  stage: string;
  region: string;
  count: () => number;
  logger: Logger;
}): () => void {
  const client = new CloudWatchClient({ region: opts.region });
  const timer = setInterval(() => {
    client
      .send(
        new PutMetricDataCommand({
          Namespace: ACTIVE_SESSIONS_METRIC.namespace,
          MetricData: [
            {
              MetricName: ACTIVE_SESSIONS_METRIC.metricName,
              Dimensions: [{ Name: ACTIVE_SESSIONS_METRIC.dimension, Value: opts.stage }],
              Value: opts.count(),
              Unit: 'Count',
            },
          ],
        }),
      )
      .catch((error) => opts.logger.warn('could not publish ActiveSessions', { error: String(error) }));
  }, ACTIVE_SESSIONS_METRIC.periodSeconds * 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    client.destroy();
  };
}
