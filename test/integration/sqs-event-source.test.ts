import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  createLocalClients,
  type LocalAwsClients,
  type RunningEmulators,
  startEmulators,
} from '../../local/aws-emulators';
import {
  type SqsEventSource,
  type SqsEventSourceOptions,
  startSqsEventSource,
} from '../../local/sqs-event-source';

const logger = new Logger({ serviceName: 'sqs-event-source-test', logLevel: 'SILENT' });

interface TestQueue {
  url: string;
  arn: string;
  dlqUrl: string;
  dlqArn: string;
  maxReceiveCount: number;
  fifo: boolean;
}

let emulators: RunningEmulators;
let clients: LocalAwsClients;
let queueCounter = 0;
const sources: SqsEventSource[] = [];

beforeAll(async () => {
  emulators = await startEmulators({ logger });
  clients = createLocalClients(emulators.endpoints);
});

afterEach(async () => {
  await Promise.all(sources.splice(0).map((source) => source.stop()));
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

async function arnOf(sqs: SQSClient, QueueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return Attributes?.QueueArn ?? '';
}

/** A fresh queue (with DLQ and RedrivePolicy) per test, so tests cannot see each other's messages. */
async function createTestQueue(
  fifo: boolean,
  maxReceiveCount = 3,
  visibilityTimeoutSeconds = 30,
): Promise<TestQueue> {
  const name = `test-${++queueCounter}-${Date.now()}`;
  const suffix = fifo ? '.fifo' : '';
  const fifoAttributes: Record<string, string> = fifo ? { FifoQueue: 'true' } : {};
  const dlq = await clients.sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-dlq${suffix}`, Attributes: fifoAttributes }),
  );
  const dlqUrl = dlq.QueueUrl ?? '';
  const dlqArn = await arnOf(clients.sqs, dlqUrl);
  const queue = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}${suffix}`,
      Attributes: {
        ...fifoAttributes,
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      },
    }),
  );
  const url = queue.QueueUrl ?? '';
  return { url, arn: await arnOf(clients.sqs, url), dlqUrl, dlqArn, maxReceiveCount, fifo };
}

function start(
  queue: TestQueue,
  handler: SqsEventSourceOptions['handler'],
  overrides: Partial<SqsEventSourceOptions> = {},
): SqsEventSource {
  const source = startSqsEventSource({
    sqs: clients.sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    dlqUrl: queue.dlqUrl,
    maxReceiveCount: queue.maxReceiveCount,
    batchSize: 10,
    visibilityTimeoutSeconds: 30,
    fifo: queue.fifo,
    handler,
    logger,
    waitTimeSeconds: 0,
    ...overrides,
  });
  sources.push(source);
  return source;
}

interface TestMessage {
  group: string;
  seq: number;
}

async function send(queue: TestQueue, messages: TestMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const Entries: SendMessageBatchRequestEntry[] = messages.slice(i, i + 10).map((m, index) => ({
      Id: String(index),
      MessageBody: JSON.stringify(m),
      ...(queue.fifo ? { MessageGroupId: m.group, MessageDeduplicationId: `${m.group}-${m.seq}` } : {}),
    }));
    // Sequential batches keep each group's send order.
    const out = await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries }));
    expect(out.Failed ?? []).toEqual([]);
  }
}

async function drain(QueueUrl: string): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const out = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        AttributeNames: ['All'],
      }),
    );
    if (!out.Messages?.length) return messages;
    messages.push(...out.Messages);
  }
}

const bodyOf = (record: SQSRecord): TestMessage => JSON.parse(record.body) as TestMessage;
const label = (m: TestMessage): string => `${m.group}:${m.seq}`;

