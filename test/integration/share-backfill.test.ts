/**
 * Against dynalite: meetings shared before the shares table existed (only the meeting item's
 * `sharedWith` named the reader) are missing from the reader's `GET /meetings` until
 * `backfillShares` (scripts/backfill-shares.ts) writes their share items — once, idempotently,
 * keeping shares the routes already recorded.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../../core/clients/dynamodb';
import { tableName } from '../../core/config';
import { MeetingRepository } from '../../core/meetings/repository';
import { backfillShares } from '../../core/meetings/share-backfill';
import { ShareRepository, shareKey } from '../../core/meetings/share-repository';
import { listMeetings, shareMeeting } from '../../core/rest/meetings';
import { useEmulators } from '../helpers/emulators';
import { endedMeeting } from '../helpers/meetings';

jest.setTimeout(60_000);

const logger = new Logger({ serviceName: 'share-backfill-test', logLevel: 'SILENT' });
let meetings: MeetingRepository;
let shares: ShareRepository;

const meeting = (meetingId: string, ownerId: string, minute: number, sharedWith: string[]) =>
  endedMeeting(meetingId, new Date(Date.UTC(2026, 10, 1, 9, minute)), { ownerId, sharedWith });

const listed = async (userId: string) =>
  (await listMeetings(userId, { limit: 50 }, { meetings, shares })).meetings.map((m) => m.meetingId);

const shareCount = async () =>
  (await dynamo().send(new ScanCommand({ TableName: tableName('shares'), Select: 'COUNT' }))).Count ?? 0;

useEmulators({ logger });
beforeAll(() => {
  meetings = new MeetingRepository();
  shares = new ShareRepository();
});

describe('backfilling the shares table from meetings shared before it existed', () => {
  it('lists old shares in "shared with me" after the backfill, writes each once and keeps shares already recorded', async () => {
    // Prepare: shared the old way (the meeting's list only), 30 meetings so the Scan pages.
    for (let i = 0; i < 30; i++) {
      const readers = i % 3 === 0 ? ['rita', 'sam'] : i % 3 === 1 ? ['rita'] : [];
      await meetings.create(meeting(`old${i}`, 'olga', i, readers));
    }
    // One shared since, through the route (its share item exists, with its own sharedAt).
    await meetings.create(meeting('new1', 'olga', 40, []));
    await shareMeeting('olga', 'new1', 'rita', 20, { meetings, shares });
    const recorded = await dynamo().send(
      new GetCommand({
        TableName: tableName('shares'),
        Key: { readerId: 'rita', meetingKey: shareKey(meeting('new1', 'olga', 40, [])) },
      }),
    );
    // A meeting item with a malformed reader list entry: skipped, not fatal.
    await dynamo().send(
      new PutCommand({
        TableName: tableName('meetings'),
        Item: { ...meeting('odd1', 'olga', 50, []), sharedWith: ['sam', 7, ''] },
      }),
    );
    const ritasOld = Array.from({ length: 30 }, (_, i) => i)
      .filter((i) => i % 3 !== 2)
      .map((i) => `old${i}`);
    expect(await listed('rita')).toEqual(['new1']); // the bug: old shares are not listed

    // Act: a dry run first, then the backfill, then again.
    const dry = await backfillShares({ dryRun: true, pageSize: 7 });
    const sharesAfterDryRun = await shareCount();
    const pages: number[] = [];
    const first = await backfillShares({ pageSize: 7, onPage: (r) => pages.push(r.scanned) });
    const second = await backfillShares({ pageSize: 7 });

    // Assess
    expect(dry).toEqual({ scanned: 32, sharedMeetings: 22, created: 31, existing: 1, skipped: 2 });
    expect(sharesAfterDryRun).toBe(1);
    expect(first).toEqual({ scanned: 32, sharedMeetings: 22, created: 31, existing: 1, skipped: 2 });
    expect(pages.length).toBeGreaterThan(1);
    expect(second).toEqual({ scanned: 32, sharedMeetings: 22, created: 0, existing: 32, skipped: 2 });
    expect(await shareCount()).toBe(32);
    expect((await listed('rita')).sort()).toEqual(['new1', ...ritasOld].sort());
    expect((await listed('sam')).sort()).toEqual(
      ['odd1', ...Array.from({ length: 10 }, (_, i) => `old${i * 3}`)].sort(),
    );
    expect(await listed('tom')).toEqual([]);
    const kept = await dynamo().send(
      new GetCommand({
        TableName: tableName('shares'),
        Key: { readerId: 'rita', meetingKey: shareKey(meeting('new1', 'olga', 40, [])) },
      }),
    );
    expect(kept.Item?.sharedAt).toBe(recorded.Item?.sharedAt);
  });
});
