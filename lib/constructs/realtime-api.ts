/**
 * The realtime API: an API Gateway WebSocket API whose `$connect` runs the token authorizer
 * (the only place a WebSocket can be authorized) and whose routes, selected by
 * `$request.body.action`, each run their own Lambda in lambdas/ws-<name>/ (except `ping`, which
 * API Gateway answers itself with a MOCK integration). Functions that post
 * to clients get execute-api:ManageConnections on this stage only; every function gets exactly
 * the table actions its route performs (core/realtime/routes.ts, connection-repository.ts) and
 * only the settings its handler reads: each handler builds only the repositories it calls.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type MockRouteTemplates, PING_MOCK_ROUTE, PING_ROUTE_KEY } from '../../core/realtime/ping-route';
import type { TableKey } from '../../core/resources';
import { acknowledge } from '../nag';
import { type FunctionDefaults, ParleyFunction } from './parley-function';

export interface RealtimeRouteSpec {
  /** `$connect`, `$disconnect`, `$default` or the `action` of a client message. */
  readonly routeKey: string;
  /** Folder under lambdas/. */
  readonly lambda: string;
  /** Whether the function posts to connections (and so may meet and remove gone ones). */
  readonly posts: boolean;
}

/** Every WebSocket route and the Lambda that serves it. */
export const REALTIME_ROUTES = [
  { routeKey: '$connect', lambda: 'ws-connect', posts: false },
  { routeKey: '$disconnect', lambda: 'ws-disconnect', posts: false },
  { routeKey: '$default', lambda: 'ws-default', posts: true },
  { routeKey: 'subscribe', lambda: 'ws-subscribe', posts: true },
  { routeKey: 'unsubscribe', lambda: 'ws-unsubscribe', posts: true },
  { routeKey: 'command', lambda: 'ws-command', posts: true },
  { routeKey: 'subscribe_job', lambda: 'ws-subscribe-job', posts: true },
  { routeKey: 'get_state', lambda: 'ws-get-state', posts: true },
] as const satisfies readonly RealtimeRouteSpec[];

export type RealtimeRouteKey = (typeof REALTIME_ROUTES)[number]['routeKey'];

export interface RealtimeApiProps {
  readonly defaults: FunctionDefaults;
  readonly tables: { readonly [K in TableKey]: Table };
  readonly transcriptQueue: IQueue;
  readonly issuer: string;
  readonly audience: string;
  readonly recallApiKey: ISecret;
  readonly recallBaseUrl: string;
  /** Steady-state and burst request limits of the stage. @default 500 / 1000 */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** Custom domain (the certificate must cover it). */
  readonly domain?: { readonly domainName: string; readonly certificateArn: string };
  /**
   * Set the region's API Gateway CloudWatch Logs role (needed once per account and region for
   * WebSocket access logs). @default true
   */
  readonly configureAccountLogging?: boolean;
}

