/**
 * Against dynalite and local-aws-sqs: the stuck-meeting sweeper (core/meetings/stuck-sweeper.ts)
 * and the KEYS_ONLY indexes (byBot, byConnection) their readers rely on.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { destroyClients } from '../../core/clients/lifecycle';
import { sqs } from '../../core/clients/sqs';
import { tableName } from '../../core/config';
import type { Meeting, MeetingStatus } from '../../core/meetings/model';
import { MeetingRepository } from '../../core/meetings/repository';
import { STUCK_DISCONNECTING_AFTER_MS, sweepStuckMeetings } from '../../core/meetings/stuck-sweeper';
import { type PipelineEvent, PipelineEventSchema } from '../../core/pipeline/events';
import { sendPipelineEvent } from '../../core/pipeline/send-event';
import { ConnectionRepository, meetingTopic } from '../../core/realtime/connection-repository';
import { createLocalClients, type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { liveMeeting } from '../helpers/meetings';

jest.setTimeout(60_000);

const logger = new Logger({ serviceName: 'sweeper-test', logLevel: 'SILENT' });
let emulators: RunningEmulators;
let meetings: MeetingRepository;
let queueUrl: string;

function meeting(
  meetingId: string,
  status: MeetingStatus,
  updatedAt: Date,
  extra: Partial<Meeting> = {},
): Meeting {
  const at = updatedAt.toISOString();
  return liveMeeting(meetingId, {
    ownerId: 'alice',
    status,
    keywords: [],
    statusEpoch: 3,
    createdAt: at,
    updatedAt: at,
    ...extra,
  });
}

async function drainQueue(): Promise<PipelineEvent[]> {
  const events: PipelineEvent[] = [];
  for (;;) {
    const out = await sqs().send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!out.Messages?.length) return events;
    for (const m of out.Messages) events.push(PipelineEventSchema.parse(JSON.parse(m.Body ?? '')));
  }
}

beforeAll(async () => {
  emulators = await startEmulators({ logger });
  Object.assign(process.env, emulators.env);
  meetings = new MeetingRepository();
  queueUrl = emulators.env.TRANSCRIPT_QUEUE_URL as string;
});

afterAll(async () => {
  destroyClients();
  await emulators?.stop();
});

describe('the stuck-meeting sweeper', () => {
  const now = new Date('2026-12-01T12:00:00.000Z');
  const old = new Date(now.getTime() - STUCK_DISCONNECTING_AFTER_MS - 60_000);
  const recent = new Date(now.getTime() - 60_000);

  it('ends only meetings disconnecting for longer than the bound, and tells their subscribers once', async () => {
    // Prepare
    await meetings.create(meeting('stuck-1', 'disconnecting', old));
    await meetings.create(meeting('stuck-2', 'disconnecting', old));
    await meetings.create(meeting('just-left', 'disconnecting', recent));
    await meetings.create(meeting('long-live', 'live', old));
    await meetings.create(meeting('done', 'ended', old));
    const deps = {
      meetings,
      publish: (event: PipelineEvent) => sendPipelineEvent(sqs(), queueUrl, event),
      logger,
      now: () => now,
    };

    // Act
    const first = await sweepStuckMeetings(deps);
    const second = await sweepStuckMeetings(deps);

    // Assess
    expect(first.ended.sort()).toEqual(['stuck-1', 'stuck-2']);
    expect(second).toEqual({ found: 0, ended: [] });
    for (const id of ['stuck-1', 'stuck-2']) {
      const item = await meetings.get(id);
      expect(item).toMatchObject({ status: 'ended', statusEpoch: 4, endedAt: now.toISOString() });
    }
    expect((await meetings.get('just-left'))?.status).toBe('disconnecting');
    expect((await meetings.get('long-live'))?.status).toBe('live');
    const events = await drainQueue();
    expect(
      events.map((e) => (e.type === 'status' ? `${e.meetingId}:${e.status}:${e.epoch}` : e.type)).sort(),
    ).toEqual(['stuck-1:ended:4', 'stuck-2:ended:4']);
  });

  it('leaves a meeting another writer ended between the scan and the write, and publishes nothing for it', async () => {
    // Prepare: the gateway ends the meeting right after the sweep found it.
    await meetings.create(meeting('raced', 'disconnecting', old));
    const published: PipelineEvent[] = [];
    const racing = {
      findStale: meetings.findStale.bind(meetings),
      setStatusIf: async (...args: Parameters<MeetingRepository['setStatusIf']>) => {
        await meetings.setStatus('raced', 'ended');
        return meetings.setStatusIf(...args);
      },
    };

    // Act
    const result = await sweepStuckMeetings({
      meetings: racing,
      publish: async (event) => {
        published.push(event);
      },
      logger,
      now: () => now,
    });

    // Assess
    expect(result).toEqual({ found: 1, ended: [] });
    expect(published).toEqual([]);
  });
});

describe('keys-only indexes', () => {
  it('creates byBot, byOwner and byConnection with KEYS_ONLY projections', async () => {
    const { dynamodb } = createLocalClients(emulators.endpoints);
    try {
      const projection = async (table: string, index: string) => {
        const out = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
        return out.Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === index)?.Projection
          ?.ProjectionType;
      };
      expect(await projection(tableName('meetings'), 'byBot')).toBe('KEYS_ONLY');
      expect(await projection(tableName('meetings'), 'byOwner')).toBe('KEYS_ONLY');
      expect(await projection(tableName('subscriptions'), 'byConnection')).toBe('KEYS_ONLY');
    } finally {
      dynamodb.destroy();
    }
  });

  it('finds a meeting by its bot with every attribute, although the index holds keys only', async () => {
    await meetings.create(
      meeting('with-bot', 'live', new Date(), { botId: 'bot-123', keywords: ['budget'] }),
    );
    const found = await meetings.findByBot('bot-123');
    expect(found).toMatchObject({
      meetingId: 'with-bot',
      title: 'Meeting with-bot',
      status: 'live',
      keywords: ['budget'],
      endpointTokenHash: 'x'.repeat(64),
    });
    expect(await meetings.findByBot('no-such-bot')).toBeUndefined();
  });

  it('removes every subscription of a connection through the keys-only byConnection index', async () => {
    const connections = new ConnectionRepository();
    await connections.add('conn-1', 'alice');
    await connections.add('conn-2', 'bob');
    for (const id of ['m1', 'm2', 'm3']) await connections.subscribe(meetingTopic(id), 'conn-1', 'alice');
    await connections.subscribe(meetingTopic('m1'), 'conn-2', 'bob');

    await connections.remove('conn-1');

    expect(await connections.subscribers(meetingTopic('m1'))).toEqual([
      { connectionId: 'conn-2', userId: 'bob' },
    ]);
    expect(await connections.subscribers(meetingTopic('m2'))).toEqual([]);
    expect(await connections.subscribers(meetingTopic('m3'))).toEqual([]);
  });
});
