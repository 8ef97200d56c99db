/**
 * The audio gateway: the Fargate service (containers/audio-gateway) that Recall bots stream
 * meeting audio to over wss, behind an ALB whose idle timeout (4000 s, the maximum) outlasts
 * hour-long WebSockets.
 *
 * Two ways in (docs/deploy.md, "How Recall reaches the gateway"):
 * - default, no domain: CloudFront (its own certificate, so `wss://<id>.cloudfront.net`) with
 *   the ALB as a VPC origin. The ALB is internal, in isolated subnets, and accepts traffic from
 *   inside the VPC only, so nothing reaches it except through the distribution: no shared
 *   secret header to keep and rotate. CloudFront carries WebSockets to VPC origins since
 *   May 2026 (https://aws.amazon.com/about-aws/whats-new/2026/05/amazon-cloudfront-websockets-vpc-origins/).
 * - `domain`: an internet-facing ALB with an HTTPS listener and the operator's certificate.
 *
 * No NAT gateway: tasks run in public subnets with a public IP for egress (Deepgram, SQS,
 * CloudWatch) and a security group that admits only the load balancer. That removes the NAT's
 * single-AZ failure point and its fixed cost (docs/deploy.md, "Network").
 *
 * Stopping tasks hand their meetings over (HANDOVER_SECONDS); a task holding meetings protects
 * itself from scale-in through the ECS agent (containers/audio-gateway/task-protection.ts).
 * The service scales on CPU and on the `Parley/AudioGateway ActiveSessions` metric.
 */
