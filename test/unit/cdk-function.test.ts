/**
 * ParleyFunction on its own: the defaults every Lambda gets and the bind… helpers, each setting
 * its variable and exactly its grant in one call.
 */
import { App, type CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type FunctionDefaults, ParleyFunction } from '../../lib/constructs/parley-function';

const DEFAULTS: FunctionDefaults = {
  stageName: 'test',
  logRetention: RetentionDays.ONE_WEEK,
  removalPolicy: RemovalPolicy.DESTROY,
  logLevel: 'DEBUG',
  tracing: false,
};

function setup() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'FunctionTest', { env: { region: 'us-east-1' } });
  const table = new dynamodb.Table(stack, 'Subscriptions', {
    partitionKey: { name: 'topic', type: dynamodb.AttributeType.STRING },
  });
  const queue = new sqs.Queue(stack, 'Queue', { fifo: true, enforceSSL: true });
  const bucket = new s3.Bucket(stack, 'Media', { enforceSSL: true });
  const secret = new secretsmanager.Secret(stack, 'Key');
  const fn = new ParleyFunction(stack, 'Ping', { lambda: 'ws-default', defaults: DEFAULTS });
  return { stack, table, queue, bucket, secret, fn };
}

function statements(stack: Stack, fn: ParleyFunction): unknown[] {
  const template = Template.fromStack(stack);
  const role = stack.getLogicalId(fn.role.node.defaultChild as CfnElement);
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } });
  return Object.values(policies).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument.Statement,
  );
}

describe('ParleyFunction', () => {
  it('runs Node.js 22 on ARM64 with Powertools settings, its own log group and no managed policy', () => {
    // Prepare
    const { stack, fn } = setup();
    // Act
    const template = Template.fromStack(stack);
    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 10,
      Environment: {
        Variables: {
          POWERTOOLS_SERVICE_NAME: 'ws-default',
          POWERTOOLS_METRICS_NAMESPACE: 'Parley',
          LOG_LEVEL: 'DEBUG',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    expect(fn.entry).toMatch(/lambdas\/ws-default\/handler\.ts$/);
  });

  it('refuses an entry that does not exist', () => {
    const { stack } = setup();
    expect(() => new ParleyFunction(stack, 'Missing', { lambda: 'ws-nope', defaults: DEFAULTS })).toThrow(
      'lambdas/ws-nope/handler.ts does not exist',
    );
  });

  it('binds a table: the name variable from core/resources.ts and only the named actions and indexes', () => {
    const { stack, table, fn } = setup();
    fn.bindTable('subscriptions', table, { table: ['BatchWriteItem'], indexes: { byConnection: ['Query'] } });
    expect(
      Template.fromStack(stack).toJSON().Resources[
        stack.getLogicalId(fn.function.node.defaultChild as CfnElement)
      ].Properties.Environment.Variables.SUBSCRIPTIONS_TABLE,
    ).toEqual({ Ref: stack.getLogicalId(table.node.defaultChild as CfnElement) });
    expect(statements(stack, fn)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 'dynamodb:BatchWriteItem',
          Resource: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
        }),
        expect.objectContaining({
          Action: 'dynamodb:Query',
          Resource: {
            'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.any(String), 'Arn'] }, '/index/byConnection']],
          },
        }),
      ]),
    );
  });

  it('refuses an index the table definition does not have', () => {
    const { table, fn } = setup();
    expect(() => fn.bindTable('subscriptions', table, { indexes: { byOwner: ['Query'] } as never })).toThrow(
      'Table subscriptions has no index "byOwner"',
    );
  });

  it('sets a name without granting anything with envOnly', () => {
    const { stack, table, queue, fn } = setup();
    fn.bindTable('connections', table, 'envOnly').bindQueue('transcriptEvents', queue, 'envOnly');
    expect(
      statements(stack, fn).filter(
        (s) => JSON.stringify(s).includes('dynamodb:') || JSON.stringify(s).includes('sqs:'),
      ),
    ).toEqual([]);
    expect(fn.environmentNames()).toEqual(['CONNECTIONS_TABLE', 'TRANSCRIPT_QUEUE_URL']);
  });

  it('binds a queue for sending and a bucket prefix for writing', () => {
    const { stack, queue, bucket, fn } = setup();
    fn.bindQueue('transcriptEvents', queue, 'send').bindBucket('media', bucket, 'write', 'uploads/');
    expect(statements(stack, fn)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'sqs:SendMessage' }),
        expect.objectContaining({
          Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.any(String), 'Arn'] }, '/uploads/*']] },
        }),
      ]),
    );
    expect(fn.environmentNames()).toEqual(['TRANSCRIPT_QUEUE_URL', 'MEDIA_BUCKET']);
    expect(() => fn.bindBucket('media', bucket, 'read', 'secrets/' as never)).toThrow(
      'has no prefix "secrets/"',
    );
  });

  it('binds a secret as <NAME>_SECRET_ARN with read access, never its value', () => {
    const { stack, secret, fn } = setup();
    fn.bindSecret('RECALL_API_KEY', secret);
    expect(fn.environmentNames()).toEqual(['RECALL_API_KEY_SECRET_ARN']);
    expect(statements(stack, fn)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: { Ref: stack.getLogicalId(secret.node.defaultChild as CfnElement) },
        }),
      ]),
    );
    expect(() => fn.bindSecret('recall-key', secret)).toThrow('UPPER_SNAKE_CASE');
  });

  it('acknowledges only its own, explained cdk-nag findings', () => {
    const { stack, queue, bucket, fn } = setup();
    fn.bindQueue('transcriptEvents', queue, 'send').bindBucket('media', bucket, 'write', 'uploads/');
    const paths = new AwsSolutionsChecks()
      .validateScope(stack)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
    expect(paths.filter((p) => p.includes('/Ping/'))).toEqual([]);
  });
});
