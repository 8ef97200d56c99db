/**
 * Which Lambda handler serves which REST route in local mode: the route table of
 * core/rest/routes.ts (the one the CDK stack reads too), each route calling its
 * lambdas/http-* handler. Handlers are required lazily, after local/stack.ts has set the
 * environment, because they read their configuration at module load as on AWS.
 */
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { JOB_ROUTES, type JobLambdaName } from '../core/rest/job-routes';
import { REST_ROUTES, type RestLambdaName } from '../core/rest/routes';
import type { HttpRoute, HttpRouteEvent } from './http-host';

type Handler = (event: HttpRouteEvent) => Promise<APIGatewayProxyResultV2>;

function lazy(load: () => Handler): () => Handler {
  let value: Handler | undefined;
  return () => {
    value ??= load();
    return value;
  };
}

const handlers = {
  'http-create-meeting': lazy(() => require('../lambdas/http-create-meeting/handler').handler),
  'http-list-meetings': lazy(() => require('../lambdas/http-list-meetings/handler').handler),
  'http-get-meeting': lazy(() => require('../lambdas/http-get-meeting/handler').handler),
  'http-get-meeting-status': lazy(() => require('../lambdas/http-get-meeting-status/handler').handler),
  'http-leave-meeting': lazy(() => require('../lambdas/http-leave-meeting/handler').handler),
  'http-share-meeting': lazy(() => require('../lambdas/http-share-meeting/handler').handler),
  'http-unshare-meeting': lazy(() => require('../lambdas/http-unshare-meeting/handler').handler),
  'http-delete-meeting': lazy(() => require('../lambdas/http-delete-meeting/handler').handler),
  'http-get-transcript': lazy(() => require('../lambdas/http-get-transcript/handler').handler),
  'http-get-brief': lazy(() => require('../lambdas/http-get-brief/handler').handler),
  'http-ask': lazy(() => require('../lambdas/http-ask/handler').handler),
  'http-recall-webhook': lazy(() => require('../lambdas/http-recall-webhook/handler').handler),
  'http-health': lazy(() => require('../lambdas/http-health/handler').handler),
  'http-docs': lazy(() => require('../lambdas/http-docs/handler').handler),
  'http-get-recording': lazy(() => require('../lambdas/http-get-recording/handler').handler),
  'http-create-job': lazy(() => require('../lambdas/http-create-job/handler').handler),
  'http-complete-upload': lazy(() => require('../lambdas/http-complete-upload/handler').handler),
  'http-get-job': lazy(() => require('../lambdas/http-get-job/handler').handler),
  'http-list-jobs': lazy(() => require('../lambdas/http-list-jobs/handler').handler),
  'http-cancel-job': lazy(() => require('../lambdas/http-cancel-job/handler').handler),
} satisfies Record<RestLambdaName | JobLambdaName, () => Handler>;

/** Every REST API route, served by its Lambda handler. */
export function restRoutes(): HttpRoute[] {
  return [...REST_ROUTES, ...JOB_ROUTES].map((route) => ({
    method: route.method,
    path: route.path,
    auth: route.auth,
    handler: (event: HttpRouteEvent) => handlers[route.lambda]()(event),
  }));
}
