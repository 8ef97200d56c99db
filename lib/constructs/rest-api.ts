/**
 * The REST API: an API Gateway HTTP API whose default authorizer checks the users' JWTs
 * (issuer and audience from the Auth construct), with CORS for the web client and access logs.
 * Adding a route is one line: `rest.addRoute('GET /meetings/{id}', fn)`, or
 * `rest.addFunctionRoute('GET /meetings/{id}', 'http-get-meeting')` to create the Lambda too.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { type FunctionDefaults, ParleyFunction } from './parley-function';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
const CORS_METHODS = [...METHODS, 'OPTIONS'];
const CORS_HEADERS = ['authorization', 'content-type'];
const CORS_MAX_AGE_SECONDS = 86_400;
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
  /** Origins allowed by CORS at synth time (`*` or scheme://host); none: no CORS until allowOriginsAfterDeploy. */
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
  private readonly staticCorsOrigins: readonly string[];
  private corsUpdate?: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: RestApiProps) {
    super(scope, id);
    this.defaults = props.defaults;
    this.staticCorsOrigins = props.corsOrigins;

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: `Parley ${props.defaults.stageName} REST API`,
      createDefaultStage: false,
      defaultAuthorizer: new HttpJwtAuthorizer('Jwt', props.issuer, { jwtAudience: [props.audience] }),
      corsPreflight:
        props.corsOrigins.length > 0
          ? {
              allowOrigins: [...props.corsOrigins],
              allowMethods: CORS_METHODS as apigwv2.CorsHttpMethod[],
              allowHeaders: CORS_HEADERS,
              maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
            }
          : undefined,
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

  /**
   * Allows `origins` (deploy-time values such as the web app's CloudFront domain) besides the
   * static ones. The web app's CSP names this API and this API's CORS names the web app, a
   * cycle CloudFormation cannot order, so the CORS configuration leaves the template and is set
   * by `apigateway:PATCH` (UpdateApi) once both exist, on every deploy that changes it.
   */
  allowOriginsAfterDeploy(origins: readonly string[]): void {
    if (this.corsUpdate) throw new TypeError('allowOriginsAfterDeploy may be called once');
    (this.api.node.defaultChild as apigwv2.CfnApi).addPropertyDeletionOverride('CorsConfiguration');
    const stack = Stack.of(this);
    const call: cr.AwsSdkCall = {
      service: 'ApiGatewayV2',
      action: 'UpdateApi',
      parameters: {
        ApiId: this.api.apiId,
        CorsConfiguration: {
          AllowOrigins: [...this.staticCorsOrigins.filter((o) => o !== '*'), ...origins],
          AllowMethods: CORS_METHODS,
          AllowHeaders: CORS_HEADERS,
          MaxAge: CORS_MAX_AGE_SECONDS,
        },
      },
      physicalResourceId: cr.PhysicalResourceId.of(`${this.api.apiId}-cors`),
    };
    this.corsUpdate = new cr.AwsCustomResource(this, 'Cors', {
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['apigateway:PATCH'],
          resources: [`arn:${stack.partition}:apigateway:${stack.region}::/apis/${this.api.apiId}`],
        }),
      ]),
      installLatestAwsSdk: false,
    });
    // The stack-wide singleton Lambda behind every AwsCustomResource.
    const provider = stack.node.tryFindChild(
      `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
    );
    if (provider) {
      acknowledge(
        provider,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "aws-cdk-lib's AwsCustomResource handler role; the managed policy only lets it write its own CloudWatch Logs.",
      );
      acknowledge(
        provider,
        'AwsSolutions-L1',
        "The runtime of aws-cdk-lib's AwsCustomResource handler is chosen by aws-cdk-lib and upgraded with it.",
      );
    }
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
