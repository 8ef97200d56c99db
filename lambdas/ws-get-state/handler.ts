import { GetStateSchema } from '../../core/realtime/protocol';
import { realtime, wsRoute } from '../shared/realtime';

export const handler = wsRoute('get_state', GetStateSchema, (ctx, msg) =>
  realtime().routes.getState(ctx, 'jobId' in msg ? { jobId: msg.jobId } : { meetingId: msg.meetingId }),
);
