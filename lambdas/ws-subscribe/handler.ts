import { RollingBriefingRepository } from '../../core/briefing/rolling-repository';
import { MeetingRepository } from '../../core/meetings/repository';
import { SubscribeSchema } from '../../core/realtime/client-messages';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { subscribe } from '../../core/realtime/routes';
import { SegmentRepository } from '../../core/transcript/segment-repository';
import { wsRoute } from '../shared/realtime';
import { replier } from '../shared/replier';

const connections = new ConnectionRepository();
const deps = {
  meetings: new MeetingRepository(),
  segments: new SegmentRepository(),
  connections,
  fanout: replier(connections),
  briefings: new RollingBriefingRepository(),
};

export const handler = wsRoute('subscribe', SubscribeSchema, deps.fanout, (ctx, msg) =>
  subscribe(deps, ctx, msg),
);
