import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sendMessage } from '../../core/clients/sqs';
import { dlqUrl, managementEndpoint, queueUrl } from '../../core/config';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { handleFanoutRecord } from '../../core/pipeline/fanout-record';
import { ShardDispatcher } from '../../core/pipeline/fanout-shards';
import { fanoutMetricHooks, fanoutRollingBriefings, MetricsRelease } from '../../core/pipeline/fanout-wiring';
import { InterimAudience } from '../../core/pipeline/interim-audience';
import { SignedConnectionPoster } from '../../core/pipeline/signed-post';
import { TranscriptFanout } from '../../core/pipeline/transcript-fanout';
import { AlertRepository } from '../../core/realtime/alert-repository';
import { ConnectionFanout } from '../../core/realtime/connection-fanout';
import { ConnectionRepository, type Subscriber } from '../../core/realtime/connection-repository';
import { KeywordAlerts } from '../../core/realtime/keyword-alerts';
import { FANOUT_METRICS, QUEUES } from '../../core/resources';
import { SegmentRepository } from '../../core/transcript/segment-repository';

const logger = createLogger('fanout');
const metrics = new Metrics({ namespace: FANOUT_METRICS.namespace, serviceName: FANOUT_METRICS.service });
const { count, onEvicted, onTiming, onFinal } = fanoutMetricHooks(metrics);
// Metrics go out after each invocation with a final, else at most once a minute.
const release = new MetricsRelease(metrics);
const connections = new ConnectionRepository();
// Posts through the lean signed poster: the SDK client's per-request CPU bounds a large fan-out.
const endpoint = managementEndpoint();
const fanout = new ConnectionFanout(endpoint, connections, logger, 50, new SignedConnectionPoster(endpoint));
const meetings = new MeetingRepository();
const segments = new SegmentRepository();
/** Per container: each caches what it raised / last stored, sparing DynamoDB calls. */
const alerts = new KeywordAlerts(new AlertRepository());
// The briefing engine (OpenAI or embedded) is built on the first briefing that is due.
const rolling = fanoutRollingBriefings({ segments, meetings, logger });
// Shards 1… of a large meeting go to the fanout-shard Lambda (core/pipeline/fanout-shards.ts).
const shards = new ShardDispatcher({ queueUrl: queueUrl('fanoutShards'), send: sendMessage });
// Interims' audience of the last second, across invocations (core/pipeline/interim-audience.ts).
const interimAudience = new InterimAudience<Subscriber[]>();
const fanoutDeps = {
  meetings,
  segments,
  connections,
  fanout,
  onEvicted,
  onTiming,
  alerts,
  rolling,
  shards,
  interimAudience,
  logger,
};
const { maxReceiveCount } = QUEUES.transcriptEvents;
const deadLetterQueueUrl = dlqUrl('transcriptEvents');
const recordDeps = {
  deadLetterQueueUrl,
  maxReceiveCount,
  send: sendMessage,
  count,
  onFinal: (latencyMs: number) => {
    release.sawFinal();
    onFinal(latencyMs);
  },
  logger,
};

/** SQS FIFO event source (batch ≤ 10, ReportBatchItemFailures). */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // Per invocation: the batch's caches (keywords) hold state of this batch only.
  const transcripts = new TranscriptFanout(fanoutDeps);
  try {
    const run = (record: SQSRecord) => handleFanoutRecord(transcripts, record, recordDeps);
    const options = { context, skipGroupOnError: true, throwOnFullBatchFailure: false };
    return await processPartialResponse(event, run, new SqsFifoPartialProcessorAsync(), options);
  } finally {
    metrics.addMetric('Events', MetricUnit.Count, event.Records.length);
    release.afterInvocation();
  }
}
