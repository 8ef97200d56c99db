/**
 * Against dynalite: `GET /meetings` (core/rest/meetings.ts listMeetings) lists the caller's own
 * meetings and the meetings shared with them, merged newest first and paged with one cursor;
 * sharing and unsharing keep the shares table (queried, never scanned) in step.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { ShareRepository } from '../../core/meetings/share-repository';
import { listMeetings, shareMeeting, unshareMeeting } from '../../core/rest/meetings';
import type { MeetingView } from '../../core/rest/schemas';
import { useEmulators } from '../helpers/emulators';
import { endedMeeting } from '../helpers/meetings';

jest.setTimeout(60_000);

const logger = new Logger({ serviceName: 'shared-list-test', logLevel: 'SILENT' });
let meetings: MeetingRepository;
let shares: ShareRepository;

const meeting = (meetingId: string, ownerId: string, minute: number) =>
  endedMeeting(meetingId, new Date(Date.UTC(2026, 11, 1, 10, minute)), { ownerId });

/** Every page of `userId`'s list, `limit` at a time. */
async function allPages(userId: string, limit: number): Promise<MeetingView[][]> {
  const pages: MeetingView[][] = [];
  let cursor: string | undefined;
  do {
    const page = await listMeetings(userId, { limit, ...(cursor ? { cursor } : {}) }, { meetings, shares });
    pages.push(page.meetings);
    cursor = page.nextCursor ?? undefined;
    if (pages.length > 50) throw new Error('the cursor never ends');
  } while (cursor);
  return pages;
}

useEmulators({ logger });
beforeAll(() => {
  meetings = new MeetingRepository();
  shares = new ShareRepository();
});

describe('GET /meetings with meetings shared with the caller', () => {
  it('lists own and shared meetings merged newest first across pages, each once, shared ones as viewer', async () => {
    // Prepare: dana owns 5 meetings (minutes 1, 3, 5, 7, 9); erin shares 3 with her (2, 6, 8)
    // and owns 2 she does not share (4, 10).
    for (const m of [1, 3, 5, 7, 9]) await meetings.create(meeting(`d${m}`, 'dana', m));
    for (const m of [2, 4, 6, 8, 10]) await meetings.create(meeting(`e${m}`, 'erin', m));
    for (const id of ['e2', 'e6', 'e8']) await shareMeeting('erin', id, 'dana', 20, { meetings, shares });

    // Act
    const byTwo = await allPages('dana', 2);
    const whole = await allPages('dana', 100);

    // Assess
    const expected = ['d9', 'e8', 'd7', 'e6', 'd5', 'd3', 'e2', 'd1'];
    expect(byTwo.flat().map((m) => m.meetingId)).toEqual(expected);
    expect(byTwo.every((page) => page.length <= 2)).toBe(true);
    expect(whole).toHaveLength(1);
    expect(whole[0]?.map((m) => m.meetingId)).toEqual(expected);
    const roles = Object.fromEntries(whole[0]?.map((m) => [m.meetingId, m.role]) ?? []);
    expect(roles).toMatchObject({ d9: 'owner', e8: 'viewer', e2: 'viewer', d1: 'owner' });
    // The owner's own list is unchanged by sharing; a third user sees none of it.
    expect((await allPages('erin', 3)).flat().map((m) => m.meetingId)).toEqual([
      'e10',
      'e8',
      'e6',
      'e4',
      'e2',
    ]);
    expect((await allPages('frank', 3)).flat()).toEqual([]);
  });

  it('stops listing a meeting once it is unshared, and lists it again when shared again', async () => {
    await meetings.create(meeting('g1', 'gus', 30));
    await shareMeeting('gus', 'g1', 'hana', 20, { meetings, shares });
    expect((await allPages('hana', 5)).flat().map((m) => m.meetingId)).toEqual(['g1']);

    await unshareMeeting('gus', 'g1', 'hana', { meetings, shares });
    expect((await allPages('hana', 5)).flat()).toEqual([]);

    // Sharing twice is idempotent: listed once.
    await shareMeeting('gus', 'g1', 'hana', 20, { meetings, shares });
    await shareMeeting('gus', 'g1', 'hana', 20, { meetings, shares });
    expect((await allPages('hana', 5)).flat().map((m) => m.meetingId)).toEqual(['g1']);
  });

  it('never shows a meeting whose share item outlived its unsharing (the meeting is the authority)', async () => {
    await meetings.create(meeting('i1', 'ivan', 40));
    await meetings.create(meeting('j1', 'jo', 41));
    await shareMeeting('ivan', 'i1', 'jo', 20, { meetings, shares });
    // The unshare's second write (the share item) failed: only the meeting's list changed.
    await meetings.unshare('i1', 'jo');

    const pages = await allPages('jo', 1);

    expect(pages.flat().map((m) => m.meetingId)).toEqual(['j1']);
  });

  it('refuses a cursor of another user', async () => {
    for (const m of [50, 51, 52]) await meetings.create(meeting(`k${m}`, 'kim', m));
    const first = await listMeetings('kim', { limit: 1 }, { meetings, shares });
    expect(first.nextCursor).not.toBeNull();
    await expect(
      listMeetings('lee', { limit: 1, cursor: first.nextCursor as string }, { meetings, shares }),
    ).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
  });
});
