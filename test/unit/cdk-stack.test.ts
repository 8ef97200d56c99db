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
import { STOP_POLL_MS } from '../../containers/audio-gateway/task-protection';
import { loadAuthConfig, managementEndpoint, queueUrl, recallBaseUrl, tableName } from '../../core/config';
import { PING_MOCK_ROUTE } from '../../core/realtime/ping-route';
import { BUCKETS, QUEUES, TABLES, type TableKey } from '../../core/resources';
import { JOB_LAMBDAS, JOB_ROUTES } from '../../core/rest/job-routes';
import { REST_LAMBDAS, REST_ROUTES } from '../../core/rest/routes';
import { WebConfigSchema } from '../../core/web/config';
import {
  DEREGISTRATION_DELAY_SECONDS,
  HANDOVER_CUT_SECONDS,
  HANDOVER_SECONDS,
  SHUTDOWN_TIMEOUT_MS,
  STOP_TIMEOUT_SECONDS,
  VPC_CIDR,
} from '../../lib/constructs/audio-gateway';
import { ALARMS } from '../../lib/constructs/monitoring';
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
  labels.set(lid(stack.fanout.shardQueue), 'queue:shards');
  labels.set(lid(stack.fanout.shardDeadLetterQueue), 'queue:shards-dlq');
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
        const name = (resource as CfnResourceJson).Properties?.[property];
        // Derived names are fine: aws-cdk-lib names a function's log group after the function.
        const derived = JSON.stringify(name ?? '').includes('"/aws/lambda/",{"Ref"');
        if (!derived) expect(name).toBeUndefined();
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
    // Only the web app's origin may upload (no extra origins configured).
    expect(bucket.CorsConfiguration).toEqual({
      CorsRules: [
        expect.objectContaining({
          AllowedMethods: ['PUT'],
          AllowedOrigins: [stack.resolve(stack.webApp.origin)],
        }),
      ],
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
    // The fan-out's, and the fanout-shard Lambda's (below).
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
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

  it('hands large meetings’ shards to a FIFO shard queue (SSE, DLQ, alarm) consumed by the fanout-shard Lambda', () => {
    const def = QUEUES.fanoutShards;
    const queue = (resources[lid(stack.fanout.shardQueue)] as CfnResourceJson).Properties;
    expect(queue).toMatchObject({
      FifoQueue: true,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: def.visibilityTimeoutSeconds,
      MessageRetentionPeriod: def.retentionSeconds,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [lid(stack.fanout.shardDeadLetterQueue), 'Arn'] },
        maxReceiveCount: def.maxReceiveCount,
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [lid(stack.fanout.shardQueue), 'Arn'] },
      FunctionName: { Ref: lid(fn('fanout-shard').function) },
      BatchSize: def.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const props = functionJson('fanout-shard').Properties;
    expect((props.Timeout as number) * 6).toBeLessThanOrEqual(def.visibilityTimeoutSeconds);
    expect(props.MemorySize).toBe(1_769);
    expect(Object.keys(environment('fanout-shard')).sort()).toEqual(
      [
        'LOG_LEVEL',
        'NODE_OPTIONS',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'WS_MANAGEMENT_ENDPOINT',
        TABLES.connections.envVar,
        TABLES.subscriptions.envVar,
        def.dlq.envVar,
      ].sort(),
    );
    expect(environment('fanout')[def.envVar]).toEqual({ Ref: lid(stack.fanout.shardQueue) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [lid(stack.fanout.shardDeadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 1,
    });
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
  };
  /** Answered by API Gateway itself (MOCK integration, core/realtime/ping-route.ts). */
  const MOCK_ROUTES = ['ping'];

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
    expect(keys.sort()).toEqual([...Object.keys(ROUTES), ...MOCK_ROUTES].sort());
  });

  it('answers ping in API Gateway itself: a MOCK integration with a $default route response, no Lambda', () => {
    const route = routeByKey('ping').Properties;
    expect(route.RouteResponseSelectionExpression).toBe('$default');
    const integrationRef = JSON.stringify(route.Target);
    const [integrationId, integration] = Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::ApiGatewayV2::Integration' && integrationRef.includes(`"${id}"`),
    ) as [string, CfnResourceJson];
    expect(integration.Properties).toMatchObject({
      IntegrationType: 'MOCK',
      TemplateSelectionExpression: '\\$default',
      RequestTemplates: { $default: PING_MOCK_ROUTE.requestTemplate },
    });
    expect(integration.Properties.IntegrationUri).toBeUndefined();
    template.hasResourceProperties('AWS::ApiGatewayV2::IntegrationResponse', {
      IntegrationId: { Ref: integrationId },
      IntegrationResponseKey: '$default',
      ResponseTemplates: { $default: PING_MOCK_ROUTE.responseTemplate },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
      RouteId: { Ref: Object.keys(resources).find((id) => resources[id]?.Properties === route) },
      RouteResponseKey: '$default',
    });
    expect(PING_MOCK_ROUTE.responseTemplate).toContain('"type":"pong"');
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
    for (const routeKey of [...Object.keys(ROUTES), ...MOCK_ROUTES]) {
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
        'fanout-shard',
        'ws-authorizer',
        'ws-command',
        'ws-connect',
        'ws-default',
        'ws-disconnect',
        'ws-get-state',
        'ws-subscribe',
        'ws-subscribe-job',
        'ws-unsubscribe',
        'sweeper',
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

  it('gives each WebSocket route function exactly the settings its handler reads', () => {
    const BASE = ['LOG_LEVEL', 'NODE_OPTIONS', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'];
    const table = (key: TableKey) => TABLES[key].envVar;
    const POSTS = 'WS_MANAGEMENT_ENDPOINT';
    const CONNECTIONS = [table('connections'), table('subscriptions')];
    const expected: Record<string, string[]> = {
      'ws-connect': [table('connections')],
      'ws-disconnect': CONNECTIONS,
      'ws-default': [POSTS],
      'ws-subscribe': [POSTS, ...CONNECTIONS, table('meetings'), table('segments'), table('briefings')],
      'ws-unsubscribe': [POSTS, ...CONNECTIONS],
      'ws-command': [
        POSTS,
        ...CONNECTIONS,
        table('meetings'),
        QUEUES.transcriptEvents.envVar,
        'RECALL_API_KEY_SECRET_ARN',
        'RECALL_BASE_URL',
      ],
      'ws-subscribe-job': [POSTS, ...CONNECTIONS, table('jobs')],
      'ws-get-state': [POSTS, ...CONNECTIONS, table('jobs'), table('meetings'), table('briefings')],
    };
    for (const [name, names] of Object.entries(expected)) {
      expect({ name, env: Object.keys(environment(name)).sort() }).toEqual({
        name,
        env: [...BASE, ...names].sort(),
      });
    }
  });

  it('sets every variable each handler reads, with valid values (checked through core/config)', () => {
    const check: Record<string, readonly TableKey[]> = {
      'ws-connect': ['connections'],
      'ws-disconnect': ['connections', 'subscriptions'],
      'ws-subscribe': ['meetings', 'segments', 'connections', 'subscriptions', 'briefings'],
      'ws-unsubscribe': ['connections', 'subscriptions'],
      'ws-command': ['meetings', 'connections', 'subscriptions'],
      'ws-subscribe-job': ['jobs', 'connections', 'subscriptions'],
      'ws-get-state': ['jobs', 'meetings', 'connections', 'subscriptions', 'briefings'],
    };
    for (const [name, keys] of Object.entries(check)) {
      const env = dummyEnvironment(name);
      for (const key of keys) expect(tableName(key, env)).toBeTruthy();
      if (name !== 'ws-connect' && name !== 'ws-disconnect') expect(managementEndpoint(env)).toBeTruthy();
    }
    expect(managementEndpoint(dummyEnvironment('ws-default'))).toBeTruthy();
    const command = dummyEnvironment('ws-command');
    expect(queueUrl('transcriptEvents', command)).toBeTruthy();
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
    for (const name of ['ws-default', 'fanout', 'ws-subscribe']) {
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
    'ws-subscribe': [
      ...POST,
      ...REMOVE_GONE,
      'dynamodb:GetItem table:meetings',
      // The meeting's subscription slot, which gives the subscription its fan-out shard.
      'dynamodb:UpdateItem table:meetings',
      'dynamodb:PutItem table:subscriptions',
      'dynamodb:Query table:segments',
      // The rolling briefing it sends after the replay.
      'dynamodb:GetItem table:briefings',
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
      'dynamodb:GetItem table:briefings',
    ],
    fanout: [
      ...POST,
      ...REMOVE_GONE,
      'dynamodb:GetItem table:meetings',
      'dynamodb:UpdateItem table:meetings',
      // The final stored once (conditional put); the delivered mark is the meeting's lastSeq.
      'dynamodb:PutItem table:segments',
      'dynamodb:Query table:segments',
      'dynamodb:Query table:subscriptions',
      // Early keyword alerts: raised once (conditional put), read by the final.
      'dynamodb:PutItem table:alerts',
      'dynamodb:Query table:alerts',
      // The rolling briefing: read, stored conditionally.
      'dynamodb:GetItem table:briefings',
      'dynamodb:PutItem table:briefings',
      'sqs:ChangeMessageVisibility queue:transcript',
      'sqs:DeleteMessage queue:transcript',
      'sqs:GetQueueAttributes queue:transcript',
      'sqs:GetQueueUrl queue:transcript',
      'sqs:ReceiveMessage queue:transcript',
      // Parks a record that failed its last delivery (lambdas/fanout).
      'sqs:SendMessage queue:dlq',
      // Hands shards 1… of a large meeting to the fanout-shard Lambda.
      'sqs:SendMessage queue:shards',
    ],
    // One shard of a large meeting: posts, removes gone/evicted connections, reads no table.
    'fanout-shard': [
      ...POST,
      ...REMOVE_GONE,
      'sqs:ChangeMessageVisibility queue:shards',
      'sqs:DeleteMessage queue:shards',
      'sqs:GetQueueAttributes queue:shards',
      'sqs:GetQueueUrl queue:shards',
      'sqs:ReceiveMessage queue:shards',
      'sqs:SendMessage queue:shards-dlq',
    ],
    'ws-authorizer': [],
    // A filtered scan for stuck meetings, a conditional status write, the status event.
    sweeper: [
      'dynamodb:Scan table:meetings',
      'dynamodb:UpdateItem table:meetings',
      'sqs:SendMessage queue:transcript',
    ],
  };

  it.each(Object.keys(EXPECTED))('%s may do exactly what its route needs', (name) => {
    expect(functionPermissions(name)).toEqual([...(EXPECTED[name] ?? [])].sort());
  });

  it('$default has no DynamoDB permission at all', () => {
    expect(functionPermissions('ws-default').filter((p) => p.startsWith('dynamodb:'))).toEqual([]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: lid(fn('ws-default').role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'execute-api:ManageConnections' })]),
      },
    });
  });

  it('grants no wildcard action anywhere and no wildcard resource on data', () => {
    // aws-cdk-lib's own singleton handlers (BucketDeployment, AwsCustomResource) are not Parley's
    // grants; their findings are acknowledged one by one with reasons (see the checks below).
    const singletons = stack.node.children
      .filter((c) => /^(Custom::CDKBucketDeployment|AWS679f53fac002430cb0da5b7982bd2287)/.test(c.node.id))
      .flatMap((c) => c.node.findAll())
      .filter((c) => c.node.id === 'ServiceRole')
      .map((role) => lid(role as never));
    expect(singletons.length).toBeGreaterThan(0);
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as CfnResourceJson[]) {
      const roles = policy.Properties.Roles as { Ref: string }[];
      if (roles.every((r) => singletons.includes(r.Ref))) continue;
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
  it("allows exactly the web app's origin by CORS, set once both exist, and has an access-logged, throttled default stage", () => {
    // The web app's CSP names this API and this API's CORS names the web app: CloudFormation
    // cannot order that cycle, so CORS is set by UpdateApi after both exist.
    const api = resources[lid(stack.rest.api)] as CfnResourceJson;
    expect(api.Properties.ProtocolType).toBe('HTTP');
    expect(api.Properties.CorsConfiguration).toBeUndefined();
    const updates = Object.values(template.findResources('Custom::AWS')) as CfnResourceJson[];
    const cors = updates.filter((r) => JSON.stringify(r.Properties.Create).includes('UpdateApi'));
    expect(cors).toHaveLength(1);
    // The call is JSON joined with references; render each reference as <LogicalId[.Attr]>.
    const render = (value: unknown): string => {
      if (typeof value === 'string') return value;
      const node = value as Json;
      if (node['Fn::Join']) return (node['Fn::Join'] as [string, unknown[]])[1].map(render).join('');
      if (node.Ref) return `<${node.Ref}>`;
      if (node['Fn::GetAtt']) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
      throw new Error(`unexpected ${JSON.stringify(value)}`);
    };
    const call = JSON.parse(render((cors[0] as CfnResourceJson).Properties.Create)) as {
      action: string;
      parameters: { ApiId: string; CorsConfiguration: Record<string, unknown> };
    };
    expect(call.action).toBe('UpdateApi');
    expect(call.parameters.ApiId).toBe(`<${lid(stack.rest.api)}>`);
    expect(call.parameters.CorsConfiguration).toEqual({
      AllowOrigins: [`https://<${lid(stack.webApp.distribution)}.DomainName>`],
      AllowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
      AllowHeaders: ['authorization', 'content-type'],
      MaxAge: 86400,
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
    const handler = other.realtime.routeFunctions.$default;
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
    expect(env.AUDIO_GATEWAY_URL).toMatch(/^wss:\/\//);
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
    'http-list-meetings': [
      'dynamodb:Query table:meetings/index/byOwner',
      'dynamodb:Query table:shares',
      'dynamodb:BatchGetItem table:meetings',
    ],
    'http-get-meeting': MEETING_READ,
    'http-get-meeting-status': MEETING_READ,
    'http-leave-meeting': [...MEETING_UPDATE, 'sqs:SendMessage queue:transcript', ...RECALL_KEY],
    'http-share-meeting': [...MEETING_UPDATE, 'dynamodb:PutItem table:shares'],
    'http-unshare-meeting': [...MEETING_UPDATE, 'dynamodb:DeleteItem table:shares'],
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
    'http-get-recording': [...MEETING_READ, 's3:GetObject bucket:media/recordings/*'],
    // Lists and deletes recordings (never reads them); deletes keys, the meeting item last.
    'http-delete-meeting': [
      ...MEETING_READ,
      'dynamodb:DeleteItem table:meetings',
      'dynamodb:Query table:segments',
      'dynamodb:BatchWriteItem table:segments',
      'dynamodb:Query table:alerts',
      'dynamodb:BatchWriteItem table:alerts',
      'dynamodb:BatchWriteItem table:briefings',
      'dynamodb:BatchWriteItem table:shares',
      's3:DeleteObject bucket:media/recordings/*',
      's3:ListBucket bucket:media if {"StringLike":{"s3:prefix":["recordings/*"]}}',
    ],
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
  function container(): Json {
    const task = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0] as CfnResourceJson;
    return (task.Properties.ContainerDefinitions as Json[])[0] as Json;
  }

  it('keeps hour-long WebSockets open on an internal load balancer without request logs (they would keep ?token=)', () => {
    const alb = resources[lid(stack.audioGateway.loadBalancer)] as CfnResourceJson;
    expect(alb.Properties.Scheme).toBe('internal');
    const attributes = alb.Properties.LoadBalancerAttributes as { Key: string; Value: string }[];
    expect(attributes).toEqual(
      expect.arrayContaining([
        { Key: 'idle_timeout.timeout_seconds', Value: '4000' },
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
      ]),
    );
    expect(attributes.find((a) => a.Key === 'access_logs.s3.enabled')?.Value ?? 'false').toBe('false');
  });

  it('checks /healthz on the container port and drains until the handover has cut every Recall socket', () => {
    // The stop is seen within one metadata poll, the cut follows within HANDOVER_CUT_SECONDS, and
    // Recall's first retry comes 3 s after that: all before the load balancer drops the task.
    expect(DEREGISTRATION_DELAY_SECONDS).toBeGreaterThan(STOP_POLL_MS / 1000 + HANDOVER_CUT_SECONDS + 3);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      TargetType: 'ip',
      HealthCheckPath: '/healthz',
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'deregistration_delay.timeout_seconds', Value: String(DEREGISTRATION_DELAY_SECONDS) },
      ]),
    });
  });

  it('gives Recall a wss:// URL without a domain: CloudFront, HTTPS only, with the load balancer as a VPC origin', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    const distribution = stack.audioGateway.distribution;
    expect(distribution).toBeDefined();
    template.hasOutput('RecallEndpointBaseUrl', {
      Value: {
        'Fn::Join': ['', ['wss://', { 'Fn::GetAtt': [lid(distribution as never), 'DomainName'] }, '/recall']],
      },
    });
    template.hasResourceProperties('AWS::CloudFront::VpcOrigin', {
      VpcOriginEndpointConfig: Match.objectLike({
        Arn: { Ref: lid(stack.audioGateway.loadBalancer) },
        HTTPPort: 80,
        OriginProtocolPolicy: 'http-only',
      }),
    });
    const config = (resources[lid(distribution as never)] as CfnResourceJson).Properties
      .DistributionConfig as Json;
    const behavior = config.DefaultCacheBehavior as Json;
    expect(behavior.ViewerProtocolPolicy).toBe('https-only');
    // Managed policies: CachingDisabled, and AllViewer (WebSocket handshake headers, ?token=).
    expect(behavior.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad');
    expect(behavior.OriginRequestPolicyId).toBe('216adef6-5c7f-47e4-b989-5492eafa07d3');
    expect(config.Logging).toBeUndefined();
  });

  it('admits traffic to the internal load balancer from inside the VPC only', () => {
    const group = resources[lid(stack.audioGateway.loadBalancer.connections.securityGroups[0] as never)];
    expect(group?.Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: VPC_CIDR, FromPort: 80, ToPort: 80, IpProtocol: 'tcp' }),
    ]);
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
    const c = container();
    expect(c.Secrets).toEqual([
      { Name: 'DEEPGRAM_API_KEY', ValueFrom: { Ref: lid(stack.secrets.deepgram) } },
    ]);
    const env = Object.fromEntries(
      (c.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]),
    );
    expect(env.DEEPGRAM_API_KEY).toBeUndefined();
    expect(env).toMatchObject({
      MEETINGS_TABLE: { Ref: lid(stack.storage.tables.meetings) },
      TRANSCRIPT_QUEUE_URL: { Ref: lid(stack.pipeline.transcriptQueue) },
      MEDIA_BUCKET: { Ref: lid(stack.storage.mediaBucket) },
      PORT: '8080',
      MAX_SESSIONS: '25',
      DEEPGRAM_ENCODING: 'opus',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      AWS_REGION: 'us-east-1',
    });
    expect(c).toMatchObject({
      StopTimeout: STOP_TIMEOUT_SECONDS,
      ReadonlyRootFilesystem: true,
      PortMappings: [{ ContainerPort: 8080 }],
    });
    expect(JSON.stringify(c.Image)).toContain('container-assets');
  });

  it('gives ECS time to hand meetings over: handover < shutdown deadline < stop timeout', () => {
    expect(HANDOVER_SECONDS * 1000).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(SHUTDOWN_TIMEOUT_MS).toBeLessThan(STOP_TIMEOUT_SECONDS * 1000);
    expect(STOP_TIMEOUT_SECONDS).toBeLessThanOrEqual(120);
  });

  it('checks the container health in the task definition (ECS ignores the Dockerfile HEALTHCHECK)', () => {
    expect(container().HealthCheck).toEqual({
      Command: ['CMD', 'node', '-e', expect.stringContaining('http://127.0.0.1:8080/healthz')],
      Interval: 15,
      Timeout: 5,
      Retries: 3,
      StartPeriod: 30,
    });
  });

  it('lets the task only send events, read/update meetings, keep recordings, publish its session metric and protect itself', () => {
    const taskRole = stack.audioGateway.taskDefinition.taskRole;
    const cluster = `<${lid(stack.audioGateway.cluster)}>`;
    expect(permissions(lid(taskRole))).toEqual(
      [
        'dynamodb:BatchGetItem table:meetings',
        'dynamodb:GetItem table:meetings',
        'dynamodb:UpdateItem table:meetings',
        'sqs:SendMessage queue:transcript',
        's3:AbortMultipartUpload bucket:media/recordings/*',
        's3:PutObject bucket:media/recordings/*',
        's3:GetObject bucket:media/recordings/*',
        's3:DeleteObject bucket:media/recordings/*',
        's3:ListBucket bucket:media if {"StringLike":{"s3:prefix":["recordings/*"]}}',
        'cloudwatch:PutMetricData * if {"StringEquals":{"cloudwatch:namespace":"Parley/AudioGateway"}}',
        // The ECS agent's task-protection endpoint calls ECS with the task role.
        `ecs:GetTaskProtection arn:aws:ecs:us-east-1:<AWS::AccountId>:task/${cluster}/*`,
        `ecs:UpdateTaskProtection arn:aws:ecs:us-east-1:<AWS::AccountId>:task/${cluster}/*`,
      ].sort(),
    );
  });

  it('scales on CPU and on the ActiveSessions metric, and leaves Container Insights off', () => {
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
        TargetValue: 15,
      }),
    });
    // Container Insights off (≈ $14 a month); the task-count alarm reads the free HealthyHostCount.
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'disabled' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'HealthyHostCount',
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 5,
      TreatMissingData: 'breaching',
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('ECS/ContainerInsights');
  });

  it('needs no NAT gateway: tasks egress through their own public IP and admit only the load balancer', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
    });
    const service = resources[lid(stack.audioGateway.service)] as CfnResourceJson;
    const network = (service.Properties.NetworkConfiguration as Json).AwsvpcConfiguration as Json;
    expect(network.AssignPublicIp).toBe('ENABLED');
    const serviceSg = (network.SecurityGroups as unknown[])[0];
    const inbound = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::EC2::SecurityGroupIngress' &&
        JSON.stringify(r.Properties.GroupId) === JSON.stringify(serviceSg),
    );
    expect(inbound.map((r) => r.Properties)).toEqual([
      expect.objectContaining({
        FromPort: 8080,
        ToPort: 8080,
        SourceSecurityGroupId: stack.resolve(
          stack.audioGateway.loadBalancer.connections.securityGroups[0]?.securityGroupId,
        ),
      }),
    ]);
    const group = Object.entries(resources).find(([id]) =>
      JSON.stringify(serviceSg).includes(`"${id}"`),
    )?.[1];
    expect(group?.Properties.SecurityGroupIngress).toBeUndefined();
  });
});

