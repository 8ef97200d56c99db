/**
 * The default (dev) stack, synthesized once: what matters about every part, asserted on the
 * template (route → handler, authorizer placement, event source, redrive, least-privilege
 * IAM per function, environment each handler reads, load balancer, container secrets) and
 * cdk-nag's AwsSolutions pack with no unacknowledged finding.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement, type IResource } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadAuthConfig, managementEndpoint, queueUrl, recallBaseUrl, tableName } from '../../core/config';
import { BUCKETS, QUEUES, TABLES, type TableKey } from '../../core/resources';
import { JOB_LAMBDAS, JOB_ROUTES } from '../../core/rest/job-routes';
import { REST_LAMBDAS, REST_ROUTES } from '../../core/rest/routes';
import { ParleyFunction } from '../../lib/constructs/parley-function';
import { flattenCfnReference } from '../../lib/nag';
import { buildParleyApp } from '../../lib/parley-app';
import type { ParleyStack } from '../../lib/parley-stack';

jest.setTimeout(120_000);

type Json = Record<string, unknown>;
type CfnResourceJson = { Type: string; Properties: Json; DeletionPolicy?: string };

const ROOT = path.resolve(__dirname, '..', '..');
const CDK_CONTEXT = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context as Json;

let stack: ParleyStack;
let template: Template;
let resources: Record<string, CfnResourceJson>;
let functions: ParleyFunction[];

function lid(construct: IResource | ParleyFunction['logGroup']): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

function fn(name: string): ParleyFunction {
  const found = functions.find((f) => f.lambdaName === name);
  if (!found) throw new Error(`no function ${name}`);
  return found;
}

function functionJson(name: string): CfnResourceJson {
  return resources[lid(fn(name).function)] as CfnResourceJson;
}

function environment(name: string): Record<string, unknown> {
  return ((functionJson(name).Properties.Environment as Json | undefined)?.Variables ?? {}) as Record<
    string,
    unknown
  >;
}

/** A literal standing in for a CloudFormation value: references become `dummy`, joins keep their shape. */
function dummyValue(key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  const flat = flattenCfnReference(value);
  if (/^<[^>]+>$/.test(flat)) {
    if (/(_URL|_ENDPOINT|ISSUER)$/.test(key)) return 'https://dummy.example.com/x';
    if (key.endsWith('_SECRET_ARN'))
      return 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dummy-AbCdEf';
  }
  return flat.replace(/<[^>]+>/g, 'dummy');
}

/** The environment with every CloudFormation token replaced by a plausible literal. */
function dummyEnvironment(name: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment(name)).map(([key, value]) => [key, dummyValue(key, value)]),
  );
}

/** The Lambda (folder under lambdas/) behind an API Gateway v2 route. */
function lambdaBehind(route: CfnResourceJson): string {
  const integrationId = (
    (route.Properties.Target as Json)['Fn::Join'] as [string, [string, { Ref: string }]]
  )[1][1].Ref;
  const uri = JSON.stringify((resources[integrationId] as CfnResourceJson).Properties.IntegrationUri);
  const owner = functions.find((f) => uri.includes(`"${lid(f.function)}"`));
  return owner?.lambdaName ?? 'none';
}

/** Readable names for the resources grants point at. */
function resourceLabels(): Map<string, string> {
  const labels = new Map<string, string>();
  for (const [key, table] of Object.entries(stack.storage.tables)) labels.set(lid(table), `table:${key}`);
  labels.set(lid(stack.pipeline.transcriptQueue), 'queue:transcript');
  labels.set(lid(stack.pipeline.deadLetterQueue), 'queue:dlq');
  labels.set(lid(stack.storage.mediaBucket), 'bucket:media');
  labels.set(lid(stack.realtime.api), 'wsapi');
  for (const { key, secret } of stack.secrets.created) labels.set(lid(secret), `secret:${key}`);
  for (const f of functions) labels.set(lid(f.logGroup), `log-group:${f.lambdaName}`);
  return labels;
}

