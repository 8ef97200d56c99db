import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PipelineEvent } from './events';
import { pipelineMessage } from './pipeline-message';

/** Sends one pipeline event (Lambdas send few; the audio gateway batches with EventPublisher). */
export async function sendPipelineEvent(
  sqs: SQSClient,
  queueUrl: string,
  event: PipelineEvent,
): Promise<void> {
  await sqs.send(new SendMessageCommand(pipelineMessage(queueUrl, event)));
}
