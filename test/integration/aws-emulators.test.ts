import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { bucketName, dlqUrl, loadAwsConfig, queueUrl, tableName } from '../../core/config';
import {
  BUCKETS,
  type BucketKey,
  type IndexDefinition,
  QUEUES,
  type QueueKey,
  TABLES,
  type TableDefinition,
  type TableKey,
} from '../../core/resources';
import {
  createLocalClients,
  type LocalAwsClients,
  type RunningEmulators,
  startEmulators,
} from '../../local/aws-emulators';

const logger = new Logger({ serviceName: 'aws-emulators-test', logLevel: 'SILENT' });
const tableKeys = Object.keys(TABLES) as TableKey[];
const queueKeys = Object.keys(QUEUES) as QueueKey[];
const bucketKeys = Object.keys(BUCKETS) as BucketKey[];

function sortBy<T>(items: T[] | undefined, key: (item: T) => string): T[] {
  return [...(items ?? [])].sort((a, b) => key(a).localeCompare(key(b)));
}

/** Open servers, sockets and timers of this process, by kind, once pending close callbacks have run. */
async function activeHandles(): Promise<Record<string, number>> {
  // Handles closed in this loop iteration are released in its close phase, after the next check phase.
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'TCPServerWrap' || kind === 'TCPSocketWrap' || kind === 'Timeout') {
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
  }
  return counts;
}

/**
 * Waits (bounded) until no more servers, sockets or timers are open than `before`: jest's reporter
 * runs short timers of its own in this process, so a single look could catch one of those.
 */
async function handlesSettledTo(before: Record<string, number>): Promise<Record<string, number>> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const now = await activeHandles();
    const settled = Object.entries(now).every(([kind, count]) => count <= (before[kind] ?? 0));
    if (settled || Date.now() > deadline) return now;
  }
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