/** Every `action resource` pair a role's policies allow, sorted. Fails on inline or managed policies. */
function permissions(roleLogicalId: string): string[] {
  const labels = resourceLabels();
  const role = resources[roleLogicalId] as CfnResourceJson;
  expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  expect(role.Properties.Policies).toBeUndefined();
  const pairs = new Set<string>();
  for (const policy of Object.values(resources)) {
    if (policy.Type !== 'AWS::IAM::Policy') continue;
    const roles = policy.Properties.Roles as { Ref: string }[];
    if (!roles.some((r) => r.Ref === roleLogicalId)) continue;
    const statements = (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement;
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      for (const action of [statement.Action].flat() as string[]) {
        for (const resource of [statement.Resource].flat()) {
          let label = flattenCfnReference(resource)
            .replace(/<([A-Za-z0-9]+)(\.Arn)?>/g, (m, id: string) => labels.get(id) ?? m)
            .replace(/^arn:[^:]+:execute-api:[^:]+:<AWS::AccountId>:/, '');
          if (statement.Condition) label += ` if ${JSON.stringify(statement.Condition)}`;
          pairs.add(`${action} ${label}`);
        }
      }
    }
  }
  return [...pairs].sort();
}

function functionPermissions(name: string): string[] {
  const own = `log-group:${name}`;
  return permissions(lid(fn(name).role)).filter(
    (p) => p !== `logs:CreateLogStream ${own}` && p !== `logs:PutLogEvents ${own}`,
  );
}

beforeAll(() => {
  const app = new App({
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
  });
  stack = buildParleyApp(app, {}, { nag: false }).stack;
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, CfnResourceJson>;
  functions = stack.node.findAll().filter((c): c is ParleyFunction => c instanceof ParleyFunction);
});

