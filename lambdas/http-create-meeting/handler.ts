import { awsConfig, urlEnv } from '../../core/config';
import { ConfigError } from '../../core/errors';
import { MeetingRepository } from '../../core/meetings/repository';
import { joinMeeting } from '../../core/rest/meetings';
import { CreateMeetingRequestSchema, MeetingSchema } from '../../core/rest/schemas';
import { httpRoute, logger, recallFromEnv } from '../shared/http';

const meetings = new MeetingRepository();
const recall = recallFromEnv();
const audioGatewayUrl = urlEnv('AUDIO_GATEWAY_URL');
if (!/^wss?:\/\//.test(audioGatewayUrl)) {
  throw new ConfigError(
    `AUDIO_GATEWAY_URL environment variable must be a ws:// or wss:// URL, got "${audioGatewayUrl}"`,
  );
}
const allowLocalMeetingUrls = awsConfig().local;

/** POST /meetings */
export const handler = httpRoute(
  { name: 'createMeeting', auth: true, body: CreateMeetingRequestSchema, response: MeetingSchema },
  async ({ userId, body }) => {
    const meeting = await joinMeeting(userId, body, {
      meetings,
      recall,
      audioGatewayUrl,
      allowLocalMeetingUrls,
      logger,
    });
    return { status: 201, json: meeting, headers: { location: `/meetings/${meeting.meetingId}` } };
  },
);