import { Duration, IgnoreMode, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
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
import { GATEWAY_TASK, SESSIONS_TARGET_SHARE } from '../../core/audio/capacity';
import { HANDOVER_FLUSH_MS } from '../../core/audio/meeting-session';
import { DEFAULT_SPEECH_ENCODING } from '../../core/audio/speech-encoding';
import { ACTIVE_SESSIONS_METRIC, BUCKETS, QUEUES, TABLES } from '../../core/resources';
import { grantBucketPrefix, grantQueueSend, grantTable } from '../grants';
import { acknowledge, acknowledgeGrantWildcards } from '../nag';
import type { LogLevel } from '../parley-props';
import { REPO_ROOT } from './parley-function';

export { ACTIVE_SESSIONS_METRIC };

export const CONTAINER_PORT = 8080;
/** The VPC's address range (a literal, so the load balancer's ingress rule is checkable). */
export const VPC_CIDR = '10.40.0.0/16';
/**
 * What a stopping task needs to hand its meetings over (core/audio, AudioGateway.handover): cut
 * each meeting's audio at a quiet moment (≤ 5 s) and close Recall's socket so that Recall
 * reconnects elsewhere, then wait for the speech engine's last results (≤ HANDOVER_FLUSH_MS) and
 * publish them (≤ 10 s).
 */
export const HANDOVER_CUT_SECONDS = 5;
export const HANDOVER_SECONDS = HANDOVER_CUT_SECONDS + HANDOVER_FLUSH_MS / 1000 + 10;
/**
 * How long the load balancer keeps a deregistered task's sockets. ECS sends SIGTERM only after
 * this delay, and the load balancer cuts the remaining sockets when it ends, so the task starts
 * its handover as soon as it sees it is stopping (the task metadata endpoint, polled by
 * containers/audio-gateway/task-protection.ts). Only the cut must happen inside this window (Recall's
 * socket is closed at the cut); the flush that follows uses the task's outbound speech socket.
 */
export const DEREGISTRATION_DELAY_SECONDS = 30;
/** The container's own deadline after the handover starts (SIGTERM or the metadata poll). */
export const SHUTDOWN_TIMEOUT_MS = (HANDOVER_SECONDS + 10) * 1000;
/** ECS waits this long after SIGTERM before SIGKILL: the shutdown deadline plus 10 s (Fargate allows 120 s). */
export const STOP_TIMEOUT_SECONDS = SHUTDOWN_TIMEOUT_MS / 1000 + 10;

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
  readonly deepgramApiKey: ISecret;
  /**
   * An internet-facing load balancer with HTTPS on 443 and this certificate. Without it the
   * load balancer is internal and CloudFront (VPC origin) is the wss:// entry point.
   */
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
  /** The CloudFront entry point (only without a custom domain). */
  readonly distribution?: cloudfront.Distribution;
  /** The gateway's public base URL: `wss://<domain>` or `wss://<distribution domain>`. */
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
      ipAddresses: ec2.IpAddresses.cidr(VPC_CIDR),
      maxAzs: 2,
      // Tasks reach the internet through their own public IP (inbound: load balancer only).
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 22 },
        // The internal load balancer behind CloudFront: no route to or from the internet.
        { name: 'internal', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
      // DynamoDB and S3 traffic stays on the AWS network (free gateway endpoints).
      gatewayEndpoints: {
        DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      // Off: its ~48 custom metrics cost ≈ $14 a month per stage (docs/deploy.md); the one alarm
      // that used it watches the load balancer's free HealthyHostCount (lib/constructs/monitoring.ts).
      containerInsightsV2: ecs.ContainerInsights.DISABLED,
    });
    acknowledge(
      this.cluster,
      'AwsSolutions-ECS4',
      'Container Insights is off for cost (≈ $14 a month per stage, more than the rest of the monitoring): task health is alarmed from the load balancer target group (HealthyHostCount, free), CPU and memory from the free AWS/ECS service metrics, sessions from the gateway’s own metric.',
    );

    // Sized with MAX_SESSIONS from the measured capacity (core/audio/capacity.ts).
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: GATEWAY_TASK.cpu,
      memoryLimitMiB: GATEWAY_TASK.memoryMiB,
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
      // ECS ignores the Dockerfile's HEALTHCHECK; this one restarts a wedged task.
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${CONTAINER_PORT}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      environment: {
        AWS_REGION: stack.region,
        PORT: String(CONTAINER_PORT),
        [TABLES.meetings.envVar]: props.meetingsTable.tableName,
        [QUEUES.transcriptEvents.envVar]: props.transcriptQueue.queueUrl,
        [BUCKETS.media.envVar]: props.mediaBucket.bucketName,
        MAX_SESSIONS: String(props.maxSessions),
        // Audio on the wire to Deepgram: Ogg Opus (CELT), about a ninth of the PCM's internet egress
        // (docs/benchmarks.md "Audio to Deepgram: encoding"); MAX_SESSIONS counts its CPU.
        DEEPGRAM_ENCODING: DEFAULT_SPEECH_ENCODING,
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
      // Egress without a NAT gateway; the security group admits the load balancer only.
      assignPublicIp: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      healthCheckGracePeriod: Duration.seconds(60),
    });

    // Task scale-in protection through the ECS agent endpoint: the agent calls the ECS API with
    // the task role's credentials, so the role needs these actions on this cluster's tasks.
    const protection = iam.Grant.addToPrincipal({
      grantee: taskRole,
      actions: ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection'],
      resourceArns: [
        stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*` }),
      ],
    });
    acknowledgeGrantWildcards(
      this.taskDefinition,
      protection,
      'A task protects itself from scale-in while it holds meetings; task ids are assigned at run time, the grant is limited to this cluster.',
    );

    const internetFacing = props.domain !== undefined;
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing,
      vpcSubnets: { subnetType: internetFacing ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_ISOLATED },
      // The maximum: an idle Recall socket (between audio packets) must never be cut mid-meeting.
      idleTimeout: Duration.seconds(4000),
      dropInvalidHeaderFields: true,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
    });
    // No request logs: Recall connects to the URL exactly as given, so the per-meeting endpoint
    // token is in every request line (?token=…), and a load balancer (or CloudFront) request
    // log cannot leave out the query string. The gateway logs every upgrade and its outcome
    // by meeting id, never the token (docs/operations.md).
    acknowledge(
      this.loadBalancer,
      'AwsSolutions-ELB2',
      "Access logs are off on purpose: every Recall request line carries the meeting's endpoint token in its query string and a request log cannot drop it; the gateway logs each upgrade by meeting id instead.",
    );

    let listener: elbv2.ApplicationListener;
    if (props.domain) {
      acknowledge(
        this.loadBalancer,
        'AwsSolutions-EC23',
        'Recall.ai bots connect from the internet (no fixed source range); each connection is authorized by its per-meeting endpoint token at upgrade.',
      );
      listener = this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(props.domain.certificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        open: true,
      });
    } else {
      listener = this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
      });
      // CloudFront's VPC origin reaches the load balancer through network interfaces in this
      // VPC; nothing outside the VPC has a route to these isolated subnets.
      this.loadBalancer.connections.allowFrom(
        ec2.Peer.ipv4(VPC_CIDR),
        ec2.Port.tcp(80),
        'CloudFront VPC origin (inside this VPC)',
      );
    }

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
      deregistrationDelay: Duration.seconds(DEREGISTRATION_DELAY_SECONDS),
    });

    if (!props.domain) {
      this.distribution = new cloudfront.Distribution(this, 'Distribution', {
        comment: `Parley ${props.stageName} audio gateway (wss:// for Recall.ai bots)`,
        defaultBehavior: {
          origin: origins.VpcOrigin.withApplicationLoadBalancer(this.loadBalancer, {
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
            httpPort: 80,
          }),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          // The WebSocket handshake headers and the ?token= query string reach the gateway.
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER,
        },
        httpVersion: cloudfront.HttpVersion.HTTP1_1,
      });
      acknowledgeDistribution(this.distribution, 'the audio gateway');
      acknowledge(
        this.distribution,
        'AwsSolutions-CFR3',
        "No request logs, as on the load balancer: every Recall request carries the meeting's endpoint token in its query string.",
      );
    }

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
      targetValue: Math.max(1, Math.floor(props.maxSessions * SESSIONS_TARGET_SHARE)),
      scaleOutCooldown: Duration.seconds(60),
      // Scaling in ends sessions (Recall reconnects elsewhere): do it rarely.
      scaleInCooldown: Duration.minutes(15),
    });

    this.publicUrl = props.domain
      ? `wss://${props.domain.domainName}`
      : `wss://${this.distribution?.distributionDomainName}`;
    this.recallEndpointBaseUrl = `${this.publicUrl}/recall`;
  }
}

/** The cdk-nag findings every Parley CloudFront distribution acknowledges, with the reasons. */
export function acknowledgeDistribution(distribution: cloudfront.Distribution, what: string): void {
  acknowledge(
    distribution,
    'AwsSolutions-CFR1',
    `Users and Recall.ai bots connect from anywhere; ${what} restricts access by token, not by country.`,
  );
  acknowledge(
    distribution,
    'AwsSolutions-CFR2',
    `No AWS WAF web ACL by default (a fixed monthly cost per stage); ${what} authenticates every request. Attach a web ACL for rate limiting if needed.`,
  );
  acknowledge(
    distribution,
    'AwsSolutions-CFR4',
    'The distribution uses the default *.cloudfront.net certificate (no domain needed), whose minimum viewer TLS version CloudFront fixes; deploy with a custom domain to choose TLSv1.2_2021.',
  );
}