describe('storage', () => {
  it('creates one on-demand, encrypted, point-in-time-recoverable table per definition, keyed as defined', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(Object.keys(TABLES).length);
    for (const [key, def] of Object.entries(TABLES) as [TableKey, (typeof TABLES)[TableKey]][]) {
      const props = (resources[lid(stack.storage.tables[key])] as CfnResourceJson).Properties;
      expect(props.BillingMode).toBe('PAY_PER_REQUEST');
      expect(props.SSESpecification).toEqual({ SSEEnabled: true });
      expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(props.KeySchema).toEqual([
        { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
        ...('sortKey' in def ? [{ AttributeName: def.sortKey.name, KeyType: 'RANGE' }] : []),
      ]);
      expect(props.TimeToLiveSpecification).toEqual(
        'ttlAttribute' in def ? { AttributeName: def.ttlAttribute, Enabled: true } : undefined,
      );
      const indexes = (props.GlobalSecondaryIndexes ?? []) as { IndexName: string; KeySchema: Json[] }[];
      expect(indexes.map((i) => i.IndexName)).toEqual(def.globalSecondaryIndexes.map((i) => i.indexName));
      for (const index of def.globalSecondaryIndexes as readonly {
        indexName: string;
        partitionKey: { name: string };
        sortKey?: { name: string };
      }[]) {
        expect(indexes.find((i) => i.IndexName === index.indexName)?.KeySchema).toEqual([
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
        ]);
      }
    }
  });

  it('fixes no physical names, so two stages fit in one account', () => {
    const named: [string, string][] = [
      ['AWS::DynamoDB::Table', 'TableName'],
      ['AWS::SQS::Queue', 'QueueName'],
      ['AWS::S3::Bucket', 'BucketName'],
      ['AWS::Lambda::Function', 'FunctionName'],
      ['AWS::Logs::LogGroup', 'LogGroupName'],
      ['AWS::IAM::Role', 'RoleName'],
      ['AWS::Cognito::UserPool', 'UserPoolName'],
      ['AWS::SecretsManager::Secret', 'Name'],
      ['AWS::ECS::Cluster', 'ClusterName'],
      ['AWS::ElasticLoadBalancingV2::LoadBalancer', 'Name'],
    ];
    for (const [type, property] of named) {
      for (const resource of Object.values(template.findResources(type))) {
        expect((resource as CfnResourceJson).Properties?.[property]).toBeUndefined();
      }
    }
  });

  it('deletes data with a dev stage', () => {
    for (const table of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      expect((table as CfnResourceJson).DeletionPolicy).toBe('Delete');
    }
  });

  it('keeps the media bucket private, SSL-only, encrypted, logged, with one lifecycle rule per prefix and CORS for PUT', () => {
    const bucket = (resources[lid(stack.storage.mediaBucket)] as CfnResourceJson).Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: lid(stack.storage.logBucket) },
      LogFilePrefix: 'media-bucket/',
    });
    const rules = (bucket.LifecycleConfiguration as { Rules: Json[] }).Rules;
    for (const [prefix, rule] of Object.entries(BUCKETS.media.prefixes)) {
      expect(rules).toContainEqual(
        expect.objectContaining({
          Prefix: prefix,
          ExpirationInDays: rule.expireAfterDays,
          Status: 'Enabled',
        }),
      );
    }
    expect(bucket.CorsConfiguration).toEqual({
      CorsRules: [expect.objectContaining({ AllowedMethods: ['PUT'], AllowedOrigins: ['*'] })],
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: lid(stack.storage.mediaBucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('pipeline', () => {
  it('is a FIFO queue with SSE and a FIFO dead-letter queue after maxReceiveCount deliveries', () => {
    const def = QUEUES.transcriptEvents;
    const queue = (resources[lid(stack.pipeline.transcriptQueue)] as CfnResourceJson).Properties;
    expect(queue).toMatchObject({
      FifoQueue: true,
      VisibilityTimeout: def.visibilityTimeoutSeconds,
      MessageRetentionPeriod: def.retentionSeconds,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [lid(stack.pipeline.deadLetterQueue), 'Arn'] },
        maxReceiveCount: def.maxReceiveCount,
      },
    });
    const dlq = (resources[lid(stack.pipeline.deadLetterQueue)] as CfnResourceJson).Properties;
    expect(dlq).toMatchObject({
      FifoQueue: true,
      MessageRetentionPeriod: def.dlq.retentionSeconds,
      SqsManagedSseEnabled: true,
    });
    for (const q of [stack.pipeline.transcriptQueue, stack.pipeline.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: lid(q) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('alarms as soon as one message is visible in the dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [lid(stack.pipeline.deadLetterQueue), 'QueueName'] } },
      ],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('feeds the fan-out Lambda in batches of the defined size with partial batch responses', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [lid(stack.pipeline.transcriptQueue), 'Arn'] },
      FunctionName: { Ref: lid(fn('fanout').function) },
      BatchSize: QUEUES.transcriptEvents.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('gives the fan-out Lambda a timeout a sixth of the visibility timeout or less', () => {
    const timeout = functionJson('fanout').Properties.Timeout as number;
    expect(timeout * 6).toBeLessThanOrEqual(QUEUES.transcriptEvents.visibilityTimeoutSeconds);
  });
});

describe('realtime API', () => {
  // Literal on purpose: the protocol (docs/protocol.md) fixes these, not the construct.
  const ROUTES: Record<string, string> = {
    $connect: 'ws-connect',
    $disconnect: 'ws-disconnect',
    $default: 'ws-default',
    subscribe: 'ws-subscribe',
    unsubscribe: 'ws-unsubscribe',
    command: 'ws-command',
    subscribe_job: 'ws-subscribe-job',
    get_state: 'ws-get-state',
    ping: 'ws-ping',
  };

  function routeByKey(routeKey: string): CfnResourceJson {
    const found = Object.values(resources).filter(
      (r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === routeKey,
    );
    expect(found).toHaveLength(1);
    return found[0] as CfnResourceJson;
  }

  it('selects routes on $request.body.action', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  it.each(Object.entries(ROUTES))('routes %s to lambdas/%s/handler.ts', (routeKey, lambda) => {
    expect(lambdaBehind(routeByKey(routeKey))).toBe(lambda);
    expect(fn(lambda).entry).toBe(path.join(ROOT, 'lambdas', lambda, 'handler.ts'));
    expect(functionJson(lambda).Properties.Handler).toBe('index.handler');
  });

  it('has no route beyond the protocol', () => {
    const keys = Object.values(resources)
      .filter(
        (r) =>
          r.Type === 'AWS::ApiGatewayV2::Route' &&
          r.Properties.ApiId &&
          JSON.stringify(r.Properties.ApiId).includes(lid(stack.realtime.api)),
      )
      .map((r) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it('authorizes $connect, and only $connect, with the token query parameter', () => {
    const authorizers = Object.entries(
      template.findResources('AWS::ApiGatewayV2::Authorizer', {
        Properties: { ApiId: { Ref: lid(stack.realtime.api) } },
      }),
    ) as [string, CfnResourceJson][];
    expect(authorizers).toHaveLength(1);
    const [authorizerId, authorizer] = authorizers[0] as [string, CfnResourceJson];
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.token'],
    });
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(
      `"${lid(fn('ws-authorizer').function)}"`,
    );
    for (const routeKey of Object.keys(ROUTES)) {
      const route = routeByKey(routeKey).Properties;
      if (routeKey === '$connect') {
        expect(route).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
      } else {
        expect(route.AuthorizationType).toBe('NONE');
        expect(route.AuthorizerId).toBeUndefined();
      }
    }
  });

  it('deploys a throttled, access-logged stage automatically', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: lid(stack.realtime.api) },
      StageName: 'dev',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('routeKey') },
    });
  });
});

describe('Lambda functions', () => {
  it('all run Node.js 22 on ARM64 with their own log group and role', () => {
    expect(functions.map((f) => f.lambdaName).sort()).toEqual(
      [
        'fanout',
        'ws-authorizer',
        'ws-command',
        'ws-connect',
        'ws-default',
        'ws-disconnect',
        'ws-get-state',
        'ws-ping',
        'ws-subscribe',
        'ws-subscribe-job',
        'ws-unsubscribe',
        ...Object.keys(REST_LAMBDAS),
        ...Object.keys(JOB_LAMBDAS),
      ].sort(),
    );
    for (const f of functions) {
      const props = functionJson(f.lambdaName).Properties;
      expect(props).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        LoggingConfig: { LogGroup: { Ref: lid(f.logGroup) } },
        Role: { 'Fn::GetAtt': [lid(f.role), 'Arn'] },
      });
      expect(environment(f.lambdaName)).toMatchObject({
        POWERTOOLS_SERVICE_NAME: f.lambdaName,
        POWERTOOLS_METRICS_NAMESPACE: 'Parley',
        LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      });
      expect(permissions(lid(f.role))).toEqual(
        expect.arrayContaining([
          `logs:CreateLogStream log-group:${f.lambdaName}`,
          `logs:PutLogEvents log-group:${f.lambdaName}`,
        ]),
      );
    }
  });

  it('sets every variable each handler reads, with valid values (checked through core/config)', () => {
    const realtimeNames = ['meetings', 'segments', 'connections', 'subscriptions', 'jobs'] as const;
    for (const name of [
      'ws-connect',
      'ws-disconnect',
      'ws-default',
      'ws-subscribe',
      'ws-unsubscribe',
      'ws-command',
      'ws-subscribe-job',
      'ws-get-state',
      'ws-ping',
    ]) {
      const env = dummyEnvironment(name);
      // lambdas/shared/realtime.ts builds all of these on first use.
      for (const key of realtimeNames) expect(tableName(key, env)).toBeTruthy();
      expect(queueUrl('transcriptEvents', env)).toBeTruthy();
      expect(managementEndpoint(env)).toBeTruthy();
    }
    const command = dummyEnvironment('ws-command');
    expect(recallBaseUrl(command)).toBe('https://us-east-1.recall.ai');
    expect(command.RECALL_API_KEY_SECRET_ARN).toBeTruthy();

    const fanout = dummyEnvironment('fanout');
    for (const key of ['meetings', 'segments', 'connections', 'subscriptions'] as const) {
      expect(tableName(key, fanout)).toBeTruthy();
    }
    expect(managementEndpoint(fanout)).toBeTruthy();

    expect(loadAuthConfig(dummyEnvironment('ws-authorizer'))).toMatchObject({ issuer: expect.any(String) });
  });

  it('gives the authorizer the issuer and audience and nothing else', () => {
    const env = environment('ws-authorizer');
    expect(Object.keys(env).sort()).toEqual(
      [
        'LOG_LEVEL',
        'NODE_OPTIONS',
        'OIDC_AUDIENCE',
        'OIDC_ISSUER',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
      ].sort(),
    );
    expect(env.OIDC_ISSUER).toEqual({
      'Fn::Join': [
        '',
        [
          'https://cognito-idp.us-east-1.',
          { Ref: 'AWS::URLSuffix' },
          '/',
          { Ref: lid(stack.auth.userPool!) },
        ],
      ],
    });
    expect(env.OIDC_AUDIENCE).toEqual({ Ref: lid(stack.auth.userPoolClient!) });
    expect(functionPermissions('ws-authorizer')).toEqual([]);
  });

  it('points posting functions at the stage management endpoint', () => {
    for (const name of ['ws-default', 'ws-ping', 'fanout', 'ws-connect']) {
      expect(environment(name).WS_MANAGEMENT_ENDPOINT).toEqual({
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: lid(stack.realtime.api) },
            '.execute-api.us-east-1.',
            { Ref: 'AWS::URLSuffix' },
            '/dev',
          ],
        ],
      });
    }
  });
});

