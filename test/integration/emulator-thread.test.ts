/**
 * The AWS emulators on their own worker thread (local/emulator-thread.ts), as the local stack
 * runs them: the same RunningEmulators as in process, fault injection and S3 events across the
 * thread boundary, a clean stop, persistence, and nothing left behind when the process dies.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createLocalClients, type RunningEmulators } from '../../local/aws-emulators';
import { startEmulatorsInThread } from '../../local/emulator-thread';

const portOf = (url: string) => Number(new URL(url).port);

/** Whether this process can listen on `port` now (the emulators freed it). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function tcpServersOfThisThread(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;
}

describe('the AWS emulators on a worker thread', () => {
  let emulators: RunningEmulators;
  let clients: ReturnType<typeof createLocalClients>;
  let serversBefore: number;

  beforeAll(async () => {
    serversBefore = tcpServersOfThisThread();
    emulators = await startEmulatorsInThread();
    clients = createLocalClients(emulators.endpoints);
  });
  afterAll(async () => {
    clients?.destroy();
    await emulators?.stop();
  });

  it('serves DynamoDB from another thread: none of its servers listens on this one', async () => {
    expect(tcpServersOfThisThread()).toBe(serversBefore);
    const doc = DynamoDBDocumentClient.from(clients.dynamodb);
    const TableName = emulators.env.MEETINGS_TABLE as string;
    await doc.send(new PutCommand({ TableName, Item: { meetingId: 'thread-1', title: 'across threads' } }));
    const got = await doc.send(new GetCommand({ TableName, Key: { meetingId: 'thread-1' } }));
    expect(got.Item).toEqual({ meetingId: 'thread-1', title: 'across threads' });
  });

  it('arms an injected DynamoDB fault before failDynamo resolves', async () => {
    const doc = DynamoDBDocumentClient.from(clients.dynamodb);
    const TableName = emulators.env.MEETINGS_TABLE as string;
    await emulators.failDynamo('PutItem', 1_000);
    await expect(
      doc.send(new PutCommand({ TableName, Item: { meetingId: 'thread-2' } })),
    ).rejects.toMatchObject({
      name: 'InternalServerError',
    });
    await emulators.failDynamo('PutItem', 0);
    await doc.send(new PutCommand({ TableName, Item: { meetingId: 'thread-2' } }));
  });

  it("emits s3rver's event notifications on this thread", async () => {
    const event = new Promise<{ Records: { s3: { object: { key: string } } }[] }>((resolve) =>
      emulators.s3Events.once('event', resolve),
    );
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: emulators.env.MEDIA_BUCKET,
        Key: 'uploads/jobs/thread.wav',
        Body: 'RIFF',
      }),
    );
    expect((await event).Records[0]?.s3.object.key).toBe('uploads/jobs/thread.wav');
  });
});

describe('the emulator thread stopping', () => {
  it('frees its ports on stop (twice is fine) and keeps a persistent store across restarts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'parley-thread-'));
    try {
      const first = await startEmulatorsInThread({ dataDir });
      const TableName = first.env.MEETINGS_TABLE as string;
      let clients = createLocalClients(first.endpoints);
      await DynamoDBDocumentClient.from(clients.dynamodb).send(
        new PutCommand({ TableName, Item: { meetingId: 'kept', title: 'persisted' } }),
      );
      clients.destroy();
      await first.stop();
      await first.stop();
      for (const url of Object.values(first.endpoints)) expect(await canListen(portOf(url))).toBe(true);

      const second = await startEmulatorsInThread({ dataDir });
      clients = createLocalClients(second.endpoints);
      try {
        const got = await DynamoDBDocumentClient.from(clients.dynamodb).send(
          new GetCommand({ TableName, Key: { meetingId: 'kept' } }),
        );
        expect(got.Item?.title).toBe('persisted');
      } finally {
        clients.destroy();
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('ends with its process: a killed process leaves no emulator holding its ports', async () => {
    const tsx = require.resolve('tsx/cjs/api');
    const thread = require.resolve('../../local/emulator-thread');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(tsx)}).register();
         require(${JSON.stringify(thread)}).startEmulatorsInThread().then((e) => process.stdout.write(JSON.stringify(e.endpoints) + '\\n'));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' } },
    );
    const endpoints = await new Promise<Record<string, string>>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const line = out.split('\n').find((l) => l.startsWith('{"dynamodb"'));
        if (line) resolve(JSON.parse(line) as Record<string, string>);
      });
      child.once('exit', (code) => reject(new Error(`child exited (code ${code}) before starting`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    for (const url of Object.values(endpoints)) expect(await canListen(portOf(url))).toBe(true);
  });
});
