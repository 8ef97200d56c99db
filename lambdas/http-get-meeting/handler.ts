import { MeetingRepository } from '../../core/meetings/repository';
import { getMeeting } from '../../core/rest/meetings';
import { MeetingPathSchema, MeetingSchema } from '../../core/rest/schemas';
import { httpRoute } from '../shared/http';

const meetings = new MeetingRepository();

/** GET /meetings/{meetingId} */
export const handler = httpRoute(
  { name: 'getMeeting', auth: true, params: MeetingPathSchema, response: MeetingSchema },
  async ({ userId, params }) => ({
    status: 200,
    json: await getMeeting(userId, params.meetingId, { meetings }),
  }),
);