describe('least privilege', () => {
  const POST = ['execute-api:ManageConnections wsapi/dev/*/@connections/*'];
  const REMOVE_GONE = [
    'dynamodb:BatchWriteItem table:subscriptions',
    'dynamodb:DeleteItem table:connections',
    'dynamodb:Query table:subscriptions/index/byConnection',
  ];
  const EXPECTED: Record<string, string[]> = {
    'ws-connect': ['dynamodb:PutItem table:connections'],
    'ws-disconnect': REMOVE_GONE,
    'ws-default': POST,
    'ws-ping': POST,
    'ws-subscribe': [
      ...POST,
      ...REMOVE_GONE,
      'dynamodb:GetItem table:meetings',
      'dynamodb:PutItem table:subscriptions',
      'dynamodb:Query table:segments',
    ],
    'ws-unsubscribe': [...POST, ...REMOVE_GONE, 'dynamodb:DeleteItem table:subscriptions'],
    'ws-command': [
      ...POST,
      ...REMOVE_GONE,
      'dynamodb:GetItem table:meetings',
      'dynamodb:UpdateItem table:meetings',
      'sqs:SendMessage queue:transcript',
      'secretsmanager:DescribeSecret secret:recall',
      'secretsmanager:GetSecretValue secret:recall',
    ],
    'ws-subscribe-job': [
      ...POST,
      ...REMOVE_GONE,
      'dynamodb:GetItem table:jobs',
      'dynamodb:PutItem table:subscriptions',
    ],
    'ws-get-state': [
      ...POST,
      ...REMOVE_GONE,
      'dynamodb:GetItem table:jobs',
      'dynamodb:GetItem table:meetings',
    ],
    fanout: [
      ...POST,
      ...REMOVE_GONE,
      'dynamodb:GetItem table:meetings',
      'dynamodb:UpdateItem table:meetings',
      'dynamodb:PutItem table:segments',
      'dynamodb:UpdateItem table:segments',
      'dynamodb:Query table:segments',
      'dynamodb:Query table:subscriptions',
      'sqs:ChangeMessageVisibility queue:transcript',
      'sqs:DeleteMessage queue:transcript',
      'sqs:GetQueueAttributes queue:transcript',
      'sqs:GetQueueUrl queue:transcript',
      'sqs:ReceiveMessage queue:transcript',
      // Parks a record that failed its last delivery (lambdas/fanout).
      'sqs:SendMessage queue:dlq',
    ],
    'ws-authorizer': [],
  };

  it.each(Object.keys(EXPECTED))('%s may do exactly what its route needs', (name) => {
    expect(functionPermissions(name)).toEqual([...(EXPECTED[name] ?? [])].sort());
  });

  it('ping has no DynamoDB permission at all', () => {
    expect(functionPermissions('ws-ping').filter((p) => p.startsWith('dynamodb:'))).toEqual([]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: lid(fn('ws-ping').role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'execute-api:ManageConnections' })]),
      },
    });
  });

  it('grants no wildcard action anywhere and no wildcard resource on data', () => {
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as CfnResourceJson[]) {
      for (const statement of (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement) {
        for (const action of [statement.Action].flat() as string[]) expect(action).not.toContain('*');
        const data = ([statement.Action].flat() as string[]).some((a) =>
          /^(dynamodb|sqs|s3|secretsmanager):/.test(a),
        );
        if (data) {
          for (const resource of [statement.Resource].flat()) {
            const flat = flattenCfnReference(resource);
            // Object keys under a lifecycle prefix are the one data wildcard (recordings/*).
            expect(
              flat.includes('*') && !flat.endsWith('/recordings/*') && !flat.endsWith('/uploads/*'),
            ).toBe(false);
          }
        }
      }
    }
  });
});

