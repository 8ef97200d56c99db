/**
 * The local SQS emulator answers receives as SQS does (local/aws-emulators.ts
 * `fixLocalSqsReceiveWait`): a long poll as soon as a message arrives, a receive for ten with
 * what is visible, a given-up long poll takes nothing; and the local event source long-polls by
 * default and still stops at once. Assertions are on order and content, never on durations.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import {
  createLocalClients,
  type LocalAwsClients,
  type RunningEmulators,
  startEmulators,
} from '../../local/aws-emulators';
import { startSqsEventSource } from '../../local/sqs-event-source';

const logger = new Logger({ serviceName: 'local-sqs-receive-test', logLevel: 'SILENT' });

let emulators: RunningEmulators;
let clients: LocalAwsClients;
let counter = 0;

beforeAll(async () => {
  emulators = await startEmulators({ logger });
  clients = createLocalClients(emulators.endpoints);
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

async function createQueue(): Promise<string> {
  const out = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: `receive-${++counter}-${Date.now()}.fifo`,
      Attributes: { FifoQueue: 'true', VisibilityTimeout: '30' },
    }),
  );
  return out.QueueUrl ?? '';
}

async function send(QueueUrl: string, body: string): Promise<void> {
  await clients.sqs.send(
    new SendMessageCommand({
      QueueUrl,
      MessageBody: body,
      MessageGroupId: 'g',
      MessageDeduplicationId: body,
    }),
  );
}

function receive(QueueUrl: string, WaitTimeSeconds: number, abortSignal?: AbortSignal): Promise<Message[]> {
  return clients.sqs
    .send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds }), { abortSignal })
    .then((out) => out.Messages ?? []);
}

/** Resolves with the order in which the labelled promises settled. */
function settleOrder(promises: Record<string, Promise<unknown>>): Promise<string[]> {
  const order: string[] = [];
  return Promise.all(
    Object.entries(promises).map(([name, promise]) =>
      promise.then(
        () => order.push(name),
        () => order.push(name),
      ),
    ),
  ).then(() => order);
}

describe('the local SQS emulator', () => {
  it('answers a 20-second long poll with the message sent during it, before a short poll issued after the send', async () => {
    // Prepare
    const queueUrl = await createQueue();
    const longPoll = receive(queueUrl, 20);

    // Act
    await send(queueUrl, 'first');
    const shortPoll = receive(queueUrl, 0);
    const order = await settleOrder({ longPoll, shortPoll });

    // Assess: before the fix the long poll kept the message for its whole 20 s and the short
    // poll (which found nothing) answered first.
    expect(order).toEqual(['longPoll', 'shortPoll']);
    expect((await longPoll).map((m) => m.Body)).toEqual(['first']);
    expect(await shortPoll).toEqual([]);
  });

  it('answers a long poll for ten with the three messages already waiting, leaving a fourth sent later', async () => {
    // Prepare
    const queueUrl = await createQueue();
    for (const body of ['a', 'b', 'c']) await send(queueUrl, body);

    // Act
    const first = await receive(queueUrl, 20);
    await send(queueUrl, 'd');
    const second = await receive(queueUrl, 20);

    // Assess: before the fix the first poll waited 20 s for ten and took 'd' as well.
    expect(first.map((m) => m.Body)).toEqual(['a', 'b', 'c']);
    expect(second.map((m) => m.Body)).toEqual(['d']);
  });

  it('takes no message for a long poll its client gave up, so the next poll receives it', async () => {
    // Prepare
    const queueUrl = await createQueue();
    const controller = new AbortController();
    const abandoned = receive(queueUrl, 20, controller.signal);
    // A round trip on the same client, so the long poll has reached the emulator.
    expect(await receive(queueUrl, 0)).toEqual([]);

    // Act
    controller.abort();
    await expect(abandoned).rejects.toThrow();
    await send(queueUrl, 'kept');
    const next = await receive(queueUrl, 20);

    // Assess: before the fix the abandoned poll took the message (invisible for 30 s).
    expect(next.map((m) => m.Body)).toEqual(['kept']);
  });
});

describe('the local SQS event source with its default long poll', () => {
  it('hands over each message sent while it long-polls, and a stopped source leaves later messages in the queue', async () => {
    // Prepare
    const queueUrl = await createQueue();
    const handled: string[] = [];
    let notify: () => void = () => undefined;
    const source = startSqsEventSource({
      sqs: clients.sqs,
      queueUrl,
      queueArn: `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop()}`,
      maxReceiveCount: 3,
      batchSize: 10,
      visibilityTimeoutSeconds: 30,
      fifo: true,
      logger,
      handler: async (event: SQSEvent) => {
        handled.push(...event.Records.map((r) => r.body));
        notify();
      },
    });
    const handledCount = (n: number) =>
      new Promise<void>((resolve) => {
        notify = () => handled.length >= n && resolve();
        notify();
      });

    // Act: one message at a time, each sent only after the previous was handled.
    for (const [index, body] of ['one', 'two', 'three'].entries()) {
      await send(queueUrl, body);
      await handledCount(index + 1);
    }
    await source.idle();
    await source.stop();
    await send(queueUrl, 'after-stop');

    // Assess: the stopped source's last poll ended with it, so the message is still there.
    expect(handled).toEqual(['one', 'two', 'three']);
    expect((await receive(queueUrl, 20)).map((m) => m.Body)).toEqual(['after-stop']);
  });
});

