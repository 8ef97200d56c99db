import { SubscribeJobSchema } from '../../core/realtime/protocol';
import { realtime, wsRoute } from '../shared/realtime';

export const handler = wsRoute('subscribe_job', SubscribeJobSchema, (ctx, msg) =>
  realtime().routes.subscribeJob(ctx, msg.jobId),
);
