import { UnsubscribeSchema } from '../../core/realtime/client-messages';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { unsubscribe } from '../../core/realtime/routes';
import { wsRoute } from '../shared/realtime';
import { replier } from '../shared/replier';

const connections = new ConnectionRepository();
const deps = { connections, fanout: replier(connections) };

export const handler = wsRoute('unsubscribe', UnsubscribeSchema, deps.fanout, (ctx, msg) =>
  unsubscribe(deps, ctx, msg.meetingId),
);