describe('auth', () => {
  it('creates an admin-only user pool with email sign-in, a strong password policy and threat protection', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      UsernameAttributes: ['email'],
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
      UserPoolTier: 'PLUS',
    });
  });

  it('creates a public app client for SRP and password sign-in', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH']),
    });
  });
});

describe('REST API', () => {
  it('has CORS for the web client and an access-logged, throttled default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['*'],
        AllowHeaders: ['authorization', 'content-type'],
      }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: lid(stack.rest.api) },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('routeKey') },
    });
  });

  it('adds a route in one line, JWT-authorized (issuer, app client) unless declared public', () => {
    const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const other = buildParleyApp(app, {}, { nag: false }).stack;
    const handler = other.realtime.routeFunctions.ping;
    other.rest.addRoute('GET /examples/{id}', handler);
    other.rest.addRoute('GET /public-example', handler.function, {
      public: { reason: 'An example of a public route.' },
    });
    const t = Template.fromStack(other);
    const [authorizerId] = Object.keys(
      t.findResources('AWS::ApiGatewayV2::Authorizer', { Properties: { AuthorizerType: 'JWT' } }),
    );
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Audience: [{ Ref: other.getLogicalId(other.auth.userPoolClient!.node.defaultChild as CfnElement) }],
        Issuer: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
      },
    });
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /examples/{id}',
      AuthorizationType: 'JWT',
      AuthorizerId: { Ref: authorizerId },
    });
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /public-example',
      AuthorizationType: 'NONE',
    });
    expect([...other.rest.routes.keys()].slice(-2)).toEqual(['GET /examples/{id}', 'GET /public-example']);
    expect(() => other.rest.addRoute('GET /examples/{id}', handler)).toThrow('already defined');
    expect(() => other.rest.addRoute('FETCH /x' as 'GET /x', handler)).toThrow('must look like');
    expect(new AwsSolutionsChecks().validateScope(other).violations).toEqual([]);
  });
});

