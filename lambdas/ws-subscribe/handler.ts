import { SubscribeSchema } from '../../core/realtime/protocol';
import { realtime, wsRoute } from '../shared/realtime';

export const handler = wsRoute('subscribe', SubscribeSchema, (ctx, msg) =>
  realtime().routes.subscribe(ctx, msg),
);
