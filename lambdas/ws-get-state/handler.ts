import { RollingBriefingRepository } from '../../core/briefing/rolling-repository';
import { JobRepository } from '../../core/jobs/repository';
import { MeetingRepository } from '../../core/meetings/repository';
import { GetStateSchema } from '../../core/realtime/client-messages';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { getState } from '../../core/realtime/routes';
import { wsRoute } from '../shared/realtime';
import { replier } from '../shared/replier';

// Reads only; the connections repository is there to remove a connection found gone.
const deps = {
  jobs: new JobRepository(),
  meetings: new MeetingRepository(),
  briefings: new RollingBriefingRepository(),
  fanout: replier(new ConnectionRepository()),
};

export const handler = wsRoute('get_state', GetStateSchema, deps.fanout, (ctx, msg) =>
  getState(deps, ctx, 'jobId' in msg ? { jobId: msg.jobId } : { meetingId: msg.meetingId }),
);
