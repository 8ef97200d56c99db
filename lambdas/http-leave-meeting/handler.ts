import { MeetingRepository } from '../../core/meetings/repository';
import { leaveMeeting } from '../../core/rest/meetings';
import { MeetingPathSchema, MeetingStatusSchema } from '../../core/rest/schemas';
import { httpRoute, logger, publisherFromEnv, recallFromEnv } from '../shared/http';

const meetings = new MeetingRepository();
const recall = recallFromEnv();
const publish = publisherFromEnv();

/** POST /meetings/{meetingId}/leave */
export const handler = httpRoute(
  { name: 'leaveMeeting', auth: true, params: MeetingPathSchema, response: MeetingStatusSchema },
  async ({ userId, params }) => ({
    status: 200,
    json: await leaveMeeting(userId, params.meetingId, { meetings, recall, publish, logger }),
  }),
);
