import { PingSchema } from '../../core/realtime/protocol';
import { ping } from '../../core/realtime/routes';
import { wsRoute } from '../shared/realtime';
import { replier } from '../shared/replier';

// Only the management API: ping answers on the connection the frame arrived on.
const deps = { fanout: replier() };

export const handler = wsRoute('ping', PingSchema, deps.fanout, (ctx, msg) => ping(deps, ctx, msg.timestamp));
