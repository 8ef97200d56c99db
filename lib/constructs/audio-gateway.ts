/**
 * The audio gateway: the Fargate service (containers/audio-gateway) that Recall bots stream
 * meeting audio to over wss, behind an internet-facing ALB whose idle timeout (4000 s, the
 * maximum) outlasts hour-long WebSockets. Tasks run in private subnets, finalize their
 * sessions on SIGTERM (stopTimeout 120 s, the ECS maximum), and scale on CPU and on the
 * `Parley/AudioGateway ActiveSessions` metric the container publishes.
 */
import { Duration, IgnoreMode, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ACTIVE_SESSIONS_METRIC, BUCKETS, QUEUES, TABLES } from '../../core/resources';
import { grantBucketPrefix, grantQueueSend, grantTable } from '../grants';
import { acknowledge, acknowledgeGrantWildcards } from '../nag';
import type { LogLevel } from '../parley-props';
import { REPO_ROOT } from './parley-function';

export { ACTIVE_SESSIONS_METRIC };

export const CONTAINER_PORT = 8080;
/** ECS waits this long after SIGTERM before SIGKILL (the Fargate maximum). */
export const STOP_TIMEOUT_SECONDS = 120;
/** The container's own deadline to finalize sessions, inside the stop timeout. */
export const SHUTDOWN_TIMEOUT_MS = 100_000;

/**
 * What the image build needs from the repository root (the Dockerfile copies exactly these);
 * staging only these keeps the asset hash, and so image rebuilds, independent of the rest.
 */
export const AUDIO_GATEWAY_ASSET_EXCLUDE = [
  '*',
  '!package.json',
  '!package-lock.json',
  '!tsconfig.json',
  '!core',
  '!containers',
];

export interface AudioGatewayProps {
  readonly stageName: string;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  readonly meetingsTable: ITable;
  readonly transcriptQueue: IQueue;
  readonly mediaBucket: IBucket;
  readonly logBucket: IBucket;
  readonly deepgramApiKey: ISecret;
  /** HTTPS on 443 with this certificate; without it the listener is plain HTTP on 80 (testing only). */
  readonly domain?: { readonly domainName: string; readonly certificateArn: string };
  readonly maxSessions: number;
  readonly minTasks: number;
  readonly maxTasks: number;
  /** Who signs user tokens: browser microphones (`/browser/{meetingId}`) are off without it. */
  readonly auth?: { readonly issuer: string; readonly audience: string };
}

