import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { managementEndpoint } from '../../core/config';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { PipelineEventSchema } from '../../core/pipeline/events';
import { TranscriptFanout } from '../../core/pipeline/transcript-fanout';
import { ConnectionFanout } from '../../core/realtime/connection-fanout';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { SegmentRepository } from '../../core/transcript/segment-repository';

const logger = createLogger('fanout');
const metrics = new Metrics({ namespace: 'Parley', serviceName: 'fanout' });
const connections = new ConnectionRepository();
const fanout = new TranscriptFanout({
  meetings: new MeetingRepository(),
  segments: new SegmentRepository(),
  connections,
  fanout: new ConnectionFanout(managementEndpoint(), connections, logger),
  logger,
});
// On failure, retry that record and the later ones of its meeting only; other meetings go on.
const processor = new SqsFifoPartialProcessorAsync();

async function recordHandler(record: SQSRecord): Promise<void> {
  const parsed = PipelineEventSchema.safeParse(JSON.parse(record.body));
  if (!parsed.success) {
    // A malformed event can never succeed: log it and let it pass rather than block the meeting.
    logger.error('malformed pipeline event dropped', { messageId: record.messageId, issues: parsed.error.issues.slice(0, 3) });
    metrics.addMetric('MalformedEvents', MetricUnit.Count, 1);
    return;
  }
  await fanout.handle(parsed.data);
}

/** SQS FIFO event source (batch ≤ 10, ReportBatchItemFailures). */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  fanout.startBatch();
  try {
    return await processPartialResponse(event, recordHandler, processor, {
      context,
      skipGroupOnError: true,
      throwOnFullBatchFailure: false,
    });
  } finally {
    metrics.addMetric('Events', MetricUnit.Count, event.Records.length);
    metrics.publishStoredMetrics();
  }
}