describe('web app', () => {
  function distributionConfig(): Json {
    return (resources[lid(stack.webApp.distribution)] as CfnResourceJson).Properties
      .DistributionConfig as Json;
  }

  it('serves a private bucket through CloudFront with origin access control, HTTPS only, SPA routes on index.html', () => {
    const bucket = (resources[lid(stack.webApp.bucket)] as CfnResourceJson).Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const config = distributionConfig();
    const origin = (config.Origins as Json[])[0] as Json;
    expect(origin.OriginAccessControlId).toBeDefined();
    expect(origin.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    expect((config.DefaultCacheBehavior as Json).ViewerProtocolPolicy).toBe('https-only');
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.CustomErrorResponses).toEqual([
      expect.objectContaining({ ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html' }),
      expect.objectContaining({ ErrorCode: 404, ResponseCode: 200, ResponsePagePath: '/index.html' }),
    ]);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: lid(stack.webApp.bucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('sends a strict CSP naming exactly the realtime, REST, issuer, audio-gateway and upload origins, media from S3, plus HSTS and no framing', () => {
    const policy = (resources[lid(stack.webApp.responseHeadersPolicy)] as CfnResourceJson).Properties
      .ResponseHeadersPolicyConfig as Json;
    const security = policy.SecurityHeadersConfig as Json;
    const csp = flattenCfnReference((security.ContentSecurityPolicy as Json).ContentSecurityPolicy);
    const directives = Object.fromEntries(
      csp.split('; ').map((d) => {
        const [name, ...values] = d.split(' ');
        return [name, values];
      }),
    );
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['connect-src']).toEqual([
      "'self'",
      `wss://<${lid(stack.realtime.api)}>.execute-api.us-east-1.<AWS::URLSuffix>`,
      `https://<${lid(stack.rest.api)}>.execute-api.us-east-1.<AWS::URLSuffix>`,
      'https://cognito-idp.us-east-1.<AWS::URLSuffix>',
      `https://<${lid(stack.auth.userPoolDomain as never)}>.auth.us-east-1.amazoncognito.com`,
      `wss://<${lid(stack.audioGateway.distribution as never)}.DomainName>`,
      'https://*.s3.us-east-1.<AWS::URLSuffix>',
    ]);
    // Recordings play from presigned S3 URLs in the stack's region.
    expect(directives['media-src']).toEqual(["'self'", 'https://*.s3.us-east-1.<AWS::URLSuffix>']);
    expect(security.StrictTransportSecurity).toMatchObject({
      AccessControlMaxAgeSec: 31536000,
      Override: true,
    });
    expect(security.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect((distributionConfig().DefaultCacheBehavior as Json).ResponseHeadersPolicyId).toEqual({
      Ref: lid(stack.webApp.responseHeadersPolicy),
    });
  });

  it('writes config.json at deploy time in the shape core/web/config.ts validates', () => {
    const deployments = Object.values(
      template.findResources('Custom::CDKBucketDeployment'),
    ) as CfnResourceJson[];
    const entry = deployments.find((d) => JSON.stringify(d.Properties.Include ?? []).includes('config.json'));
    // Deploy-time values travel as markers that the deployment replaces when it writes the file.
    expect(entry?.Properties.SourceMarkers).toBeDefined();
    const literal = JSON.parse(
      JSON.stringify(stack.resolve(stack.webApp.config), (_key, value) =>
        value && typeof value === 'object' && ('Fn::Join' in value || 'Ref' in value || 'Fn::GetAtt' in value)
          ? flattenCfnReference(value).replace(/<[^>]+>/g, 'x1')
          : value,
      ),
    );
    const parsed = WebConfigSchema.parse(literal);
    expect(parsed.stage).toBe('dev');
    expect(parsed.oidc.scope).toBe('openid email profile');
    expect(parsed.wsUrl).toMatch(/^wss:\/\/.+\/dev$/);
    expect(parsed.restUrl).toMatch(/^https:\/\/[^/]+$/);
    expect(parsed.oidc.authority).toMatch(/^https:\/\/cognito-idp\.us-east-1\..+\/x1$/);
    expect(parsed.oidc.logoutUrl).toMatch(/\/logout\?client_id=x1&logout_uri=https%3A%2F%2Fx1%2F$/);
  });

  it('lets Cognito managed login run the code flow with PKCE for the web app, with no client secret', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: Match.arrayWith(['openid', 'email', 'profile']),
      SupportedIdentityProviders: ['COGNITO'],
      CallbackURLs: [
        {
          'Fn::Join': [
            '',
            ['https://', { 'Fn::GetAtt': [lid(stack.webApp.distribution), 'DomainName'] }, '/callback'],
          ],
        },
      ],
      LogoutURLs: [
        {
          'Fn::Join': [
            '',
            ['https://', { 'Fn::GetAtt': [lid(stack.webApp.distribution), 'DomainName'] }, '/'],
          ],
        },
      ],
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { ManagedLoginVersion: 2 });
    template.resourceCountIs('AWS::Cognito::ManagedLoginBranding', 1);
  });

  it('publishes the web app URL', () => {
    template.hasOutput('WebAppUrl', {
      Value: {
        'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [lid(stack.webApp.distribution), 'DomainName'] }]],
      },
    });
  });
});

describe('alarms and dashboard', () => {
  it('sends every alarm (and its recovery) to the alarm topic, and names a runbook that exists', () => {
    const operations = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    const topic = { Ref: lid(stack.monitoring.topic) };
    // Step-scaling alarms (the file worker scales on its queue) act on a scaling policy, not a person.
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm'))
      .filter(([logicalId]) => !/(Upper|Lower)Alarm/.test(logicalId))
      .map(([, alarm]) => alarm as CfnResourceJson);
    // The monitoring construct's alarms, the file jobs' DLQ alarm (lib/constructs/file-jobs.ts)
    // and the fan-out shards' DLQ alarm (lib/constructs/fanout.ts).
    expect(alarms).toHaveLength(Object.keys(ALARMS).length + 2);
    expect(operations).toContain('### FileJobDeadLetters');
    expect(operations).toContain('### FanoutShardDeadLetters');
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
    }
    for (const id of Object.values(ALARMS)) {
      expect(operations).toContain(`### ${id}`);
    }
  });

  it.each([
    ['fan-out errors', 'AWS/Lambda', 'Errors', 1],
    ['fan-out throttles', 'AWS/Lambda', 'Throttles', 1],
    ['queue age', 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 60],
    ['unhealthy tasks', 'AWS/ApplicationELB', 'UnHealthyHostCount', 1],
    ['sessions near MAX_SESSIONS', 'Parley/AudioGateway', 'ActiveSessions', 22],
    ['WebSocket integration errors', 'AWS/ApiGateway', 'IntegrationError', 5],
    ['REST 5xx', 'AWS/ApiGateway', '5xx', 5],
  ])('alarms on %s', (_name, namespace, metricName, threshold) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: namespace,
      MetricName: metricName,
      Threshold: threshold,
    });
  });

  it('alarms on both dead-letter queues', () => {
    for (const queue of [stack.pipeline.deadLetterQueue, stack.sweeper.deadLetterQueue]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [lid(queue), 'QueueName'] } }],
        Threshold: 1,
      });
    }
  });

  it('alarms on load balancer 5xx and on fewer healthy gateway tasks than the minimum', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as CfnResourceJson[];
    const expressions = alarms
      .flatMap((a) => ((a.Properties.Metrics ?? []) as Json[]).map((m) => m.Expression))
      .filter(Boolean);
    expect(expressions).toEqual(expect.arrayContaining(['FILL(elb, 0) + FILL(target, 0)']));
    const belowMinimum = alarms.find((a) =>
      String(a.Properties.AlarmDescription).includes("service's minimum"),
    );
    expect(belowMinimum?.Properties).toMatchObject({
      MetricName: 'HealthyHostCount',
      ComparisonOperator: 'LessThanThreshold',
    });
  });

  it('subscribes no address unless alarmEmail is set', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('has one dashboard with live meetings, streams, finals/s, latency percentiles and errors', () => {
    const dashboards = Object.values(
      template.findResources('AWS::CloudWatch::Dashboard'),
    ) as CfnResourceJson[];
    expect(dashboards).toHaveLength(1);
    const body = flattenCfnReference((dashboards[0] as CfnResourceJson).Properties.DashboardBody);
    for (const text of [
      'Live meetings',
      'Client streams',
      'Finals per second',
      'FinalLatency',
      'p99',
      'Errors',
    ]) {
      expect(body).toContain(text);
    }
  });
});

