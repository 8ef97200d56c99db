import { deduplicationId, eventGroup, type PipelineEvent } from './events';

/** The SQS message of one pipeline event (FIFO group per meeting or job, deduplicated by event). */
export function pipelineMessage(queueUrl: string, event: PipelineEvent) {
  return {
    QueueUrl: queueUrl,
    MessageBody: JSON.stringify(event),
    MessageGroupId: eventGroup(event),
    MessageDeduplicationId: deduplicationId(event),
  };
}
