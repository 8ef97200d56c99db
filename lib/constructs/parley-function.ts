/**
 * The one Lambda construct of the project: fixes the defaults (ARM64, Node.js 22, local esbuild
 * bundling, source maps, log group with retention, Powertools environment) and offers `bind…`
 * methods that set an environment variable and its least-privilege grant in one call.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BUCKETS, type BucketKey, QUEUES, type QueueKey, TABLES, type TableKey } from '../../core/resources';
import {
  type BucketAccess,
  type BucketPrefix,
  grantBucketPrefix,
  grantQueueSend,
  grantTable,
  type TableAccess,
} from '../grants';
import { acknowledge, acknowledgeGrantWildcards } from '../nag';
import type { LogLevel } from '../parley-props';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * How every Lambda is bundled. The bench (bench/lambda-bundles.ts) and the bundle test build
 * with exactly these settings. The Lambda runtime ships the AWS SDK v3, so `@aws-sdk/*` stays
 * external; `module` first lets esbuild tree-shake ESM builds (Powertools' advice for esbuild).
 */
export const LAMBDA_BUNDLING = {
  target: 'node22',
  format: 'cjs',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: ['@aws-sdk/*'],
  mainFields: ['module', 'main'],
} as const;

/** NODE_OPTIONS every function runs with (stack traces through the source maps). */
export const LAMBDA_NODE_OPTIONS = '--enable-source-maps';

/** The esbuild options equivalent to LAMBDA_BUNDLING, for bundling outside CDK. */
export function esbuildOptions(entry: string, outfile: string) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node' as const,
    target: LAMBDA_BUNDLING.target,
    format: LAMBDA_BUNDLING.format,
    minify: LAMBDA_BUNDLING.minify,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    sourcesContent: LAMBDA_BUNDLING.sourcesContent,
    external: [...LAMBDA_BUNDLING.externalModules],
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    logLevel: 'warning' as const,
  };
}

/** `lambdas/<name>/handler.ts`, the one entry layout of the project. */
export function lambdaEntry(name: string): string {
  return path.join(REPO_ROOT, 'lambdas', name, 'handler.ts');
}

/** Settings every function of a stage shares. */
export interface FunctionDefaults {
  readonly stageName: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly logLevel: LogLevel;
  readonly tracing: boolean;
}

export interface ParleyFunctionProps {
  /** Folder under `lambdas/`; its `handler.ts` exports `handler`. Also the Powertools service name. */
  readonly lambda: string;
  readonly defaults: FunctionDefaults;
  readonly description?: string;
  /** @default 512 (init time scales with the CPU share that memory buys) */
  readonly memorySize?: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
}

export type QueueAccess = 'envOnly' | 'send' | 'attributes' | readonly ('send' | 'attributes')[];

