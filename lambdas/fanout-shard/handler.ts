import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sendMessage } from '../../core/clients/sqs';
import { dlqUrl, managementEndpoint } from '../../core/config';
import { createLogger } from '../../core/logger';
import { parkRecord } from '../../core/pipeline/dlq-park';
import { handleShardRecord } from '../../core/pipeline/fanout-shards';
import { SignedConnectionPoster } from '../../core/pipeline/signed-post';
import { SubscriberDelivery } from '../../core/pipeline/subscriber-delivery';
import { ConnectionFanout } from '../../core/realtime/connection-fanout';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { FANOUT_METRICS, QUEUES } from '../../core/resources';

/**
 * The fanout-shard Lambda: one shard (≤ 1,000 connections) of a large meeting per record, from
 * the FIFO shard queue the fan-out Lambda fills (core/pipeline/fanout-shards.ts). It posts with
 * the same poster and delivery policy as the fan-out Lambda and reads no table: the connection
 * ids come in the message; only gone or evicted connections are removed. Shard 0's records are
 * rolling briefing updates of a large audience (the fan-out posts shard 0's transcript itself).
 */
const logger = createLogger('fanout-shard');
const metrics = new Metrics({ namespace: FANOUT_METRICS.namespace, serviceName: FANOUT_METRICS.service });
const count = (metric: string) => metrics.addMetric(metric, MetricUnit.Count, 1);
const endpoint = managementEndpoint();
const connections = new ConnectionRepository();
const fanout = new ConnectionFanout(endpoint, connections, logger, 50, new SignedConnectionPoster(endpoint));
const delivery = new SubscriberDelivery({ fanout, logger, onEvicted: () => count('EvictedSubscribers') });
const park = { deadLetterQueueUrl: dlqUrl('fanoutShards'), send: sendMessage, count, logger };
const recordDeps = {
  maxReceiveCount: QUEUES.fanoutShards.maxReceiveCount,
  park: (record: SQSRecord, error: unknown) => parkRecord(record, error, park),
  logger,
};

/** SQS FIFO event source on the shard queue (ReportBatchItemFailures). */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  try {
    const run = async (record: SQSRecord) => {
      const shard = await handleShardRecord(delivery, record, recordDeps);
      if (shard) metrics.addMetric(FANOUT_METRICS.shardPosts, MetricUnit.Count, shard.connectionIds.length);
    };
    const options = { context, skipGroupOnError: true, throwOnFullBatchFailure: false };
    return await processPartialResponse(event, run, new SqsFifoPartialProcessorAsync(), options);
  } finally {
    metrics.publishStoredMetrics();
  }
}
