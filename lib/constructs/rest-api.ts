/**
 * The REST API: an API Gateway HTTP API whose default authorizer checks the users' JWTs
 * (issuer and audience from the Auth construct), with CORS for the web client and access logs.
 * Adding a route is one line: `rest.addRoute('GET /meetings/{id}', fn)`, or
 * `rest.addFunctionRoute('GET /meetings/{id}', 'http-get-meeting')` to create the Lambda too.
 */
import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { type FunctionDefaults, ParleyFunction } from './parley-function';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type RestMethod = (typeof METHODS)[number];
/** `METHOD /path`, path parameters in braces: `GET /meetings/{id}`. */
export type RouteSpec = `${RestMethod} /${string}`;

/** One JSON line per request, with HTTP API context variables only. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    routeKey: '$context.routeKey',
    status: '$context.status',
    responseLength: '$context.responseLength',
    latencyMs: '$context.responseLatency',
    userId: '$context.authorizer.claims.sub',
    authorizerError: '$context.authorizer.error',
    integrationError: '$context.integrationErrorMessage',
  }),
);

export interface RouteOptions {
  /**
   * No token required (health checks, webhooks that verify their own signature). The reason
   * is recorded with the cdk-nag acknowledgement.
   */
  readonly public?: { readonly reason: string };
}

export interface RestApiProps {
  readonly defaults: FunctionDefaults;
  readonly issuer: string;
  readonly audience: string;
  readonly corsOrigins: readonly string[];
  /** @default 100 requests/s, burst 200 */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  readonly domain?: { readonly domainName: string; readonly certificateArn: string };
}

export class RestApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  /** Base URL (`https://…/`). */
  readonly url: string;
  readonly domainName?: apigwv2.DomainName;
  /** Route spec → the function serving it, in the order added. */
  readonly routes = new Map<RouteSpec, IFunction>();
  private readonly defaults: FunctionDefaults;

  constructor(scope: Construct, id: string, props: RestApiProps) {
    super(scope, id);
    this.defaults = props.defaults;

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: `Parley ${props.defaults.stageName} REST API`,
      createDefaultStage: false,
      defaultAuthorizer: new HttpJwtAuthorizer('Jwt', props.issuer, { jwtAudience: [props.audience] }),
      corsPreflight: {
        allowOrigins: [...props.corsOrigins],
        allowMethods: [
          apigwv2.CorsHttpMethod.GET,
          apigwv2.CorsHttpMethod.POST,
          apigwv2.CorsHttpMethod.PUT,
          apigwv2.CorsHttpMethod.PATCH,
          apigwv2.CorsHttpMethod.DELETE,
          apigwv2.CorsHttpMethod.HEAD,
          apigwv2.CorsHttpMethod.OPTIONS,
        ],
        allowHeaders: ['authorization', 'content-type'],
        maxAge: Duration.days(1),
      },
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.defaults.logRetention,
      removalPolicy: props.defaults.removalPolicy,
    });
    if (props.domain) {
      this.domainName = new apigwv2.DomainName(this, 'DomainName', {
        domainName: props.domain.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
      });
    }
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 100, burstLimit: 200 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
      domainMapping: this.domainName ? { domainName: this.domainName } : undefined,
    });
    this.url = this.domainName ? `https://${props.domain?.domainName}/` : this.stage.url;
  }

  /** Routes `spec` to `handler`; JWT-authorized unless `options.public` says why not. */
  addRoute(spec: RouteSpec, handler: IFunction | ParleyFunction, options: RouteOptions = {}): this {
    const { method, path } = parseRouteSpec(spec);
    if (this.routes.has(spec)) throw new TypeError(`Route ${spec} is already defined`);
    const fn = handler instanceof ParleyFunction ? handler.function : handler;
    const [route] = this.api.addRoutes({
      path,
      methods: [method],
      integration: new HttpLambdaIntegration(`${method}${path}`, fn),
      authorizer: options.public ? new apigwv2.HttpNoneAuthorizer() : undefined,
    });
    if (options.public && route) acknowledge(route, 'AwsSolutions-APIG4', options.public.reason);
    this.routes.set(spec, fn);
    return this;
  }

  /** Creates the Lambda `lambdas/<lambda>/handler.ts` with the stage's defaults (no route yet). */
  createFunction(
    lambda: string,
    options: { description?: string; timeout?: Duration; memorySize?: number } = {},
  ): ParleyFunction {
    const id = lambda
      .split('-')
      .map((part) => `${part[0]?.toUpperCase()}${part.slice(1)}`)
      .join('');
    return new ParleyFunction(this, id, {
      lambda,
      defaults: this.defaults,
      description: `Parley ${this.defaults.stageName}: ${options.description ?? lambda}`,
      timeout: options.timeout,
      memorySize: options.memorySize,
    });
  }

  /** Creates the Lambda, lets `configure` bind what it needs, and routes `spec` to it: one line per route. */
  addFunctionRoute(
    spec: RouteSpec,
    lambda: string,
    configure: (fn: ParleyFunction) => void = () => undefined,
    options: RouteOptions = {},
  ): ParleyFunction {
    const fn = this.createFunction(lambda, { description: spec });
    configure(fn);
    this.addRoute(spec, fn, options);
    return fn;
  }
}

/** `GET /meetings/{id}` → method and path; throws a TypeError on anything else. */
export function parseRouteSpec(spec: string): { method: apigwv2.HttpMethod; path: string } {
  const match = /^([A-Z]+) (\/[A-Za-z0-9._~{}+\-/]*)$/.exec(spec);
  const method = match?.[1] as RestMethod | undefined;
  const path = match?.[2];
  if (!match || !method || !path || !(METHODS as readonly string[]).includes(method)) {
    throw new TypeError(
      `Route "${spec}" must look like "GET /meetings/{id}" (methods: ${METHODS.join(', ')})`,
    );
  }
  if (path.length > 1 && path.endsWith('/'))
    throw new TypeError(`Route "${spec}": path must not end with "/"`);
  return { method: method as apigwv2.HttpMethod, path };
}
