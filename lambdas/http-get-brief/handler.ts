import { loadBriefingConfig } from '../../core/briefing/config';
import { briefingEngineFactory } from '../../core/briefing/engines';
import { BriefingRepository } from '../../core/briefing/repository';
import { MeetingRepository } from '../../core/meetings/repository';
import { getBrief } from '../../core/rest/briefing';
import { BriefSchema, MeetingPathSchema } from '../../core/rest/schemas';
import { SegmentRepository } from '../../core/transcript/segment-repository';
import { httpRoute, logger } from '../shared/http';

const deps = {
  meetings: new MeetingRepository(),
  segments: new SegmentRepository(),
  briefings: new BriefingRepository(),
  engine: briefingEngineFactory(loadBriefingConfig(), logger),
  logger,
};

/** GET /meetings/{meetingId}/brief */
export const handler = httpRoute(
  { name: 'getBrief', auth: true, params: MeetingPathSchema, response: BriefSchema },
  async ({ userId, params }) => ({ status: 200, json: await getBrief(userId, params.meetingId, deps) }),
);
