/**
 * CloudWatch metrics of the audio gateway (the ECS service scales on ActiveSessions). One
 * client per publisher; `destroy` closes its sockets.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';

export interface CountMetric {
  namespace: string;
  metricName: string;
  dimension: { name: string; value: string };
}

export function countPublisher(region: string): {
  put: (metric: CountMetric, value: number) => Promise<void>;
  destroy: () => void;
} {
  const client = new CloudWatchClient({ region });
  return {
    async put(metric, value) {
      await client.send(
        new PutMetricDataCommand({
          Namespace: metric.namespace,
          MetricData: [
            {
              MetricName: metric.metricName,
              Dimensions: [{ Name: metric.dimension.name, Value: metric.dimension.value }],
              Value: value,
              Unit: 'Count',
            },
          ],
        }),
      );
    },
    destroy: () => client.destroy(),
  };
}