describe('REST routes (core/rest/routes.ts)', () => {
  function restRoute(routeKey: string): CfnResourceJson {
    const found = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::ApiGatewayV2::Route' &&
        r.Properties.RouteKey === routeKey &&
        JSON.stringify(r.Properties.ApiId) === JSON.stringify({ Ref: lid(stack.rest.api) }),
    );
    expect(found).toHaveLength(1);
    return found[0] as CfnResourceJson;
  }

  it.each(REST_ROUTES.map((r) => [`${r.method} ${r.path}`, r.lambda, r.auth] as const))(
    'routes %s to lambdas/%s (token required: %s)',
    (routeKey, lambda, auth) => {
      const route = restRoute(routeKey);
      expect(lambdaBehind(route)).toBe(lambda);
      expect(route.Properties.AuthorizationType).toBe(auth ? 'JWT' : 'NONE');
    },
  );

  it('has exactly the routes of the shared table', () => {
    const keys = Object.values(resources)
      .filter(
        (r) =>
          r.Type === 'AWS::ApiGatewayV2::Route' &&
          JSON.stringify(r.Properties.ApiId).includes(lid(stack.rest.api)),
      )
      .map((r) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual([...REST_ROUTES, ...JOB_ROUTES].map((r) => `${r.method} ${r.path}`).sort());
  });

  it.each(Object.entries(REST_LAMBDAS))('%s gets its timeout, settings and secrets', (name, def) => {
    expect(functionJson(name).Properties.Timeout).toBe(def.timeoutSeconds);
    const env = environment(name);
    const optional =
      /^(PARLEY_LOCAL|OPENAI_(BASE_URL|MODEL|TTS_MODEL|TTS_VOICE|CONTEXT_CHARS|TIMEOUT_MS|MAP_CONCURRENCY))$/;
    for (const variable of def.env as readonly string[]) {
      if (!optional.test(variable))
        expect({ [variable]: env[variable] }).toEqual({ [variable]: expect.anything() });
    }
    for (const secret of def.secrets as readonly string[]) {
      // OpenAI is optional: without a named secret the variable stays unset (embedded engines answer).
      if (secret === 'OPENAI_API_KEY') expect(env[`${secret}_SECRET_ARN`]).toBeUndefined();
      else expect(env[`${secret}_SECRET_ARN`]).toBeDefined();
    }
  });

  it('gives the create-meeting Lambda the audio gateway URL and the Recall region', () => {
    const env = dummyEnvironment('http-create-meeting');
    expect(env.AUDIO_GATEWAY_URL).toMatch(/^ws:\/\//);
    expect(recallBaseUrl(env)).toBe('https://us-east-1.recall.ai');
  });

  const MEETING_READ = ['dynamodb:GetItem table:meetings'];
  const MEETING_UPDATE = ['dynamodb:GetItem table:meetings', 'dynamodb:UpdateItem table:meetings'];
  const RECALL_KEY = [
    'secretsmanager:DescribeSecret secret:recall',
    'secretsmanager:GetSecretValue secret:recall',
  ];
  const EXPECTED: Record<string, string[]> = {
    'http-create-meeting': [...MEETING_UPDATE, 'dynamodb:PutItem table:meetings', ...RECALL_KEY],
    'http-list-meetings': ['dynamodb:Query table:meetings/index/byOwner'],
    'http-get-meeting': MEETING_READ,
    'http-get-meeting-status': MEETING_READ,
    'http-leave-meeting': [...MEETING_UPDATE, 'sqs:SendMessage queue:transcript', ...RECALL_KEY],
    'http-share-meeting': MEETING_UPDATE,
    'http-unshare-meeting': MEETING_UPDATE,
    'http-get-transcript': [...MEETING_READ, 'dynamodb:Query table:segments'],
    // No OpenAI secret named: the embedded engines answer, no secret to read.
    'http-get-brief': [
      ...MEETING_READ,
      'dynamodb:Query table:segments',
      'dynamodb:GetItem table:briefings',
      'dynamodb:PutItem table:briefings',
    ],
    'http-ask': [...MEETING_READ, 'dynamodb:Query table:segments', ...RECALL_KEY],
    'http-recall-webhook': [
      ...MEETING_UPDATE,
      'dynamodb:Query table:meetings/index/byBot',
      'sqs:SendMessage queue:transcript',
      'secretsmanager:DescribeSecret secret:recallWebhook',
      'secretsmanager:GetSecretValue secret:recallWebhook',
    ],
    'http-health': [...MEETING_READ, 'sqs:GetQueueAttributes queue:transcript'],
    'http-docs': [],
  };

  it.each(Object.keys(REST_LAMBDAS))('%s may do exactly what its handler calls', (name) => {
    expect(EXPECTED[name]).toBeDefined();
    expect(functionPermissions(name)).toEqual([...(EXPECTED[name] ?? [])].sort());
  });

  it('publishes the Recall webhook URL', () => {
    template.hasOutput('RecallWebhookUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('webhooks/recall$')])] },
    });
  });
});

