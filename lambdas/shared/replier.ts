/**
 * The management API poster of the routes that reply. Kept apart from ./realtime.ts so that
 * `$connect` and `$disconnect`, which post nothing, never load the management API client.
 */
import { managementEndpoint } from '../../core/config';
import { ConnectionFanout } from '../../core/realtime/connection-fanout';
import type { ConnectionRepository } from '../../core/realtime/connection-repository';
import { logger } from './realtime';

/**
 * The management API poster of a route. `connections` removes a connection found gone (410)
 * with its subscriptions; routes that only answer the frame that just arrived (`ping`,
 * `$default`) pass none: they hold no table grant, and a record whose socket vanished in that
 * instant expires by its TTL (core/realtime/connection-repository.ts).
 */
export function replier(connections?: Pick<ConnectionRepository, 'remove'>): ConnectionFanout {
  return new ConnectionFanout(managementEndpoint(), connections ?? LEFT_TO_TTL, logger);
}

const LEFT_TO_TTL: Pick<ConnectionRepository, 'remove'> = {
  remove: async (connectionId) => {
    logger.info('gone connection left to its TTL', { connectionId });
  },
};