describe('startEmulators', () => {
  let emulators: RunningEmulators;
  let clients: LocalAwsClients;

  beforeAll(async () => {
    emulators = await startEmulators({ logger });
    clients = createLocalClients(emulators.endpoints);
  });

  afterAll(async () => {
    clients?.destroy();
    await emulators?.stop();
  });

  it.each(tableKeys)('creates the %s table with the keys and indexes of core/resources.ts', async (key) => {
    // Prepare
    const def: TableDefinition = TABLES[key];
    const keyAttributes = [
      def.partitionKey,
      def.sortKey,
      ...def.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
    ];
    const expectedAttributes = new Map(
      keyAttributes.flatMap((k) =>
        k ? [[k.name, { AttributeName: k.name, AttributeType: k.type }] as const] : [],
      ),
    );

    // Act
    const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: def.localName }));

    // Assess
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual(
      [
        { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
        def.sortKey && { AttributeName: def.sortKey.name, KeyType: 'RANGE' },
      ].filter(Boolean),
    );
    expect(sortBy(Table?.AttributeDefinitions, (a) => a.AttributeName ?? '')).toEqual(
      sortBy([...expectedAttributes.values()], (a) => a.AttributeName),
    );
    const indexes = sortBy(Table?.GlobalSecondaryIndexes, (i) => i.IndexName ?? '').map((i) => ({
      name: i.IndexName,
      keys: i.KeySchema,
      projection: i.Projection?.ProjectionType,
    }));
    expect(indexes).toEqual(
      sortBy([...def.globalSecondaryIndexes], (i) => i.indexName).map((i) => ({
        name: i.indexName,
        keys: [
          { AttributeName: i.partitionKey.name, KeyType: 'HASH' },
          ...(i.sortKey ? [{ AttributeName: i.sortKey.name, KeyType: 'RANGE' }] : []),
        ],
        projection: (i as IndexDefinition).projection ?? 'ALL',
      })),
    );
  });

  it.each(queueKeys)(
    'creates the %s queue and its DLQ with the attributes of core/resources.ts',
    async (key) => {
      // Prepare
      const def = QUEUES[key];
      const url = queueUrl(key, emulators.env);
      const dlq = dlqUrl(key, emulators.env);

      // Act
      const attributesOf = async (QueueUrl: string) => {
        const out = await clients.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }),
        );
        return out.Attributes ?? {};
      };
      const [queueAttributes, dlqAttributes] = await Promise.all([attributesOf(url), attributesOf(dlq)]);

      // Assess
      expect(url.endsWith(`/${def.localName}`)).toBe(true);
      expect(dlq.endsWith(`/${def.dlq.localName}`)).toBe(true);
      expect(queueAttributes.QueueArn).toBe(emulators.queueArns[key].queue);
      expect(dlqAttributes.QueueArn).toBe(emulators.queueArns[key].dlq);
      expect(queueAttributes.FifoQueue).toBe(def.fifo ? 'true' : undefined);
      expect(dlqAttributes.FifoQueue).toBe(def.fifo ? 'true' : undefined);
      expect(queueAttributes.VisibilityTimeout).toBe(String(def.visibilityTimeoutSeconds));
      expect(queueAttributes.MessageRetentionPeriod).toBe(String(def.retentionSeconds));
      expect(dlqAttributes.MessageRetentionPeriod).toBe(String(def.dlq.retentionSeconds));
      expect(JSON.parse(queueAttributes.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: emulators.queueArns[key].dlq,
        maxReceiveCount: def.maxReceiveCount,
      });
    },
  );

  it.each(bucketKeys)('creates the %s bucket', async (key) => {
    // Act
    const head = clients.s3.send(new HeadBucketCommand({ Bucket: bucketName(key, emulators.env) }));

    // Assess
    await expect(head).resolves.toBeDefined();
  });

  it('sets every environment variable Parley reads to find the emulators and resources', () => {
    // Act
    const aws = loadAwsConfig(emulators.env);

    // Assess
    expect(aws).toEqual({ region: 'us-east-1', local: true, endpoints: emulators.endpoints });
    expect(emulators.env).toMatchObject({ AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    for (const key of tableKeys) expect(tableName(key, emulators.env)).toBe(TABLES[key].localName);
    for (const key of bucketKeys) expect(bucketName(key, emulators.env)).toBe(BUCKETS[key].localName);
    for (const key of queueKeys) {
      expect(queueUrl(key, emulators.env).startsWith(emulators.endpoints.sqs)).toBe(true);
      expect(dlqUrl(key, emulators.env).startsWith(emulators.endpoints.sqs)).toBe(true);
    }
  });

  it('puts, gets and queries DynamoDB items through a secondary index', async () => {
    // Prepare
    const doc = DynamoDBDocumentClient.from(clients.dynamodb);
    const TableName = tableName('meetings', emulators.env);
    const meeting = { meetingId: 'm-1', ownerId: 'u-1', createdAt: '2026-01-01T00:00:00Z', title: 'Standup' };

    // Act
    await doc.send(new PutCommand({ TableName, Item: meeting }));
    const { Item } = await doc.send(new GetCommand({ TableName, Key: { meetingId: 'm-1' } }));
    const { Items } = await doc.send(
      new QueryCommand({
        TableName,
        IndexName: 'byOwner',
        KeyConditionExpression: 'ownerId = :owner',
        ExpressionAttributeValues: { ':owner': 'u-1' },
      }),
    );

    // Assess: the index is keys only (core/resources.ts), and the emulator projects as DynamoDB does.
    expect(Item).toEqual(meeting);
    expect(Items).toEqual([{ meetingId: 'm-1', ownerId: 'u-1', createdAt: '2026-01-01T00:00:00Z' }]);
  });

  it('lists S3 objects across several pages without the OpenSSL legacy provider', async () => {
    // Prepare
    const Bucket = bucketName('media', emulators.env);
    const keys = Array.from({ length: 25 }, (_, i) => `uploads/paging/${String(i).padStart(3, '0')}.txt`);
    await Promise.all(keys.map((Key) => clients.s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }))));

    // Act
    const pages: string[][] = [];
    for await (const page of paginateListObjectsV2(
      { client: clients.s3, pageSize: 10 },
      { Bucket, Prefix: 'uploads/paging/' },
    )) {
      pages.push((page.Contents ?? []).map((o) => o.Key ?? ''));
    }
    const object = await clients.s3.send(new GetObjectCommand({ Bucket, Key: keys[7] }));

    // Assess
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual(keys);
    expect(await object.Body?.transformToString()).toBe(keys[7]);
  });

  it('sends and receives on the FIFO queue with FIFO attributes, in order', async () => {
    // Prepare
    const QueueUrl = queueUrl('transcriptEvents', emulators.env);
    const entries = Array.from({ length: 5 }, (_, i) => ({
      Id: `e${i}`,
      MessageBody: JSON.stringify({ seq: i }),
      MessageGroupId: 'meeting-1',
      MessageDeduplicationId: `meeting-1-${i}`,
    }));

    // Act
    const sent = await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
    const received = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, AttributeNames: ['All'] }),
    );

    // Assess
    expect(sent.Failed ?? []).toEqual([]);
    const messages = received.Messages ?? [];
    expect(messages.map((m) => JSON.parse(m.Body ?? '{}').seq)).toEqual([0, 1, 2, 3, 4]);
    for (const m of messages) {
      expect(m.Attributes).toMatchObject({ MessageGroupId: 'meeting-1', ApproximateReceiveCount: '1' });
      expect(m.Attributes?.SequenceNumber).toMatch(/^\d+$/);
    }
  });
});

