/**
 * File transcription: the jobs queue (standard SQS + DLQ + alarm) fed by the media bucket's
 * ObjectCreated notifications under uploads/jobs/, the file-worker Fargate service (same
 * cluster and build context as the audio gateway, its own image with ffmpeg) scaled on the
 * queue's backlog from zero, and the `/jobs` REST routes (core/rest/job-routes.ts).
 */
import { Duration, IgnoreMode, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BUCKETS, QUEUES, TABLES, type TableKey } from '../../core/resources';
import { JOB_LAMBDAS, JOB_ROUTES } from '../../core/rest/job-routes';
import { grantBucketPrefix, grantQueueSend, grantTable, type TableAccess } from '../grants';
import { acknowledge, acknowledgeGrantWildcards } from '../nag';
import type { LogLevel } from '../parley-props';
import { AUDIO_GATEWAY_ASSET_EXCLUDE } from './audio-gateway';
import { REPO_ROOT } from './parley-function';
import type { RestApi, RouteSpec } from './rest-api';

/** ECS waits this long after SIGTERM; the worker hands its job back well inside it. */
const STOP_TIMEOUT_SECONDS = 90;

export interface FileJobsProps {
  readonly stageName: string;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  readonly tables: { readonly [K in TableKey]: ITable };
  readonly transcriptQueue: sqs.IQueue;
  readonly mediaBucket: s3.IBucket;
  readonly deepgramApiKey: ISecret;
  /** The audio gateway's cluster (its VPC's private subnets, NAT and gateway endpoints). */
  readonly cluster: ecs.ICluster;
  readonly rest: RestApi;
  /** Most worker tasks at once. @default 10 */
  readonly maxTasks?: number;
}