export class RealtimeApi extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly authorizerFunction: ParleyFunction;
  /** Route functions by route key. */
  readonly routeFunctions: { readonly [K in RealtimeRouteKey]: ParleyFunction };
  /** The URL clients connect to (`wss://…`). */
  readonly url: string;
  readonly domainName?: apigwv2.DomainName;

  constructor(scope: Construct, id: string, props: RealtimeApiProps) {
    super(scope, id);
    const { defaults, tables } = props;

    this.authorizerFunction = new ParleyFunction(this, 'Authorizer', {
      lambda: 'ws-authorizer',
      defaults,
      description: `Parley ${defaults.stageName}: $connect token authorizer`,
    })
      .setEnvironment('OIDC_ISSUER', props.issuer)
      .setEnvironment('OIDC_AUDIENCE', props.audience);

    const functions: Partial<Record<RealtimeRouteKey, ParleyFunction>> = {};
    for (const route of REALTIME_ROUTES) {
      functions[route.routeKey] = new ParleyFunction(this, routeConstructId(route.lambda), {
        lambda: route.lambda,
        defaults,
        description: `Parley ${defaults.stageName}: WebSocket route ${route.routeKey}`,
      });
    }
    this.routeFunctions = functions as Record<RealtimeRouteKey, ParleyFunction>;
    const fn = this.routeFunctions;

    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      description: `Parley ${defaults.stageName} realtime API`,
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', fn.$connect.function),
        authorizer: new WebSocketLambdaAuthorizer('TokenAuthorizer', this.authorizerFunction.function, {
          // Browsers cannot set headers on a WebSocket: the token travels in the query string.
          identitySource: ['route.request.querystring.token'],
        }),
      },
      disconnectRouteOptions: {
        integration: new WebSocketLambdaIntegration('DisconnectIntegration', fn.$disconnect.function),
      },
      defaultRouteOptions: {
        integration: new WebSocketLambdaIntegration('DefaultRouteIntegration', fn.$default.function),
      },
    });
    for (const route of REALTIME_ROUTES) {
      if (route.routeKey.startsWith('$')) continue;
      this.api.addRoute(route.routeKey, {
        integration: new WebSocketLambdaIntegration(
          `${routeConstructId(route.lambda)}Integration`,
          fn[route.routeKey].function,
        ),
      });
    }
    this.addMockRoute(PING_ROUTE_KEY, PING_MOCK_ROUTE);
    acknowledge(
      this.api,
      'AwsSolutions-APIG4',
      'A WebSocket API authorizes once, on $connect (Lambda authorizer on the token); every later route runs on that authorized connection and reads the authorizer context.',
    );

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: defaults.logRetention,
      removalPolicy: defaults.removalPolicy,
    });
    const certificate = props.domain
      ? acm.Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn)
      : undefined;
    if (props.domain && certificate) {
      this.domainName = new apigwv2.DomainName(this, 'DomainName', {
        domainName: props.domain.domainName,
        certificate,
      });
    }
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: defaults.stageName,
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 500, burstLimit: 1000 },
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs) },
      domainMapping: this.domainName ? { domainName: this.domainName } : undefined,
    });
    this.url = this.domainName ? `wss://${props.domain?.domainName}` : this.stage.url;

    if (props.configureAccountLogging ?? true) {
      // API Gateway writes WebSocket access logs through one role per account and region.
      // Retained: another stage in the same account relies on the same setting.
      const role = new iam.Role(this, 'ApiGatewayLogsRole', {
        assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        managedPolicies: [
          iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        ],
      });
      role.applyRemovalPolicy(RemovalPolicy.RETAIN);
      acknowledge(
        role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'The AWS-managed policy is the documented role for API Gateway account-level logging; it only writes CloudWatch Logs.',
      );
      const account = new apigw.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
      account.applyRemovalPolicy(RemovalPolicy.RETAIN);
      this.stage.node.addDependency(account);
    }

    // Each binding sets the one variable its handler reads and grants what the route does
    // (lambdas/ws-*/handler.ts build only these; core/realtime/routes.ts does the calls).
    for (const route of REALTIME_ROUTES) {
      if (route.posts) fn[route.routeKey].bindManagementApi(this.stage, 'post');
    }
    fn.$connect.bindTable('connections', tables.connections, ['PutItem']);
    grantConnectionRemoval(fn.$disconnect, tables);

    fn.subscribe
      // GetItem (may read?) and UpdateItem (the subscription slot that gives its fan-out shard).
      .bindTable('meetings', tables.meetings, ['GetItem', 'UpdateItem'])
      .bindTable('subscriptions', tables.subscriptions, ['PutItem'])
      .bindTable('segments', tables.segments, ['Query'])
      // The rolling briefing, sent to a subscriber after its replay.
      .bindTable('briefings', tables.briefings, ['GetItem']);
    grantConnectionRemoval(fn.subscribe, tables);

    fn.unsubscribe.bindTable('subscriptions', tables.subscriptions, ['DeleteItem']);
    grantConnectionRemoval(fn.unsubscribe, tables);

    fn.command
      .bindTable('meetings', tables.meetings, ['GetItem', 'UpdateItem'])
      .bindQueue('transcriptEvents', props.transcriptQueue, 'send')
      .bindSecret('RECALL_API_KEY', props.recallApiKey)
      .setEnvironment('RECALL_BASE_URL', props.recallBaseUrl);
    grantConnectionRemoval(fn.command, tables);

    fn.subscribe_job
      .bindTable('jobs', tables.jobs, ['GetItem'])
      .bindTable('subscriptions', tables.subscriptions, ['PutItem']);
    grantConnectionRemoval(fn.subscribe_job, tables);

    fn.get_state
      .bindTable('jobs', tables.jobs, ['GetItem'])
      .bindTable('meetings', tables.meetings, ['GetItem'])
      // The rolling briefing, sent after a meeting's state.
      .bindTable('briefings', tables.briefings, ['GetItem']);
    grantConnectionRemoval(fn.get_state, tables);

    // $default answers on the connection the frame just arrived on: it posts and touches no
    // table (a failed cleanup after an unlikely 410 is only logged; TTL reclaims it).
  }

  /**
   * A route API Gateway answers itself: a MOCK integration whose `$default` integration
   * response renders the reply, returned through a `$default` route response. No Lambda, so a
   * heartbeat costs two API Gateway messages and no invocation (core/realtime/ping-route.ts).
   */
  private addMockRoute(routeKey: string, templates: MockRouteTemplates): void {
    const id = routeConstructId(routeKey);
    const integration = new apigwv2.CfnIntegration(this, `${id}MockIntegration`, {
      apiId: this.api.apiId,
      integrationType: 'MOCK',
      templateSelectionExpression: '\\$default',
      requestTemplates: { $default: templates.requestTemplate },
    });
    new apigwv2.CfnIntegrationResponse(this, `${id}MockIntegrationResponse`, {
      apiId: this.api.apiId,
      integrationId: integration.ref,
      integrationResponseKey: '$default',
      templateSelectionExpression: '\\$default',
      responseTemplates: { $default: templates.responseTemplate },
    });
    const route = new apigwv2.CfnRoute(this, `${id}MockRoute`, {
      apiId: this.api.apiId,
      routeKey,
      authorizationType: 'NONE',
      target: `integrations/${integration.ref}`,
      routeResponseSelectionExpression: '$default',
    });
    acknowledge(
      route,
      'AwsSolutions-APIG4',
      'A WebSocket API authorizes once, on $connect; this route runs on that authorized connection, invokes nothing and only answers with API Gateway’s own receive time.',
    );
    new apigwv2.CfnRouteResponse(this, `${id}MockRouteResponse`, {
      apiId: this.api.apiId,
      routeId: route.ref,
      routeResponseKey: '$default',
    });
  }
}

/**
 * What ConnectionRepository.remove does ($disconnect, and a 410 while posting): query the
 * connection's subscriptions through the byConnection index, batch-delete them, delete the
 * connection.
 */
export function grantConnectionRemoval(
  fn: ParleyFunction,
  tables: { readonly connections: Table; readonly subscriptions: Table },
): void {
  fn.bindTable('subscriptions', tables.subscriptions, {
    table: ['BatchWriteItem'],
    indexes: { byConnection: ['Query'] },
  }).bindTable('connections', tables.connections, ['DeleteItem']);
}

function routeConstructId(lambda: string): string {
  return lambda
    .split('-')
    .map((part) => `${part[0]?.toUpperCase()}${part.slice(1)}`)
    .join('');
}
