import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sqs } from '../../core/clients/sqs';
import { dlqUrl, managementEndpoint } from '../../core/config';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { PipelineEventSchema } from '../../core/pipeline/events';
import { TranscriptFanout } from '../../core/pipeline/transcript-fanout';
import { ConnectionFanout } from '../../core/realtime/connection-fanout';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { FANOUT_METRICS, QUEUES } from '../../core/resources';
import { SegmentRepository } from '../../core/transcript/segment-repository';

const logger = createLogger('fanout');
const metrics = new Metrics({ namespace: FANOUT_METRICS.namespace, serviceName: FANOUT_METRICS.service });
const deadLetterQueue = dlqUrl('transcriptEvents');
const connections = new ConnectionRepository();
const deps = {
  meetings: new MeetingRepository(),
  segments: new SegmentRepository(),
  connections,
  fanout: new ConnectionFanout(managementEndpoint(), connections, logger),
  logger,
};

/** A record that can never be handled; it fails until SQS moves it to the DLQ. */
class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

/**
 * A record failing its last delivery is parked in the DLQ here, and counts as handled: on a
 * FIFO queue the later records of its meeting are retried with it, and would otherwise reach
 * their own last delivery together with it and be dead-lettered although they are fine.
 */
async function handleRecord(fanout: TranscriptFanout, record: SQSRecord): Promise<void> {
  try {
    await handleEvent(fanout, record);
  } catch (error) {
    const receives = Number(record.attributes.ApproximateReceiveCount);
    if (receives < QUEUES.transcriptEvents.maxReceiveCount) throw error;
    logger.error('record failed its last delivery; parking it in the DLQ', {
      messageId: record.messageId,
      receives,
      error: error as Error,
    });
    metrics.addMetric('DeadLettered', MetricUnit.Count, 1);
    await sqs().send(
      new SendMessageCommand({
        QueueUrl: deadLetterQueue,
        MessageBody: record.body,
        MessageGroupId: record.attributes.MessageGroupId,
        MessageDeduplicationId: record.messageId,
        MessageAttributes: {
          SourceMessageId: { DataType: 'String', StringValue: record.messageId },
          Error: { DataType: 'String', StringValue: String(error).slice(0, 1_000) },
        },
      }),
    );
  }
}

async function handleEvent(fanout: TranscriptFanout, record: SQSRecord): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    body = undefined;
  }
  const parsed = PipelineEventSchema.safeParse(body);
  if (!parsed.success) {
    logger.error('malformed pipeline event', {
      messageId: record.messageId,
      issues: parsed.error.issues.slice(0, 3),
    });
    metrics.addMetric('MalformedEvents', MetricUnit.Count, 1);
    throw new MalformedEventError(`message ${record.messageId} is not a pipeline event`);
  }
  await fanout.handle(parsed.data);
  const event = parsed.data;
  if (event.type === 'transcript' && event.segment.isFinal) {
    // The dashboard's golden signals: finals/s and produced → delivered latency.
    metrics.addMetric(FANOUT_METRICS.finals, MetricUnit.Count, 1);
    const produced = Date.parse(event.segment.timestamp);
    if (Number.isFinite(produced)) {
      metrics.addMetric(
        FANOUT_METRICS.finalLatency,
        MetricUnit.Milliseconds,
        Math.max(0, Date.now() - produced),
      );
    }
  }
}

/** SQS FIFO event source (batch ≤ 10, ReportBatchItemFailures). */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // Per invocation: the processor and the batch's caches hold state of this batch only.
  const processor = new SqsFifoPartialProcessorAsync();
  const fanout = new TranscriptFanout(deps);
  try {
    return await processPartialResponse(
      event,
      (record: SQSRecord) => handleRecord(fanout, record),
      processor,
      {
        context,
        skipGroupOnError: true,
        throwOnFullBatchFailure: false,
      },
    );
  } finally {
    metrics.addMetric('Events', MetricUnit.Count, event.Records.length);
    metrics.publishStoredMetrics();
  }
}
