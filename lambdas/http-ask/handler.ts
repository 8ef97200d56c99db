import { loadBriefingConfig } from '../../core/briefing/config';
import { briefingEngineFactory } from '../../core/briefing/engines';
import { MeetingRepository } from '../../core/meetings/repository';
import { askMeeting } from '../../core/rest/briefing';
import { AskRequestSchema, AskResponseSchema, MeetingPathSchema } from '../../core/rest/schemas';
import { SegmentRepository } from '../../core/transcript/segment-repository';
import { httpRoute, logger, recallFromEnv } from '../shared/http';

const deps = {
  meetings: new MeetingRepository(),
  segments: new SegmentRepository(),
  engine: briefingEngineFactory(loadBriefingConfig(), logger),
  recall: recallFromEnv(),
  logger,
};

/** POST /meetings/{meetingId}/ask */
export const handler = httpRoute(
  {
    name: 'askMeeting',
    auth: true,
    params: MeetingPathSchema,
    body: AskRequestSchema,
    response: AskResponseSchema,
  },
  async ({ userId, params, body }) => ({
    status: 200,
    json: await askMeeting(userId, params.meetingId, body, deps),
  }),
);