/** Records every delivery, per group, and whether a group ever had two batches with the handler. */
function recorder(workMs = 0) {
  const deliveries: SQSRecord[] = [];
  const batchSizes: number[] = [];
  const handled = new Map<string, number[]>();
  const busyGroups = new Set<string>();
  const violations: string[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  return {
    deliveries,
    batchSizes,
    handled,
    violations,
    get maxConcurrent() {
      return maxConcurrent;
    },
    /** Wraps a handler that returns the ids to report as failed. */
    wrap(decide: (event: SQSEvent) => string[] | Promise<string[]>): SqsEventSourceOptions['handler'] {
      return async (event) => {
        const groups = new Set(event.Records.map((r) => r.attributes.MessageGroupId ?? ''));
        for (const group of groups) {
          if (busyGroups.has(group)) violations.push(`group ${group} had two batches at once`);
          busyGroups.add(group);
        }
        maxConcurrent = Math.max(maxConcurrent, ++concurrent);
        deliveries.push(...event.Records);
        batchSizes.push(event.Records.length);
        try {
          // Simulated work, so that messages pile up behind busy groups.
          await new Promise((resolve) => setTimeout(resolve, workMs));
          const failed = new Set(await decide(event));
          for (const record of event.Records) {
            if (failed.has(record.messageId)) continue;
            const { group, seq } = bodyOf(record);
            handled.set(group, [...(handled.get(group) ?? []), seq]);
          }
          const response: SQSBatchResponse = {
            batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })),
          };
          return response;
        } finally {
          concurrent--;
          for (const group of groups) busyGroups.delete(group);
        }
      };
    },
    deliveriesOf(message: TestMessage): SQSRecord[] {
      return deliveries.filter((r) => label(bodyOf(r)) === label(message));
    },
  };
}