export class ParleyFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** The folder under lambdas/. */
  readonly lambdaName: string;
  /** Absolute path of the bundled entry file. */
  readonly entry: string;
  /** The exported function Lambda calls. */
  readonly handlerName = 'handler';
  private readonly envNames = new Set<string>();

  constructor(scope: Construct, id: string, props: ParleyFunctionProps) {
    super(scope, id);
    this.lambdaName = props.lambda;
    this.entry = lambdaEntry(props.lambda);
    if (!existsSync(this.entry)) {
      throw new TypeError(`Lambda "${props.lambda}": ${path.relative(REPO_ROOT, this.entry)} does not exist`);
    }
    const { defaults } = props;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: defaults.logRetention,
      removalPolicy: defaults.removalPolicy,
    });
    // An own role instead of AWSLambdaBasicExecutionRole: it may write to its own log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Parley ${defaults.stageName} ${props.lambda} Lambda`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: this.entry,
      handler: this.handlerName,
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description ?? `Parley ${defaults.stageName} ${props.lambda}`,
      role: this.role,
      logGroup: this.logGroup,
      tracing: defaults.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      bundling: {
        target: LAMBDA_BUNDLING.target,
        format: OutputFormat.CJS,
        minify: LAMBDA_BUNDLING.minify,
        sourceMap: LAMBDA_BUNDLING.sourceMap,
        sourcesContent: LAMBDA_BUNDLING.sourcesContent,
        externalModules: [...LAMBDA_BUNDLING.externalModules],
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        forceDockerBundling: false,
      },
      environment: {
        POWERTOOLS_SERVICE_NAME: props.lambda,
        POWERTOOLS_METRICS_NAMESPACE: 'Parley',
        LOG_LEVEL: defaults.logLevel,
        NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
      },
    });

    acknowledge(
      this,
      'AwsSolutions-L1',
      'Pinned to Node.js 22 on purpose: the bundles are built and tested for node22 and the audio gateway image runs Node 22; move both to 24 together.',
    );
    if (defaults.tracing) {
      acknowledge(
        this,
        'AwsSolutions-IAM5[Resource::*]',
        'X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions (CDK adds them when tracing is on).',
      );
    }
  }

  /** Sets the table's name variable (TABLES[key].envVar) and grants `access`. */
  bindTable<K extends TableKey>(key: K, table: ITable, access: TableAccess<K>): this {
    grantTable(this.function, key, table, access);
    return this.setEnvironment(TABLES[key].envVar, table.tableName);
  }

  /**
   * Sets the queue URL variable (QUEUES[key].envVar) and grants `send` (sqs:SendMessage, which
   * covers SendMessageBatch) and/or `attributes` (sqs:GetQueueAttributes); `envOnly` grants nothing.
   */
  bindQueue(key: QueueKey, queue: IQueue, access: QueueAccess): this {
    const uses = access === 'envOnly' ? [] : typeof access === 'string' ? [access] : access;
    if (uses.includes('send')) grantQueueSend(this.function, queue);
    if (uses.includes('attributes')) {
      iam.Grant.addToPrincipal({
        grantee: this.function,
        actions: ['sqs:GetQueueAttributes'],
        resourceArns: [queue.queueArn],
      });
    }
    return this.setEnvironment(QUEUES[key].envVar, queue.queueUrl);
  }

  /**
   * Makes this function the queue's consumer: batch size from QUEUES[key], partial batch
   * responses on (the handler returns `batchItemFailures`). Grants receive/delete on the queue.
   */
  consumeQueue(key: QueueKey, queue: IQueue): this {
    this.function.addEventSource(
      new SqsEventSource(queue, { batchSize: QUEUES[key].batchSize, reportBatchItemFailures: true }),
    );
    return this;
  }

  /** Sets the bucket variable (BUCKETS[key].envVar) and grants object access under one prefix only. */
  bindBucket<K extends BucketKey>(
    key: K,
    bucket: IBucket,
    access: BucketAccess,
    prefix: BucketPrefix<K>,
  ): this {
    const grant = grantBucketPrefix(this.function, key, bucket, access, prefix);
    acknowledgeGrantWildcards(
      this,
      grant,
      `Object keys under ${prefix} are chosen per meeting/upload at run time; access is limited to that prefix.`,
    );
    return this.setEnvironment(BUCKETS[key].envVar, bucket.bucketName);
  }

  /**
   * Grants read on a secret and sets `<NAME>_SECRET_ARN` (core/clients/secrets.ts reads the value
   * at first use, so it never sits in the environment).
   */
  bindSecret(name: string, secret: ISecret): this {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name))
      throw new TypeError(`Secret name "${name}" must be UPPER_SNAKE_CASE`);
    secret.grantRead(this.function);
    // An imported-by-name secret has no full ARN; its name is an equally valid SecretId.
    return this.setEnvironment(`${name}_SECRET_ARN`, secret.secretFullArn ?? secret.secretName);
  }

  /**
   * Sets WS_MANAGEMENT_ENDPOINT (`https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}`);
   * `post` also grants execute-api:ManageConnections on this stage's @connections only.
   */
  bindManagementApi(stage: WebSocketStage, access: 'post' | 'envOnly'): this {
    if (access === 'post') {
      const grant = stage.grantManagementApiAccess(this.function);
      acknowledgeGrantWildcards(
        this,
        grant,
        "Connection ids are assigned by API Gateway at run time; the grant is limited to this API stage's @connections.",
      );
    }
    return this.setEnvironment('WS_MANAGEMENT_ENDPOINT', stage.callbackUrl);
  }

  /** A plain setting (never a secret). */
  setEnvironment(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    this.envNames.add(name);
    return this;
  }

  /** Names of the variables set through this construct (the Powertools defaults excluded). */
  environmentNames(): string[] {
    return [...this.envNames];
  }
}