describe('visibility changes on the local SQS emulator', () => {
  it('refuses to change the visibility of a standard-queue message by a replaced receipt handle or while it is not in flight, as SQS does', async () => {
    // Prepare: a standard queue; one message received with a 1 s visibility timeout, then again.
    const { QueueUrl } = await clients.sqs.send(
      new CreateQueueCommand({ QueueName: `visibility-${++counter}-${Date.now()}` }),
    );
    const queueUrl = QueueUrl ?? '';
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'job' }));
    const receiveOnce = async (VisibilityTimeout: number) => {
      for (let attempt = 0; attempt < 30; attempt++) {
        const out = await clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, VisibilityTimeout }),
        );
        const handle = out.Messages?.[0]?.ReceiptHandle;
        if (handle) return handle;
      }
      throw new Error('the message never became visible again');
    };
    const change = (ReceiptHandle: string, VisibilityTimeout: number) =>
      clients.sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle, VisibilityTimeout }),
      );
    const inFlight = async () => {
      const { Attributes } = await clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
    };
    const first = await receiveOnce(1);
    const second = await receiveOnce(30); // the first visibility ran out: a second consumer has it

    // Act + Assess: a heartbeat with the first consumer's handle is refused, the latest is accepted.
    await expect(change(first, 30)).rejects.toThrow(/not available for visibility timeout change/);
    await expect(change(second, 0)).resolves.toBeDefined();
    for (let attempt = 0; attempt < 100 && (await inFlight()) > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await inFlight()).toBe(0);
    // Visible again, not in flight: no handle may hide it.
    await expect(change(second, 30)).rejects.toThrow(/not available for visibility timeout change/);
    expect(await inFlight()).toBe(0);
  });
});

describe('FIFO deduplication on the local SQS emulator', () => {
  it('drops a resend while the first copy is queued, takes it again once that was deleted, and numbers messages in send order', async () => {
    // Prepare
    const queueUrl = await createQueue();
    const sendAs = (body: string, dedup: string) =>
      clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          MessageGroupId: 'g',
          MessageDeduplicationId: dedup,
        }),
      );

    // Act
    const first = await sendAs('first', 'a');
    const resend = await sendAs('resend', 'a');
    await sendAs('second', 'b');
    const queued = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, AttributeNames: ['All'] }),
    );
    for (const m of queued.Messages ?? []) {
      await clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    }
    await sendAs('after delete', 'a');
    const later = await receive(queueUrl, 0);

    // Assess
    expect(resend.MessageId).toBe(first.MessageId);
    expect(resend.SequenceNumber).toBe(first.SequenceNumber);
    expect(queued.Messages?.map((m) => m.Body)).toEqual(['first', 'second']);
    const [one, two] = (queued.Messages ?? []).map((m) => BigInt(m.Attributes?.SequenceNumber ?? '0'));
    expect(one !== undefined && two !== undefined && one < two).toBe(true);
    expect(later.map((m) => m.Body)).toEqual(['after delete']);
  });
});

describe('a large backlog on the local SQS emulator', () => {
  it('keeps answering receives on a FIFO queue holding 20,000 waiting messages, as SQS limits only messages in flight', async () => {
    // Prepare: 20,000 messages in 200 groups, sent 10 at a time by 20 senders.
    const queueUrl = await createQueue();
    const total = 20_000;
    const senders = 20;
    await Promise.all(
      Array.from({ length: senders }, async (_, sender) => {
        for (let first = sender * 10; first < total; first += senders * 10) {
          const out = await clients.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: Array.from({ length: 10 }, (_, i) => ({
                Id: String(i),
                MessageBody: String(first + i),
                MessageGroupId: `g${(first + i) % 200}`,
                MessageDeduplicationId: String(first + i),
              })),
            }),
          );
          expect(out.Failed ?? []).toEqual([]);
        }
      }),
    );
    const { Attributes } = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(Number(Attributes?.ApproximateNumberOfMessages)).toBe(total);

    // Act: two receives of ten (the emulator refused the first with OverLimit).
    const first = await receive(queueUrl, 0);
    const second = await receive(queueUrl, 0);

    // Assess: twenty different messages, now in flight.
    expect(first).toHaveLength(10);
    expect(second).toHaveLength(10);
    expect(new Set([...first, ...second].map((m) => m.MessageId)).size).toBe(20);
  });
});
