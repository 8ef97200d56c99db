import { MeetingRepository } from '../../core/meetings/repository';
import { ShareRepository } from '../../core/meetings/share-repository';
import { unshareMeeting } from '../../core/rest/meetings';
import { SharePathSchema, SharesSchema } from '../../core/rest/schemas';
import { httpRoute } from '../shared/http';

const meetings = new MeetingRepository();
const shares = new ShareRepository();

/** DELETE /meetings/{meetingId}/shares/{userId} */
export const handler = httpRoute(
  { name: 'unshareMeeting', auth: true, params: SharePathSchema, response: SharesSchema },
  async ({ userId, params }) => ({
    status: 200,
    json: await unshareMeeting(userId, params.meetingId, params.userId, { meetings, shares }),
  }),
);
