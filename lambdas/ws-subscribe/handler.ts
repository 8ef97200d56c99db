import { RollingBriefingRepository } from '../../core/briefing/rolling-repository';
import { fanoutShardSize } from '../../core/config';
import { MeetingRepository } from '../../core/meetings/repository';
import { SubscribeSchema } from '../../core/realtime/client-messages';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { subscribe } from '../../core/realtime/routes';
import { SegmentRepository } from '../../core/transcript/segment-repository';
import { wsRoute } from '../shared/realtime';
import { replier } from '../shared/replier';

const connections = new ConnectionRepository();
const meetings = new MeetingRepository();
const deps = {
  meetings,
  segments: new SegmentRepository(),
  connections,
  fanout: replier(connections),
  briefings: new RollingBriefingRepository(),
  // The subscription's fan-out shard (the meeting's subscription counter, UpdateItem).
  shards: { size: fanoutShardSize(), meetings },
};

export const handler = wsRoute('subscribe', SubscribeSchema, deps.fanout, (ctx, msg) =>
  subscribe(deps, ctx, msg),
);