export class FileJobs extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  readonly service: ecs.FargateService;

  constructor(scope: Construct, id: string, props: FileJobsProps) {
    super(scope, id);
    const def = QUEUES.fileJobs;
    const stack = Stack.of(this);

    this.deadLetterQueue = new sqs.Queue(this, 'FileJobsDlq', {
      retentionPeriod: Duration.seconds(def.dlq.retentionSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
    });
    this.queue = new sqs.Queue(this, 'FileJobsQueue', {
      visibilityTimeout: Duration.seconds(def.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(def.retentionSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: def.maxReceiveCount },
      removalPolicy: props.removalPolicy,
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'A file transcription job reached its dead-letter queue. Runbook: docs/operations.md#filejobdeadletters',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // The upload's arrival starts the job: S3 → SQS, only for job uploads.
    props.mediaBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), {
      prefix: 'uploads/jobs/',
    });
    // CDK applies the notification configuration through its own singleton handler function.
    for (const child of stack.node.children) {
      if (child.node.id.startsWith('BucketNotificationsHandler')) {
        acknowledge(
          child.node.tryFindChild('Role') ?? child,
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          'CDK’s BucketNotificationsHandler (it writes the bucket notification configuration at deploy time) uses AWSLambdaBasicExecutionRole for its logs only.',
        );
      }
    }

    // ----- the worker service -----
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'WorkerTask', {
      cpu: 1024,
      memoryLimitMiB: 2048,
      // Uploads (up to 4 GiB) are downloaded before decoding.
      ephemeralStorageGiB: 30,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const role = taskDefinition.taskRole;
    // claim / progress / checkpoint (UpdateItem), state (GetItem); meeting status and lastSeq; resume reads segments.
    grantTable(role, 'jobs', props.tables.jobs, ['GetItem', 'UpdateItem']);
    grantTable(role, 'meetings', props.tables.meetings, ['GetItem', 'UpdateItem']);
    grantTable(role, 'segments', props.tables.segments, ['Query']);
    grantQueueSend(role, props.transcriptQueue);
    grantQueueSend(role, this.deadLetterQueue);
    // A job another run holds goes back to its own queue as a delayed copy (core/jobs/job-worker.ts).
    grantQueueSend(role, this.queue);
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
      ],
      resourceArns: [this.queue.queueArn],
    });
    const uploads = grantBucketPrefix(role, 'media', props.mediaBucket, 'read', 'uploads/');
    acknowledgeGrantWildcards(
      taskDefinition,
      uploads,
      'Upload keys are chosen per job at run time; the worker only reads under the uploads/ prefix.',
    );

    const containerLogs = new logs.LogGroup(this, 'WorkerLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    taskDefinition.addContainer('FileWorker', {
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: 'containers/file-worker/Dockerfile',
        platform: Platform.LINUX_ARM64,
        ignoreMode: IgnoreMode.DOCKER,
        exclude: AUDIO_GATEWAY_ASSET_EXCLUDE,
      }),
      essential: true,
      readonlyRootFilesystem: false,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'file-worker', logGroup: containerLogs }),
      stopTimeout: Duration.seconds(STOP_TIMEOUT_SECONDS),
      environment: {
        AWS_REGION: stack.region,
        [TABLES.jobs.envVar]: props.tables.jobs.tableName,
        [TABLES.meetings.envVar]: props.tables.meetings.tableName,
        [TABLES.segments.envVar]: props.tables.segments.tableName,
        [QUEUES.transcriptEvents.envVar]: props.transcriptQueue.queueUrl,
        [def.envVar]: this.queue.queueUrl,
        [def.dlq.envVar]: this.deadLetterQueue.queueUrl,
        [BUCKETS.media.envVar]: props.mediaBucket.bucketName,
        SHUTDOWN_TIMEOUT_MS: String((STOP_TIMEOUT_SECONDS - 20) * 1000),
        PARLEY_STAGE: props.stageName,
        POWERTOOLS_SERVICE_NAME: 'file-worker',
        LOG_LEVEL: props.logLevel,
      },
      secrets: { DEEPGRAM_API_KEY: ecs.Secret.fromSecretsManager(props.deepgramApiKey) },
    });
    acknowledge(
      taskDefinition,
      'AwsSolutions-ECS2',
      'The environment holds resource names and tuning only; DEEPGRAM_API_KEY comes from Secrets Manager through the task definition secrets.',
    );
    if (taskDefinition.executionRole) {
      acknowledge(
        taskDefinition.executionRole,
        'AwsSolutions-IAM5[Resource::*]',
        'ecr:GetAuthorizationToken, added by ECS for pulling the image asset, has no resource-level permissions.',
      );
    }

    this.service = new ecs.FargateService(this, 'WorkerService', {
      cluster: props.cluster,
      taskDefinition,
      desiredCount: 0,
      minHealthyPercent: 0,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      // No NAT (docs/deploy.md): the worker reaches Deepgram, SQS and S3 from a public subnet with
      // its own address; its security group admits nothing inbound.
      assignPublicIp: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    });

    // Backlog = waiting + in progress; zero for 15 minutes → zero tasks.
    const backlog = new cloudwatch.MathExpression({
      expression: 'visible + inflight',
      usingMetrics: {
        visible: this.queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        inflight: this.queue.metricApproximateNumberOfMessagesNotVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
      },
      period: Duration.minutes(1),
    });
    const maxTasks = props.maxTasks ?? 10;
    const scaling = this.service.autoScaleTaskCount({ minCapacity: 0, maxCapacity: maxTasks });
    scaling.scaleOnMetric('Backlog', {
      metric: backlog,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      scalingSteps: [
        { upper: 0, change: 0 },
        { lower: 1, change: 1 },
        { lower: 3, change: Math.min(3, maxTasks) },
        { lower: 10, change: maxTasks },
      ],
      evaluationPeriods: 1,
      cooldown: Duration.minutes(1),
    });

    // ----- REST routes -----
    for (const route of JOB_ROUTES) {
      const spec = JOB_LAMBDAS[route.lambda];
      const fn = props.rest.createFunction(route.lambda, {
        description: spec.description,
        timeout: Duration.seconds(15),
      });
      for (const [key, access] of Object.entries(spec.tables) as [TableKey, TableAccess][]) {
        fn.bindTable(key, props.tables[key], access as never);
      }
      if (spec.bucket !== 'none') fn.bindBucket('media', props.mediaBucket, spec.bucket, 'uploads/');
      if (spec.queue) fn.bindQueue('transcriptEvents', props.transcriptQueue, 'send');
      props.rest.addRoute(`${route.method} ${route.path}` as RouteSpec, fn);
    }
  }
}
