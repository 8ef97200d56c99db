import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deduplicationId, eventGroup, type PipelineEvent } from './events';

/** Sends one pipeline event (Lambdas send few; the audio gateway batches with EventPublisher). */
export async function sendPipelineEvent(
  sqs: SQSClient,
  queueUrl: string,
  event: PipelineEvent,
): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(event),
      MessageGroupId: eventGroup(event),
      MessageDeduplicationId: deduplicationId(event),
    }),
  );
}
