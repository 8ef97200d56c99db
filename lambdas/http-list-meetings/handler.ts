import { MeetingRepository } from '../../core/meetings/repository';
import { ShareRepository } from '../../core/meetings/share-repository';
import { listMeetings } from '../../core/rest/meetings';
import { ListMeetingsQuerySchema, MeetingListSchema } from '../../core/rest/schemas';
import { httpRoute } from '../shared/http';

const meetings = new MeetingRepository();
const shares = new ShareRepository();

/** GET /meetings */
export const handler = httpRoute(
  { name: 'listMeetings', auth: true, query: ListMeetingsQuerySchema, response: MeetingListSchema },
  async ({ userId, query }) => ({
    status: 200,
    json: await listMeetings(userId, query, { meetings, shares }),
  }),
);
