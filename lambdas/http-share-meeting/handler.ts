import { MeetingRepository } from '../../core/meetings/repository';
import { ShareRepository } from '../../core/meetings/share-repository';
import { shareMeeting } from '../../core/rest/meetings';
import { MAX_SHARES, MeetingPathSchema, ShareRequestSchema, SharesSchema } from '../../core/rest/schemas';
import { httpRoute } from '../shared/http';

const meetings = new MeetingRepository();
const shares = new ShareRepository();

/** POST /meetings/{meetingId}/shares */
export const handler = httpRoute(
  {
    name: 'shareMeeting',
    auth: true,
    params: MeetingPathSchema,
    body: ShareRequestSchema,
    response: SharesSchema,
  },
  async ({ userId, params, body }) => ({
    status: 200,
    json: await shareMeeting(userId, params.meetingId, body.userId, MAX_SHARES, { meetings, shares }),
  }),
);
