import { JobRepository } from '../../core/jobs/repository';
import { SubscribeJobSchema } from '../../core/realtime/client-messages';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { subscribeJob } from '../../core/realtime/routes';
import { wsRoute } from '../shared/realtime';
import { replier } from '../shared/replier';

const connections = new ConnectionRepository();
const deps = { jobs: new JobRepository(), connections, fanout: replier(connections) };

export const handler = wsRoute('subscribe_job', SubscribeJobSchema, deps.fanout, (ctx, msg) =>
  subscribeJob(deps, ctx, msg.jobId),
);