describe('audio gateway', () => {
  it('keeps hour-long WebSockets open: ALB idle timeout 4000 s', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'idle_timeout.timeout_seconds', Value: '4000' },
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
        { Key: 'access_logs.s3.enabled', Value: 'true' },
      ]),
    });
  });

  it('checks /healthz on the container port and drains before stopping', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      TargetType: 'ip',
      HealthCheckPath: '/healthz',
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '60' }]),
    });
  });

  it('listens on plain HTTP without a certificate (ws:// Recall endpoint)', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    template.hasOutput('RecallEndpointBaseUrl', {
      Value: { 'Fn::Join': ['', ['ws://', Match.anyValue(), '/recall']] },
    });
  });

  it('runs an ARM64 task whose Deepgram key comes from Secrets Manager, never the environment', () => {
    // The audio gateway's task (the other one is the file worker's, lib/constructs/file-jobs.ts).
    const tasks = Object.values(template.findResources('AWS::ECS::TaskDefinition')).filter(
      (t) => (t as CfnResourceJson).Properties.Cpu === '256',
    ) as CfnResourceJson[];
    expect(tasks).toHaveLength(1);
    const task = tasks[0] as CfnResourceJson;
    expect(task.Properties).toMatchObject({
      Cpu: '256',
      Memory: '512',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
    });
    const container = (task.Properties.ContainerDefinitions as Json[])[0] as Json;
    expect(container.Secrets).toEqual([
      { Name: 'DEEPGRAM_API_KEY', ValueFrom: { Ref: lid(stack.secrets.deepgram) } },
    ]);
    const env = Object.fromEntries(
      (container.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]),
    );
    expect(env.DEEPGRAM_API_KEY).toBeUndefined();
    expect(env).toMatchObject({
      MEETINGS_TABLE: { Ref: lid(stack.storage.tables.meetings) },
      TRANSCRIPT_QUEUE_URL: { Ref: lid(stack.pipeline.transcriptQueue) },
      MEDIA_BUCKET: { Ref: lid(stack.storage.mediaBucket) },
      PORT: '8080',
      MAX_SESSIONS: '50',
      SHUTDOWN_TIMEOUT_MS: '100000',
      AWS_REGION: 'us-east-1',
    });
    expect(container).toMatchObject({
      StopTimeout: 120,
      ReadonlyRootFilesystem: true,
      PortMappings: [{ ContainerPort: 8080 }],
    });
    expect(JSON.stringify(container.Image)).toContain('container-assets');
  });

  it('lets the task only send events, read/update meetings, write recordings and publish its session metric', () => {
    const taskRole = stack.audioGateway.taskDefinition.taskRole;
    expect(permissions(lid(taskRole))).toEqual(
      [
        'dynamodb:BatchGetItem table:meetings',
        'dynamodb:GetItem table:meetings',
        'dynamodb:UpdateItem table:meetings',
        'sqs:SendMessage queue:transcript',
        's3:AbortMultipartUpload bucket:media/recordings/*',
        's3:PutObject bucket:media/recordings/*',
        'cloudwatch:PutMetricData * if {"StringEquals":{"cloudwatch:namespace":"Parley/AudioGateway"}}',
      ].sort(),
    );
  });

  it('scales on CPU and on the ActiveSessions metric, and enables Container Insights', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
      }),
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        CustomizedMetricSpecification: Match.objectLike({
          Namespace: 'Parley/AudioGateway',
          MetricName: 'ActiveSessions',
          Dimensions: [{ Name: 'Stage', Value: 'dev' }],
        }),
        TargetValue: 30,
      }),
    });
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  it('spans two AZs with one NAT gateway and flow logs', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
    });
  });
});

