import { JobRepository } from '../../core/jobs/repository';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { SubscribeJobSchema } from '../../core/realtime/protocol';
import { subscribeJob } from '../../core/realtime/routes';
import { wsRoute } from '../shared/realtime';
import { replier } from '../shared/replier';

const connections = new ConnectionRepository();
const deps = { jobs: new JobRepository(), connections, fanout: replier(connections) };

export const handler = wsRoute('subscribe_job', SubscribeJobSchema, deps.fanout, (ctx, msg) =>
  subscribeJob(deps, ctx, msg.jobId),
);