describe('emulator lifecycle', () => {
  it('starts and stops twice in one process and frees its ports each time', async () => {
    // Prepare
    const host = '127.0.0.1';
    const handlesBefore = await activeHandles();
    const first = await startEmulators({ logger });
    const ports = {
      dynamodb: Number(new URL(first.endpoints.dynamodb).port),
      s3: Number(new URL(first.endpoints.s3).port),
      sqs: Number(new URL(first.endpoints.sqs).port),
    };
    const firstClients = createLocalClients(first.endpoints);
    await firstClients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl('transcriptEvents', first.env), WaitTimeSeconds: 0 }),
    );
    firstClients.destroy();

    // Act
    await first.stop();
    await first.stop();
    const freeAfterFirst = await Promise.all(Object.values(ports).map((port) => canListen(port, host)));
    const second = await startEmulators({ logger, ports });
    const secondClients = createLocalClients(second.endpoints);
    const head = await secondClients.s3.send(
      new HeadBucketCommand({ Bucket: bucketName('media', second.env) }),
    );
    secondClients.destroy();
    await second.stop();
    const freeAfterSecond = await Promise.all(Object.values(ports).map((port) => canListen(port, host)));

    // Assess
    expect(freeAfterFirst).toEqual([true, true, true]);
    expect(second.endpoints).toEqual(first.endpoints);
    expect(head.$metadata.httpStatusCode).toBe(200);
    expect(freeAfterSecond).toEqual([true, true, true]);
    const handlesAfter = await handlesSettledTo(handlesBefore);
    const grown = Object.entries(handlesAfter).filter(([kind, count]) => count > (handlesBefore[kind] ?? 0));
    expect(grown).toEqual([]);
  });

  it('fails with EADDRINUSE when a port is taken and leaves nothing running', async () => {
    // Prepare
    const host = '127.0.0.1';
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, host, resolve));
    const takenPort = (blocker.address() as { port: number }).port;
    const handlesBefore = await activeHandles();

    // Act
    const start = startEmulators({ logger, ports: { sqs: takenPort } });

    // Assess
    await expect(start).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(
      Object.entries(await handlesSettledTo(handlesBefore)).filter(
        ([kind, count]) => count > (handlesBefore[kind] ?? 0),
      ),
    ).toEqual([]);
    await new Promise((resolve) => blocker.close(resolve));
  });

  it('reuses the tables and buckets of a persistent data directory', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'parley-emulators-test-'));
    try {
      const first = await startEmulators({ logger, dataDir });
      const firstClients = createLocalClients(first.endpoints);
      const doc = DynamoDBDocumentClient.from(firstClients.dynamodb);
      await doc.send(
        new PutCommand({
          TableName: tableName('segments', first.env),
          Item: { meetingId: 'm', seq: 1, text: 'hi' },
        }),
      );
      await firstClients.s3.send(
        new PutObjectCommand({
          Bucket: bucketName('media', first.env),
          Key: 'recordings/a.txt',
          Body: 'audio',
        }),
      );
      firstClients.destroy();
      await first.stop();

      // Act
      const second = await startEmulators({ logger, dataDir });
      const secondClients = createLocalClients(second.endpoints);
      const { Item } = await DynamoDBDocumentClient.from(secondClients.dynamodb).send(
        new GetCommand({ TableName: tableName('segments', second.env), Key: { meetingId: 'm', seq: 1 } }),
      );
      const object = await secondClients.s3.send(
        new GetObjectCommand({ Bucket: bucketName('media', second.env), Key: 'recordings/a.txt' }),
      );
      const body = await object.Body?.transformToString();
      secondClients.destroy();
      await second.stop();

      // Assess
      expect(Item).toEqual({ meetingId: 'm', seq: 1, text: 'hi' });
      expect(body).toBe('audio');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
