import { MeetingRepository } from '../../core/meetings/repository';
import { getMeetingStatus } from '../../core/rest/meetings';
import { MeetingPathSchema, MeetingStatusSchema } from '../../core/rest/schemas';
import { httpRoute } from '../shared/http';

const meetings = new MeetingRepository();

/** GET /meetings/{meetingId}/status */
export const handler = httpRoute(
  { name: 'getMeetingStatus', auth: true, params: MeetingPathSchema, response: MeetingStatusSchema },
  async ({ userId, params }) => ({
    status: 200,
    json: await getMeetingStatus(userId, params.meetingId, { meetings }),
  }),
);