export class AudioGateway extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The gateway's public base URL: `wss://<domain>` (`ws://<alb dns>` without a certificate). */
  readonly publicUrl: string;
  /** Base URL Recall bots connect to: `<publicUrl>/recall` (each meeting adds `/<id>?token=…`). */
  readonly recallEndpointBaseUrl: string;

  constructor(scope: Construct, id: string, props: AudioGatewayProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const flowLogs = new logs.LogGroup(this, 'VpcFlowLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'tasks', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
      // DynamoDB and S3 traffic stays off the NAT gateway (free gateway endpoints).
      gatewayEndpoints: {
        DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const taskRole = this.taskDefinition.taskRole;
    // The task may only: read and update meetings (session state, seq reservations, command
    // polling), publish pipeline events, write recordings, and publish its session count.
    grantTable(taskRole, 'meetings', props.meetingsTable, ['GetItem', 'UpdateItem', 'BatchGetItem']);
    grantQueueSend(taskRole, props.transcriptQueue);
    // Recordings: write chunks, read them back (resume, assembly), list and delete them (assembly).
    const recordings = grantBucketPrefix(taskRole, 'media', props.mediaBucket, 'readWrite', 'recordings/');
    recordings.combine(
      iam.Grant.addToPrincipal({
        grantee: taskRole,
        actions: ['s3:DeleteObject'],
        resourceArns: [props.mediaBucket.arnForObjects('recordings/*')],
      }),
    );
    const listRecordings = iam.Grant.addToPrincipal({
      grantee: taskRole,
      actions: ['s3:ListBucket'],
      resourceArns: [props.mediaBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': ['recordings/*'] } },
    });
    acknowledgeGrantWildcards(
      this.taskDefinition,
      listRecordings,
      "Listing is limited to keys under recordings/ (s3:prefix condition): the archive finds a meeting's chunks.",
    );
    acknowledgeGrantWildcards(
      this.taskDefinition,
      recordings,
      'Recording object keys are chosen per meeting at run time; writes are limited to the recordings/ prefix.',
    );
    const metrics = iam.Grant.addToPrincipal({
      grantee: taskRole,
      actions: ['cloudwatch:PutMetricData'],
      resourceArns: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': ACTIVE_SESSIONS_METRIC.namespace } },
    });
    acknowledgeGrantWildcards(
      this.taskDefinition,
      metrics,
      'cloudwatch:PutMetricData has no resource-level permissions; the statement is limited to the Parley/AudioGateway namespace by condition.',
    );

    const containerLogs = new logs.LogGroup(this, 'ContainerLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.container = this.taskDefinition.addContainer('AudioGateway', {
      // Only hashed and staged at synth time; `docker build` runs at deploy (cdk-assets).
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: 'containers/audio-gateway/Dockerfile',
        platform: Platform.LINUX_ARM64,
        ignoreMode: IgnoreMode.DOCKER,
        exclude: AUDIO_GATEWAY_ASSET_EXCLUDE,
      }),
      essential: true,
      readonlyRootFilesystem: true,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'audio-gateway', logGroup: containerLogs }),
      portMappings: [{ containerPort: CONTAINER_PORT, protocol: ecs.Protocol.TCP }],
      stopTimeout: Duration.seconds(STOP_TIMEOUT_SECONDS),
      environment: {
        AWS_REGION: stack.region,
        PORT: String(CONTAINER_PORT),
        [TABLES.meetings.envVar]: props.meetingsTable.tableName,
        [QUEUES.transcriptEvents.envVar]: props.transcriptQueue.queueUrl,
        [BUCKETS.media.envVar]: props.mediaBucket.bucketName,
        MAX_SESSIONS: String(props.maxSessions),
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        PARLEY_STAGE: props.stageName,
        ...(props.auth ? { OIDC_ISSUER: props.auth.issuer, OIDC_AUDIENCE: props.auth.audience } : {}),
        POWERTOOLS_SERVICE_NAME: 'audio-gateway',
        LOG_LEVEL: props.logLevel,
      },
      // Injected by ECS from Secrets Manager at task start; never a plain environment value.
      secrets: { DEEPGRAM_API_KEY: ecs.Secret.fromSecretsManager(props.deepgramApiKey) },
    });
    // The root filesystem is read-only: recording assembly (ffmpeg) writes its file to /tmp.
    this.taskDefinition.addVolume({ name: 'tmp' });
    this.container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
    acknowledge(
      this.taskDefinition,
      'AwsSolutions-ECS2',
      'The environment holds resource names and tuning only; the one secret (DEEPGRAM_API_KEY) comes from Secrets Manager through the task definition secrets.',
    );
    if (this.taskDefinition.executionRole) {
      acknowledge(
        this.taskDefinition.executionRole,
        'AwsSolutions-IAM5[Resource::*]',
        'ecr:GetAuthorizationToken, added by ECS for pulling the image asset, has no resource-level permissions.',
      );
    }

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.minTasks,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      assignPublicIp: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      healthCheckGracePeriod: Duration.seconds(60),
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      // The maximum: an idle Recall socket (between audio packets) must never be cut mid-meeting.
      idleTimeout: Duration.seconds(4000),
      dropInvalidHeaderFields: true,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
    });
    this.loadBalancer.logAccessLogs(props.logBucket, 'audio-gateway-alb');
    acknowledge(
      this.loadBalancer,
      'AwsSolutions-EC23',
      'Recall.ai bots connect from the internet (no fixed source range); each connection is authorized by its per-meeting endpoint token at upgrade.',
    );

    const listener = props.domain
      ? this.loadBalancer.addListener('Https', {
          port: 443,
          protocol: elbv2.ApplicationProtocol.HTTPS,
          certificates: [elbv2.ListenerCertificate.fromArn(props.domain.certificateArn)],
          sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
          open: true,
        })
      : this.loadBalancer.addListener('Http', {
          port: 80,
          protocol: elbv2.ApplicationProtocol.HTTP,
          open: true,
        });

    this.targetGroup = listener.addTargets('AudioGateway', {
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [
        this.service.loadBalancerTarget({
          containerName: this.container.containerName,
          containerPort: CONTAINER_PORT,
        }),
      ],
      healthCheck: {
        path: '/healthz',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      // A draining task keeps its sockets this long before ECS sends SIGTERM; Recall then
      // reconnects to another task and the session resumes from the stored seq.
      deregistrationDelay: Duration.seconds(60),
    });

    const scaling = this.service.autoScaleTaskCount({
      minCapacity: props.minTasks,
      maxCapacity: props.maxTasks,
    });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: 60,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.minutes(5),
    });
    scaling.scaleToTrackCustomMetric('ActiveSessions', {
      metric: new cloudwatch.Metric({
        namespace: ACTIVE_SESSIONS_METRIC.namespace,
        metricName: ACTIVE_SESSIONS_METRIC.metricName,
        dimensionsMap: { [ACTIVE_SESSIONS_METRIC.dimension]: props.stageName },
        statistic: cloudwatch.Stats.AVERAGE,
        period: Duration.minutes(1),
      }),
      // Sessions per task; leave head room below MAX_SESSIONS for meetings that join meanwhile.
      targetValue: Math.max(1, Math.floor(props.maxSessions * 0.6)),
      scaleOutCooldown: Duration.seconds(60),
      // Scaling in ends sessions (Recall reconnects elsewhere): do it rarely.
      scaleInCooldown: Duration.minutes(15),
    });

    this.publicUrl = props.domain
      ? `wss://${props.domain.domainName}`
      : `ws://${this.loadBalancer.loadBalancerDnsName}`;
    this.recallEndpointBaseUrl = `${this.publicUrl}/recall`;
  }
}
