import { PingSchema } from '../../core/realtime/protocol';
import { realtime, wsRoute } from '../shared/realtime';

export const handler = wsRoute('ping', PingSchema, (ctx, msg) => realtime().routes.ping(ctx, msg.timestamp));
