/**
 * Against dynalite: the byOwner indexes of the meetings and jobs tables hold keys only
 * (core/resources.ts; a full copy was rewritten on every meeting update and job tick), so both
 * listings read the page's items from the table, newest first, current as of the read.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tableName } from '../../core/config';
import type { Job } from '../../core/jobs/model';
import { JobRepository } from '../../core/jobs/repository';
import type { Meeting } from '../../core/meetings/model';
import { MeetingRepository } from '../../core/meetings/repository';
import { useEmulators } from '../helpers/emulators';
import { liveMeeting } from '../helpers/meetings';

jest.setTimeout(60_000);

const logger = new Logger({ serviceName: 'keys-only-listings-test', logLevel: 'SILENT' });

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 10, minute)).toISOString();

function meeting(meetingId: string, ownerId: string, minute: number): Meeting {
  return liveMeeting(meetingId, { ownerId, createdAt: at(minute), updatedAt: at(minute) });
}

function job(jobId: string, ownerId: string, minute: number, expiresAt: number): Job {
  return {
    jobId,
    ownerId,
    stage: 'queued',
    percent: 0,
    fileName: `${jobId}.wav`,
    contentType: 'audio/wav',
    sizeBytes: 1_000,
    language: 'en',
    keywords: [],
    title: `Job ${jobId}`,
    uploadKey: `uploads/jobs/${jobId}/${jobId}.wav`,
    meetingId: jobId,
    audioSecondsProcessed: 0,
    checkpointSeq: 0,
    checkpointMs: 0,
    segments: 0,
    attempts: 0,
    createdAt: at(minute),
    updatedAt: at(minute),
    expiresAt,
  };
}

useEmulators({ logger });

describe('keys-only byOwner listings', () => {
  it('creates both byOwner indexes with a KEYS_ONLY projection', async () => {
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
    });
    try {
      for (const table of ['meetings', 'jobs'] as const) {
        const out = await client.send(new DescribeTableCommand({ TableName: tableName(table) }));
        const index = out.Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === 'byOwner');
        expect({ table, projection: index?.Projection?.ProjectionType }).toEqual({
          table,
          projection: 'KEYS_ONLY',
        });
      }
    } finally {
      client.destroy();
    }
  });

  it('lists an owner’s meetings newest first, whole and current, a page at a time', async () => {
    const meetings = new MeetingRepository();
    for (const [id, minute] of [
      ['a1', 1],
      ['a2', 2],
      ['a3', 3],
    ] as const) {
      await meetings.create(meeting(id, 'ann', minute));
    }
    await meetings.create(meeting('b1', 'bob', 4));
    await meetings.advanceLastSeq('a2', 17);

    const first = await meetings.listByOwner('ann', { limit: 2 });
    const second = await meetings.listByOwner('ann', { limit: 2, cursor: first.cursor });

    expect(first.items.map((m) => m.meetingId)).toEqual(['a3', 'a2']);
    // Read from the table: every attribute, as of now (lastSeq was advanced after the insert).
    expect(first.items[1]).toMatchObject({ title: 'Meeting a2', keywords: ['budget'], lastSeq: 17 });
    expect(second.items.map((m) => m.meetingId)).toEqual(['a1']);
  });

  it('lists an owner’s jobs newest first from the table, leaving out expired ones', async () => {
    const jobs = new JobRepository();
    const now = Math.floor(Date.now() / 1000);
    await jobs.create(job('j1', 'cat', 1, now + 3_600));
    await jobs.create(job('j2', 'cat', 2, now - 10));
    await jobs.create(job('j3', 'cat', 3, now + 3_600));
    await jobs.create(job('j4', 'dan', 4, now + 3_600));
    await jobs.update('j3', { percent: 40 });

    const page = await jobs.listByOwner('cat', { limit: 10 });

    expect(page.items.map((j) => j.jobId)).toEqual(['j3', 'j1']);
    expect(page.items[0]).toMatchObject({ fileName: 'j3.wav', percent: 40 });
  });
});
