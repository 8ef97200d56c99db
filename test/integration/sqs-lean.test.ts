/**
 * The lean SQS SendMessage (core/clients/sqs-lean.ts) against local-aws-sqs over real sockets:
 * the message arrives as sent (FIFO group and deduplication id kept), and a missing queue is a
 * typed error with SQS's name.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { sqs } from '../../core/clients/sqs';
import { sendMessageLean } from '../../core/clients/sqs-lean';
import { queueUrl } from '../../core/config';
import type { PipelineEvent } from '../../core/pipeline/events';
import { pipelineMessage } from '../../core/pipeline/pipeline-message';
import { useEmulators } from '../helpers/emulators';

const emulators = useEmulators();

describe('lean SQS SendMessage', () => {
  it('sends a pipeline event that arrives with its body, group and deduplication id', async () => {
    const event = {
      type: 'status',
      meetingId: 'm-lean',
      status: 'paused',
      epoch: 3,
    } as unknown as PipelineEvent;
    const message = pipelineMessage(queueUrl('transcriptEvents'), event);
    const id = await sendMessageLean(message);
    expect(id).toMatch(/\S/);
    const out = await sqs().send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl('transcriptEvents'),
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 5,
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const received = out.Messages?.find((m) => m.MessageId === id);
    expect(received?.Body).toBe(JSON.stringify(event));
    expect(received?.Attributes?.MessageGroupId).toBe(message.MessageGroupId);
    expect(received?.Attributes?.MessageDeduplicationId).toBe(message.MessageDeduplicationId);
  });

  it('names a missing queue with the error SQS answers, without retrying it forever', async () => {
    const missing = `${emulators().endpoints.sqs}/000000000000/no-such-queue.fifo`;
    const error = await sendMessageLean({
      QueueUrl: missing,
      MessageBody: '{}',
      MessageGroupId: 'g',
      MessageDeduplicationId: 'd',
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: expect.stringMatching(/QueueDoesNotExist|NonExistentQueue/),
      $metadata: { httpStatusCode: 400 },
    });
  });
});
