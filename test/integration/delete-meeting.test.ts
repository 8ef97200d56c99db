/**
 * Against dynalite and s3rver, over HTTP through the local REST host and the real
 * lambdas/http-delete-meeting handler: `DELETE /meetings/{meetingId}` deletes an ended meeting
 * with its recording, segments, alerts, briefings and share items; a reader and a live meeting
 * are refused and nothing is deleted.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createJwtVerifier } from '../../core/auth/jwt-verifier';
import { dynamo } from '../../core/clients/dynamodb';
import { destroyClients } from '../../core/clients/lifecycle';
import { s3 } from '../../core/clients/s3';
import { bucketName, tableName } from '../../core/config';
import type { Meeting, MeetingStatus } from '../../core/meetings/model';
import { MeetingRepository } from '../../core/meetings/repository';
import { ShareRepository } from '../../core/meetings/share-repository';
import { chunkKey, meetingPrefix, recordingKey } from '../../core/recordings/keys';
import { S3RecordingStore } from '../../core/recordings/store';
import { type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { type DevIssuer, startDevIssuer } from '../../local/dev-issuer';
import { type HttpHost, startHttpHost } from '../../local/http-host';
import { restRoutes } from '../../local/http-routes';
import { liveMeeting } from '../helpers/meetings';

jest.setTimeout(60_000);

const logger = new Logger({ serviceName: 'delete-meeting-test', logLevel: 'SILENT' });
const OWNER = 'owner-1';
const READER = 'reader-1';
const SEGMENTS = 30; // more than one BatchWriteItem (25)

let emulators: RunningEmulators;
let issuer: DevIssuer;
let host: HttpHost;
let meetings: MeetingRepository;
let shares: ShareRepository;
let store: S3RecordingStore;

function meeting(meetingId: string, status: MeetingStatus): Meeting {
  const at = new Date(Date.UTC(2026, 11, 1, 10, 0)).toISOString();
  return liveMeeting(meetingId, {
    ownerId: OWNER,
    status,
    sharedWith: [READER],
    seqCounter: SEGMENTS,
    lastSeq: SEGMENTS,
    createdAt: at,
    updatedAt: at,
  });
}

/** A meeting with everything Parley stores for one: recording, segments, alerts, briefings, a share. */
async function seed(meetingId: string, status: MeetingStatus): Promise<Meeting> {
  const m = meeting(meetingId, status);
  await meetings.create(m);
  await shares.put(READER, m);
  for (let seq = 1; seq <= SEGMENTS; seq += 1) {
    await dynamo().send(
      new PutCommand({
        TableName: tableName('segments'),
        Item: {
          meetingId,
          seq,
          speaker: 'Ada',
          text: `line ${seq}`,
          startMs: seq * 1000,
          endMs: seq * 1000 + 900,
        },
      }),
    );
  }
  for (const alertKey of ['0000000003#budget-1', '0000000007#budget-2']) {
    await dynamo().send(
      new PutCommand({ TableName: tableName('alerts'), Item: { meetingId, alertKey, keyword: 'budget' } }),
    );
  }
  for (const key of [meetingId, `rolling#${meetingId}`]) {
    await dynamo().send(
      new PutCommand({ TableName: tableName('briefings'), Item: { meetingId: key, coversSeq: 1 } }),
    );
  }
  const chunk = chunkKey({ meetingId, start: 0, end: 16_000, source: { kind: 'recall' }, skip: false });
  await store.put(chunk, new Uint8Array(32_000), 'application/octet-stream');
  await store.put(recordingKey(meetingId, 'webm'), new Uint8Array([1, 2, 3]), 'audio/webm');
  return m;
}

async function stored(m: Meeting) {
  const count = async (table: 'segments' | 'alerts') =>
    (
      await dynamo().send(
        new QueryCommand({
          TableName: tableName(table),
          KeyConditionExpression: 'meetingId = :m',
          ExpressionAttributeValues: { ':m': m.meetingId },
          Select: 'COUNT',
        }),
      )
    ).Count ?? 0;
  const briefings = await Promise.all(
    [m.meetingId, `rolling#${m.meetingId}`].map(
      async (key) =>
        (await dynamo().send(new GetCommand({ TableName: tableName('briefings'), Key: { meetingId: key } })))
          .Item,
    ),
  );
  return {
    meeting: (await meetings.get(m.meetingId)) !== undefined,
    recordingObjects: (await store.list(meetingPrefix(m.meetingId))).length,
    segments: await count('segments'),
    alerts: await count('alerts'),
    briefings: briefings.filter(Boolean).length,
    shares: (await shares.listByReader(READER, { limit: 100 })).items.filter(
      (s) => s.meetingId === m.meetingId,
    ).length,
  };
}

