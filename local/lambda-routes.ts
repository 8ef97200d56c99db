/**
 * Which Lambda handler serves which route in local mode — the same handlers, by the same
 * route keys, that lib/ wires on AWS. Handlers are required lazily, after the environment
 * is set, because they read their configuration at module load as on AWS.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { PING_MOCK_ROUTE, PING_ROUTE_KEY } from '../core/realtime/ping-route';
import type { WsAuthorizer, WsRouteHandler } from './ws-gateway';

type Loader<T> = () => T;

function lazy<T>(load: Loader<T>): Loader<T> {
  let value: T | undefined;
  return () => {
    value ??= load();
    return value;
  };
}

const ws = {
  $connect: lazy(() => require('../lambdas/ws-connect/handler').handler),
  $disconnect: lazy(() => require('../lambdas/ws-disconnect/handler').handler),
  $default: lazy(() => require('../lambdas/ws-default/handler').handler),
  subscribe: lazy(() => require('../lambdas/ws-subscribe/handler').handler),
  unsubscribe: lazy(() => require('../lambdas/ws-unsubscribe/handler').handler),
  command: lazy(() => require('../lambdas/ws-command/handler').handler),
  subscribe_job: lazy(() => require('../lambdas/ws-subscribe-job/handler').handler),
  get_state: lazy(() => require('../lambdas/ws-get-state/handler').handler),
} satisfies Record<string, Loader<WsRouteHandler>>;

/** Routes API Gateway answers itself (MOCK integrations), as lib/constructs/realtime-api.ts builds them. */
export function wsMockRoutes(): Record<string, { responseTemplate: string }> {
  return { [PING_ROUTE_KEY]: { responseTemplate: PING_MOCK_ROUTE.responseTemplate } };
}

export function wsRoutes(): Record<string, WsRouteHandler> {
  return Object.fromEntries(
    Object.entries(ws).map(([key, load]) => [key, (event: Parameters<WsRouteHandler>[0]) => load()(event)]),
  );
}

const authorizer = lazy<WsAuthorizer>(() => require('../lambdas/ws-authorizer/handler').handler);
export const wsAuthorizer: WsAuthorizer = (event) => authorizer()(event);

type SqsHandler = (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>;
const fanout = lazy<SqsHandler>(() => require('../lambdas/fanout/handler').handler);
export const fanoutHandler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  fanout()(event, localContext('fanout'));
const fanoutShard = lazy<SqsHandler>(() => require('../lambdas/fanout-shard/handler').handler);
export const fanoutShardHandler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  fanoutShard()(event, localContext('fanout-shard'));

/** The parts of Lambda's context object the handlers (Powertools) read. */
export function localContext(functionName: string) {
  return {
    functionName: `parley-local-${functionName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:parley-local-${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/parley-local-${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
