import { UnsubscribeSchema } from '../../core/realtime/protocol';
import { realtime, wsRoute } from '../shared/realtime';

export const handler = wsRoute('unsubscribe', UnsubscribeSchema, (ctx, msg) =>
  realtime().routes.unsubscribe(ctx, msg.meetingId),
);