describe('startSqsEventSource', () => {
  it('keeps the order within each of 20 groups across 1,000 messages and handles groups concurrently', async () => {
    // Prepare
    const queue = await createTestQueue(true);
    const messages = Array.from({ length: 1000 }, (_, i) => ({
      group: `g${i % 20}`,
      seq: Math.floor(i / 20),
    }));
    const record = recorder(20);
    const source = start(
      queue,
      record.wrap(() => []),
    );

    // Act
    await send(queue, messages);
    await source.idle();

    // Assess
    expect(record.violations).toEqual([]);
    expect(record.deliveries).toHaveLength(1000);
    for (let g = 0; g < 20; g++) {
      expect(record.handled.get(`g${g}`)).toEqual(Array.from({ length: 50 }, (_, seq) => seq));
    }
    expect(record.maxConcurrent).toBeGreaterThan(1);
    expect(Math.max(...record.batchSizes)).toBeGreaterThan(1);
    expect(Math.max(...record.batchSizes)).toBeLessThanOrEqual(10);
    const first = record.deliveries[0];
    expect(first).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'us-east-1',
      messageAttributes: {},
      attributes: { ApproximateReceiveCount: '1', MessageGroupId: 'g0', MessageDeduplicationId: 'g0-0' },
    });
    expect(first?.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
    expect(first?.attributes.SentTimestamp).toMatch(/^\d+$/);
    expect(first?.attributes.SequenceNumber).toMatch(/^\d+$/);
    expect(await drain(queue.dlqUrl)).toEqual([]);
  });

  it('redelivers a reported failure and the later messages of its group, in order, and nothing else', async () => {
    // Prepare
    const queue = await createTestQueue(true);
    const messages = ['a', 'b', 'c'].flatMap((group) =>
      Array.from({ length: 10 }, (_, seq) => ({ group, seq })),
    );
    await send(queue, messages);
    const record = recorder();
    const reported: string[] = [];
    const handler = record.wrap((event) => {
      // Fail a:2 on its first delivery; as on AWS FIFO, report it and every later message of the batch.
      // With batches of 5, a:5..a:9 were received with it and wait here behind the retry.
      const index = event.Records.findIndex((r) => label(bodyOf(r)) === 'a:2');
      if (index < 0 || reported.length > 0) return [];
      const failed = event.Records.slice(index).map((r) => r.messageId);
      reported.push(...event.Records.slice(index).map((r) => label(bodyOf(r))));
      return failed;
    });

    // Act
    const source = start(queue, handler, { batchSize: 5 });
    await source.idle();

    // Assess
    expect(record.violations).toEqual([]);
    expect(reported).toEqual(['a:2', 'a:3', 'a:4']);
    for (const message of messages) {
      const deliveries = record.deliveriesOf(message);
      const expected = reported.includes(label(message)) ? ['1', '2'] : ['1'];
      expect(deliveries.map((d) => d.attributes.ApproximateReceiveCount)).toEqual(expected);
    }
    for (const group of ['a', 'b', 'c']) {
      expect(record.handled.get(group)).toEqual(Array.from({ length: 10 }, (_, seq) => seq));
    }
    // After the failure, group a resumed with a:2 itself, before the messages that waited behind it.
    expect(
      record.deliveries
        .map(bodyOf)
        .filter((m) => m.group === 'a')
        .map(label),
    ).toEqual([0, 1, 2, 3, 4, 2, 3, 4, 5, 6, 7, 8, 9].map((seq) => `a:${seq}`));
    expect(await drain(queue.dlqUrl)).toEqual([]);
  });

  it('moves a message that fails maxReceiveCount times to the DLQ and loses or repeats nothing else', async () => {
    // Prepare
    const queue = await createTestQueue(true, 3);
    const poison = { group: 'p', seq: 1 };
    const messages = [
      { group: 'p', seq: 0 },
      poison,
      ...Array.from({ length: 8 }, (_, seq) => ({ group: 'q', seq })),
    ];
    await send(queue, messages);
    const record = recorder();
    const handler = record.wrap((event) =>
      event.Records.filter((r) => label(bodyOf(r)) === label(poison)).map((r) => r.messageId),
    );

    // Act
    const source = start(queue, handler);
    await source.idle();
    const dead = await drain(queue.dlqUrl);

    // Assess
    expect(record.deliveriesOf(poison).map((d) => d.attributes.ApproximateReceiveCount)).toEqual([
      '1',
      '2',
      '3',
    ]);
    for (const message of messages.filter((m) => m !== poison)) {
      expect(record.deliveriesOf(message)).toHaveLength(1);
    }
    expect(record.handled.get('p')).toEqual([0]);
    expect(record.handled.get('q')).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.MessageId).toBe(record.deliveriesOf(poison)[0]?.messageId);
    expect(dead[0]?.Body).toBe(JSON.stringify(poison));
    expect(dead[0]?.Attributes).toMatchObject({ MessageGroupId: 'p', DeadLetterQueueSourceArn: queue.arn });
    expect(await drain(queue.url)).toEqual([]);
  });

  it('redelivers the whole batch when the handler throws', async () => {
    // Prepare
    const queue = await createTestQueue(true);
    const messages = Array.from({ length: 5 }, (_, seq) => ({ group: 'a', seq }));
    await send(queue, messages);
    const record = recorder();
    let calls = 0;
    const handler = record.wrap(() => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return [];
    });

    // Act
    const source = start(queue, handler);
    await source.idle();

    // Assess
    expect(record.deliveries.map((d) => [label(bodyOf(d)), d.attributes.ApproximateReceiveCount])).toEqual([
      ...messages.map((m) => [label(m), '1']),
      ...messages.map((m) => [label(m), '2']),
    ]);
    expect(record.handled.get('a')).toEqual([0, 1, 2, 3, 4]);
    expect(await drain(queue.dlqUrl)).toEqual([]);
  });

  it('redelivers the whole batch when a reported itemIdentifier is not in it', async () => {
    // Prepare
    const queue = await createTestQueue(true);
    const messages = Array.from({ length: 4 }, (_, seq) => ({ group: 'a', seq }));
    await send(queue, messages);
    const record = recorder();
    let calls = 0;
    const handler = record.wrap(() => (++calls === 1 ? ['not-a-message-id'] : []));

    // Act
    const source = start(queue, handler);
    await source.idle();

    // Assess
    for (const message of messages) expect(record.deliveriesOf(message)).toHaveLength(2);
    expect(await drain(queue.dlqUrl)).toEqual([]);
  });

  it('retries only the reported messages of a standard queue', async () => {
    // Prepare
    const queue = await createTestQueue(false);
    const messages = Array.from({ length: 20 }, (_, seq) => ({ group: 's', seq }));
    await send(queue, messages);
    const record = recorder();
    const failedOnce = new Set<string>();
    const handler = record.wrap((event) =>
      event.Records.filter((r) => bodyOf(r).seq % 5 === 0 && !failedOnce.has(r.messageId)).map((r) => {
        failedOnce.add(r.messageId);
        return r.messageId;
      }),
    );

    // Act
    const source = start(queue, handler, { batchSize: 4 });
    await source.idle();

    // Assess
    for (const message of messages) {
      expect(record.deliveriesOf(message)).toHaveLength(message.seq % 5 === 0 ? 2 : 1);
    }
    expect([...(record.handled.get('s') ?? [])].sort((x, y) => x - y)).toEqual(messages.map((m) => m.seq));
  });

  it('returns received but unhandled messages to the queue on stop, so the next poller gets them', async () => {
    // Prepare
    const queue = await createTestQueue(true);
    const messages = Array.from({ length: 30 }, (_, seq) => ({ group: 'a', seq }));
    await send(queue, messages);
    const record = recorder();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let firstBatch: () => void = () => undefined;
    const firstBatchStarted = new Promise<void>((resolve) => {
      firstBatch = resolve;
    });
    const first = start(
      queue,
      record.wrap(async () => {
        firstBatch();
        await gate;
        return [];
      }),
      { batchSize: 5 },
    );
    await firstBatchStarted;

    // Act
    const stopped = first.stop();
    release();
    await stopped;
    const second = start(
      queue,
      record.wrap(() => []),
      { batchSize: 5 },
    );
    await second.idle();

    // Assess
    expect(record.handled.get('a')).toEqual(messages.map((m) => m.seq));
    for (const message of messages) expect(record.deliveriesOf(message)).toHaveLength(1);
  });

  it('keeps messages that wait behind a busy group invisible, so each is received once however long it waits', async () => {
    // Prepare: a 2 s visibility timeout; one group of 8 messages handled one at a time, each for
    // 0.6 s, so the last waits about 4 s (twice the visibility timeout) in the poller.
    const queue = await createTestQueue(true, 3, 2);
    const messages = Array.from({ length: 8 }, (_, seq) => ({ group: 'a', seq }));
    await send(queue, messages);
    const record = recorder(600);

    // Act
    const source = start(
      queue,
      record.wrap(() => []),
      {
        batchSize: 1,
        visibilityTimeoutSeconds: 2,
        functionTimeoutSeconds: 2,
      },
    );
    await source.idle();

    // Assess: as on AWS, where SQS holds a busy group's messages back, each was received once.
    expect(record.violations).toEqual([]);
    expect(record.deliveries.map((d) => [label(bodyOf(d)), d.attributes.ApproximateReceiveCount])).toEqual(
      messages.map((m) => [label(m), '1']),
    );
    expect(await drain(queue.dlqUrl)).toEqual([]);
  });

  it('retries a batch whose handler outlived the visibility timeout once, after that handler returned, before the rest of its group', async () => {
    // Prepare
    const visibilityTimeoutSeconds = 2;
    const queue = await createTestQueue(true, 3, visibilityTimeoutSeconds);
    const messages = Array.from({ length: 3 }, (_, seq) => ({ group: 'a', seq }));
    await send(queue, messages);
    const record = recorder();
    const returned: string[] = [];
    const handler = record.wrap(async (event) => {
      const first = event.Records[0];
      if (first && label(bodyOf(first)) === 'a:0' && first.attributes.ApproximateReceiveCount === '1') {
        // Outlive the visibility timeout, counted from the emulator's own receive stamp.
        const visibleAgainAt =
          Number(first.attributes.ApproximateFirstReceiveTimestamp) + (visibilityTimeoutSeconds + 1) * 1000;
        while (Date.now() < visibleAgainAt) await new Promise((resolve) => setTimeout(resolve, 100));
        returned.push('a:0 first delivery returned');
      }
      return [];
    });

    // Act
    const source = start(queue, handler, {
      batchSize: 1,
      visibilityTimeoutSeconds,
      functionTimeoutSeconds: visibilityTimeoutSeconds,
    });
    await source.idle();

    // Assess: a:0 again (the first invocation counts as timed out), after it returned, then the rest.
    expect(returned).toEqual(['a:0 first delivery returned']);
    expect(record.violations).toEqual([]);
    expect(record.deliveries.map((d) => [label(bodyOf(d)), d.attributes.ApproximateReceiveCount])).toEqual([
      ['a:0', '1'],
      ['a:0', '2'],
      ['a:1', '1'],
      ['a:2', '1'],
    ]);
    expect(record.handled.get('a')).toEqual([0, 0, 1, 2]);
    expect(await drain(queue.url)).toEqual([]);
    expect(await drain(queue.dlqUrl)).toEqual([]);
  });

  it('fails a batch whose handler runs past the function timeout, as Lambda does, and retries it after that handler returned', async () => {
    // Prepare: a 1 s function timeout, a 30 s visibility timeout; a:0's first run takes 2.5 s.
    const queue = await createTestQueue(true);
    const messages = Array.from({ length: 3 }, (_, seq) => ({ group: 'a', seq }));
    await send(queue, messages);
    const record = recorder();
    const events: string[] = [];
    const handler = record.wrap(async (event) => {
      const first = event.Records[0];
      if (first && label(bodyOf(first)) === 'a:0' && first.attributes.ApproximateReceiveCount === '1') {
        const until = Date.now() + 2_500;
        while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
        events.push('slow run returned');
      } else {
        events.push(`run ${label(bodyOf(first as SQSRecord))}`);
      }
      return [];
    });

    // Act
    const source = start(queue, handler, { batchSize: 1, functionTimeoutSeconds: 1 });
    await source.idle();

    // Assess: the slow run's success was ignored; the retry ran after it, before a:1.
    expect(events).toEqual(['slow run returned', 'run a:0', 'run a:1', 'run a:2']);
    expect(record.violations).toEqual([]);
    expect(record.deliveries.map((d) => [label(bodyOf(d)), d.attributes.ApproximateReceiveCount])).toEqual([
      ['a:0', '1'],
      ['a:0', '2'],
      ['a:1', '1'],
      ['a:2', '1'],
    ]);
    expect(await drain(queue.dlqUrl)).toEqual([]);
  });

  it('refuses a function timeout longer than the visibility timeout, as AWS refuses such an event source', async () => {
    const queue = await createTestQueue(true);
    expect(() => start(queue, async () => undefined, { functionTimeoutSeconds: 31 })).toThrow(
      /functionTimeoutSeconds must be above 0 and at most visibilityTimeoutSeconds \(30\), got 31/,
    );
  });

  it('gives a batch that waited behind its group at least its function timeout of visibility before the handler runs', async () => {
    // Prepare: visibility and function timeout 6 s; a:0 takes 2 s, so a:1 waits ~2 s (4 s of its
    // visibility left), then takes 4.5 s: within its function timeout, past its first visibility.
    const queue = await createTestQueue(true, 3, 6);
    const messages = [0, 1].map((seq) => ({ group: 'a', seq }));
    await send(queue, messages);
    const record = recorder();
    const handler = record.wrap(async (event) => {
      const seq = bodyOf(event.Records[0] as SQSRecord).seq;
      const until = Date.now() + (seq === 0 ? 2_000 : 4_500);
      while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
      return [];
    });

    const warn = jest.spyOn(logger, 'warn');

    // Act
    const source = start(queue, handler, {
      batchSize: 1,
      visibilityTimeoutSeconds: 6,
      functionTimeoutSeconds: 6,
    });
    await source.idle();
    const warnings = warn.mock.calls.map(([message]) => message);
    warn.mockRestore();

    // Assess: each handled once, and a:1 never came back while its handler ran (with a full poller
    // buffer the copy is not received and the delete by the expired handle fails: handled twice).
    expect(warnings).not.toContain(
      'Message became visible again while its handler ran past the function timeout',
    );
    expect(record.deliveries.map((d) => [label(bodyOf(d)), d.attributes.ApproximateReceiveCount])).toEqual([
      ['a:0', '1'],
      ['a:1', '1'],
    ]);
    expect(await drain(queue.url)).toEqual([]);
  });
});