describe('stuck-meeting sweeper', () => {
  it('runs every five minutes with a dead-letter queue for failed deliveries', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [lid(fn('sweeper').function), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [lid(stack.sweeper.deadLetterQueue), 'Arn'] } },
        }),
      ],
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

describe('docs/deploy.md', () => {
  // Outputs that exist only with a custom domain (asserted in cdk-variants.test.ts).
  const DOMAIN_ONLY = ['AudioGatewayLoadBalancerDns', 'RealtimeDomainTarget', 'RestDomainTarget'];
  const docs = readFileSync(path.join(ROOT, 'docs', 'deploy.md'), 'utf8');

  it('names only stack outputs that exist, in its commands and in its tables', () => {
    const outputs = new Set([...Object.keys(template.toJSON().Outputs), ...DOMAIN_ONLY]);
    const fromCommands = [...docs.matchAll(/\$\(out ([A-Za-z0-9]+)\)/g)].map((m) => m[1]);
    const fromTables = [...docs.matchAll(/^\| `([A-Z][A-Za-z0-9]+)`/gm)].map((m) => m[1]);
    expect(fromCommands.length).toBeGreaterThan(5);
    for (const name of [...fromCommands, ...fromTables])
      expect({ name, exists: outputs.has(name as string) }).toEqual({ name, exists: true });
  });

  it('documents every output of the stack', () => {
    for (const name of Object.keys(template.toJSON().Outputs))
      expect({ name, documented: docs.includes(`\`${name}\``) }).toEqual({ name, documented: true });
  });

  it('uses the stack name the app creates', () => {
    const names = [...docs.matchAll(/--stack-name (\S+)/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^(Parley-dev|Parley-prod|"\$STACK"|\$STACK)$/);
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
