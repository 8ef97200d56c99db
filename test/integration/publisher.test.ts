import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createLogger } from '../../core/logger';
import { type PipelineEvent, PipelineEventSchema } from '../../core/pipeline/events';
import { EventPublisher } from '../../core/pipeline/publisher';
import { createLocalClients, type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { finalSegment, transcriptEvent } from '../helpers/meetings';

const logger = createLogger('test');

function transcript(meetingId: string, seq: number, isFinal: boolean, revision = 0): PipelineEvent {
  return transcriptEvent(meetingId, { ...finalSegment(meetingId, seq, `words ${seq}`), revision, isFinal });
}

describe('EventPublisher against the local SQS FIFO queue', () => {
  let emulators: RunningEmulators;
  let clients: ReturnType<typeof createLocalClients>;
  let queueUrl: string;

  beforeAll(async () => {
    emulators = await startEmulators();
    clients = createLocalClients(emulators.endpoints);
    queueUrl = emulators.env.TRANSCRIPT_QUEUE_URL as string;
  });
  afterAll(async () => {
    clients.destroy();
    await emulators.stop();
  });

  async function drain(expected: number): Promise<PipelineEvent[]> {
    const received: PipelineEvent[] = [];
    const deadline = Date.now() + 20_000;
    while (received.length < expected && Date.now() < deadline) {
      const out = await clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          AttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      for (const m of messages) received.push(PipelineEventSchema.parse(JSON.parse(m.Body ?? '')));
      if (messages.length > 0) {
        await clients.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    }
    return received;
  }

  it('delivers every event once, in order within each meeting', async () => {
    const publisher = new EventPublisher({ sqs: clients.sqs, queueUrl, logger, windowMs: 5 });
    const meetings = ['m-a', 'm-b', 'm-c', 'm-d', 'm-e'];
    for (let seq = 1; seq <= 40; seq++) {
      for (const m of meetings) {
        publisher.publish(transcript(m, seq, false, 0));
        publisher.publish(transcript(m, seq, true, 1));
      }
    }
    await publisher.flush();
    expect(publisher.stats.published).toBe(400);
    const received = await drain(400);
    expect(received).toHaveLength(400);
    for (const m of meetings) {
      const mine = received.filter((e) => e.type === 'transcript' && e.meetingId === m);
      const order = mine.map((e) =>
        e.type === 'transcript' ? `${e.segment.seq}${e.segment.isFinal ? 'f' : 'i'}` : '',
      );
      const expected = Array.from({ length: 40 }, (_, i) => [`${i + 1}i`, `${i + 1}f`]).flat();
      expect(order).toEqual(expected);
    }
  });

  it('sends what is published while nothing is in flight at once, as one batch per turn', async () => {
    // A window longer than the test's time limit: only an idle publisher's immediate send delivers.
    const publisher = new EventPublisher({ sqs: clients.sqs, queueUrl, logger, windowMs: 600_000 });
    publisher.publish(transcript('m-idle', 1, false, 0));
    publisher.publish(transcript('m-idle', 1, true, 1));
    const received = await drain(2);
    expect(received.map((e) => (e.type === 'transcript' ? e.segment.isFinal : undefined))).toEqual([
      false,
      true,
    ]);
    expect(publisher.stats.batches).toBe(1);
    await publisher.flush();
  });

  it('does not enqueue a retried event twice (deduplication id per event)', async () => {
    const publisher = new EventPublisher({ sqs: clients.sqs, queueUrl, logger, windowMs: 5 });
    const event = transcript('m-dup', 1, true, 2);
    publisher.publish(event);
    publisher.publish(event);
    await publisher.flush();
    const received = await drain(1);
    expect(received).toHaveLength(1);
    const again = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }),
    );
    expect(again.Messages ?? []).toHaveLength(0);
  });
});