const EVERYTHING = {
  meeting: true,
  recordingObjects: 2,
  segments: SEGMENTS,
  alerts: 2,
  briefings: 2,
  shares: 1,
};

async function call(method: 'GET' | 'DELETE', path: string, userId: string) {
  const token = await issuer.mintToken(userId);
  const res = await fetch(`${host.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return {
    status: res.status,
    text,
    code: text ? (JSON.parse(text) as { error?: { code?: string } }).error?.code : undefined,
  };
}

beforeAll(async () => {
  emulators = await startEmulators({ logger });
  Object.assign(process.env, emulators.env);
  meetings = new MeetingRepository();
  shares = new ShareRepository();
  store = new S3RecordingStore(s3(), bucketName('media'));
  issuer = await startDevIssuer();
  host = await startHttpHost({
    routes: restRoutes(),
    jwt: createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience }),
    logger,
  });
});

afterAll(async () => {
  await host?.stop();
  await issuer?.stop();
  destroyClients();
  await emulators?.stop();
});

describe('DELETE /meetings/{meetingId}', () => {
  it('deletes an ended meeting with its recording, segments, alerts, briefings and shares, then answers 404', async () => {
    const m = await seed('ended-1', 'ended');
    const other = await seed('ended-2', 'ended');
    expect(await stored(m)).toEqual(EVERYTHING);

    const reply = await call('DELETE', `/meetings/${m.meetingId}`, OWNER);
    expect(reply.status).toBe(204);
    expect(reply.text).toBe('');

    expect(await stored(m)).toEqual({
      meeting: false,
      recordingObjects: 0,
      segments: 0,
      alerts: 0,
      briefings: 0,
      shares: 0,
    });
    expect((await call('GET', `/meetings/${m.meetingId}`, OWNER)).status).toBe(404);
    // Another meeting's data is untouched.
    expect(await stored(other)).toEqual(EVERYTHING);
    // A second DELETE finds nothing: 404, like an unknown meeting.
    expect(await call('DELETE', `/meetings/${m.meetingId}`, OWNER)).toMatchObject({
      status: 404,
      code: 'MEETING_NOT_FOUND',
    });
  });

  it('answers a reader it is shared with exactly like an unknown meeting, and deletes nothing', async () => {
    const m = await seed('ended-3', 'ended');
    const reader = await call('DELETE', `/meetings/${m.meetingId}`, READER);
    const stranger = await call('DELETE', `/meetings/${m.meetingId}`, 'stranger-1');
    const unknown = await call('DELETE', '/meetings/no-such-meeting', READER);
    expect(reader).toMatchObject({ status: 404, code: 'MEETING_NOT_FOUND' });
    expect(stranger).toMatchObject({ status: 404, code: 'MEETING_NOT_FOUND' });
    expect(unknown).toMatchObject({ status: 404, code: 'MEETING_NOT_FOUND' });
    expect(await stored(m)).toEqual(EVERYTHING);
    expect((await call('GET', `/meetings/${m.meetingId}`, READER)).status).toBe(200);
  });

  it.each(['live', 'joining', 'paused', 'disconnecting'] as const)(
    'refuses a %s meeting with 409 MEETING_NOT_OVER and keeps all of it',
    async (status) => {
      const m = await seed(`running-${status}`, status);
      const reply = await call('DELETE', `/meetings/${m.meetingId}`, OWNER);
      expect(reply).toMatchObject({ status: 409, code: 'MEETING_NOT_OVER' });
      expect(await stored(m)).toEqual(EVERYTHING);
    },
  );

  it('finishes a deletion that stopped midway when DELETE is called again', async () => {
    const m = await seed('ended-4', 'ended');
    // As if a first DELETE had removed the recording and the alerts, then failed.
    await store.delete(await store.list(meetingPrefix(m.meetingId)));
    await dynamo().send(
      new DeleteCommand({
        TableName: tableName('alerts'),
        Key: { meetingId: m.meetingId, alertKey: '0000000003#budget-1' },
      }),
    );
    expect((await call('DELETE', `/meetings/${m.meetingId}`, OWNER)).status).toBe(204);
    expect(await stored(m)).toEqual({
      meeting: false,
      recordingObjects: 0,
      segments: 0,
      alerts: 0,
      briefings: 0,
      shares: 0,
    });
  });

  it('deletes a failed meeting that has no recording at all', async () => {
    const m = meeting('failed-1', 'failed');
    await meetings.create({ ...m, sharedWith: [] });
    expect((await call('DELETE', `/meetings/${m.meetingId}`, OWNER)).status).toBe(204);
    expect(await meetings.get(m.meetingId)).toBeUndefined();
  });
});