describe('outputs', () => {
  it('publishes the URLs and ids a client and an operator need', () => {
    for (const name of [
      'RealtimeUrl',
      'RestApiUrl',
      'RecallEndpointBaseUrl',
      'UserPoolId',
      'UserPoolClientId',
      'OidcIssuer',
    ]) {
      template.hasOutput(name, {});
    }
    template.hasOutput('RealtimeUrl', {
      Value: {
        'Fn::Join': [
          '',
          ['wss://', { Ref: lid(stack.realtime.api) }, Match.anyValue(), Match.anyValue(), '/dev'],
        ],
      },
    });
  });
});

describe('checks', () => {
  it('leaves no cdk-nag AwsSolutions finding unacknowledged (errors and warnings)', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(
      report.violations.map(
        (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });

  it('gives every acknowledgement a reason', () => {
    for (const construct of stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
        for (const reason of Object.values(entry.data as Record<string, string>))
          expect(reason.length).toBeGreaterThan(30);
      }
    }
  });

  it('raises no CDK warning or error', () => {
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });
});

describe('file jobs (lib/constructs/file-jobs.ts)', () => {
  it('sends the media bucket’s ObjectCreated events under uploads/jobs/ to a standard jobs queue with its own DLQ and alarm', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    const jobsQueue = Object.entries(queues).find(([, q]) => {
      const props = (
        q as { Properties: { RedrivePolicy?: { maxReceiveCount?: number }; FifoQueue?: boolean } }
      ).Properties;
      return props.RedrivePolicy?.maxReceiveCount === QUEUES.fileJobs.maxReceiveCount && !props.FifoQueue;
    });
    expect(jobsQueue).toBeDefined();
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          Match.objectLike({
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/jobs/' }] } },
          }),
        ],
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('file transcription job reached its dead-letter queue'),
      Threshold: 1,
    });
  });

  it('runs the worker as its own service that scales from zero on the queue backlog', () => {
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 0 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      StepScalingPolicyConfiguration: Match.objectLike({ AdjustmentType: 'ExactCapacity' }),
    });
  });
});
