/**
 * ParleyStack: one construct per concern (storage, pipeline, secrets, auth, realtime API,
 * fan-out, REST API, audio gateway), wired through the few resources each exposes. No physical
 * names are fixed, so several stages can live in one account.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Construct } from 'constructs';
import { WEB_CALLBACK_PATH } from '../core/web/config';
import { ApiSecrets } from './constructs/api-secrets';
import { AudioGateway } from './constructs/audio-gateway';
import { Auth } from './constructs/auth';
import { TranscriptFanout } from './constructs/fanout';
import { FileJobs } from './constructs/file-jobs';
import { Monitoring } from './constructs/monitoring';
import type { FunctionDefaults, ParleyFunction } from './constructs/parley-function';
import { Pipeline } from './constructs/pipeline';
import { RealtimeApi } from './constructs/realtime-api';
import { RestApi } from './constructs/rest-api';
import { Storage, uploadCorsRule } from './constructs/storage';
import { StuckMeetingSweeper } from './constructs/sweeper';
import { WebApp } from './constructs/web-app';
import type { ParleySettings } from './parley-props';
import { addRestRoutes } from './rest-routes';

export interface ParleyStackProps extends StackProps {
  readonly settings: ParleySettings;
}

export class ParleyStack extends Stack {
  readonly settings: ParleySettings;
  readonly storage: Storage;
  readonly pipeline: Pipeline;
  readonly secrets: ApiSecrets;
  readonly auth: Auth;
  readonly realtime: RealtimeApi;
  readonly fanout: TranscriptFanout;
  readonly rest: RestApi;
  /** REST functions by Lambda name (lambdas/http-*). */
  readonly restFunctions: Readonly<Record<string, ParleyFunction>>;
  readonly audioGateway: AudioGateway;
  readonly webApp: WebApp;
  readonly sweeper: StuckMeetingSweeper;
  readonly monitoring: Monitoring;
  readonly fileJobs: FileJobs;

  constructor(scope: Construct, id: string, props: ParleyStackProps) {
    super(scope, id, {
      description: `Parley meeting intelligence, stage ${props.settings.stageName}`,
      ...props,
    });
    const s = props.settings;
    this.settings = s;
    const defaults: FunctionDefaults = {
      stageName: s.stageName,
      logRetention: s.logRetention,
      removalPolicy: s.removalPolicy,
      logLevel: s.logLevel,
      tracing: s.tracing,
    };

    this.storage = new Storage(this, 'Storage', {
      removalPolicy: s.removalPolicy,
      corsOrigins: s.corsOrigins,
      recordingRetentionDays: s.recordingRetentionDays,
    });
    const { tables } = this.storage;
    this.pipeline = new Pipeline(this, 'Pipeline', { removalPolicy: s.removalPolicy });
    this.secrets = new ApiSecrets(this, 'Secrets', {
      stageName: s.stageName,
      removalPolicy: s.removalPolicy,
      existingNames: s.secretNames,
    });
    this.auth = new Auth(this, 'Auth', {
      settings: s.auth,
      stageName: s.stageName,
      removalPolicy: s.removalPolicy,
    });

    this.realtime = new RealtimeApi(this, 'Realtime', {
      defaults,
      tables,
      transcriptQueue: this.pipeline.transcriptQueue,
      issuer: this.auth.issuer,
      audience: this.auth.audience,
      recallApiKey: this.secrets.recall,
      recallBaseUrl: s.recallBaseUrl,
      domain:
        s.domain?.realtime !== undefined
          ? { domainName: s.domain.realtime, certificateArn: s.domain.certificateArn }
          : undefined,
    });
    this.fanout = new TranscriptFanout(this, 'Fanout', {
      defaults,
      tables,
      transcriptQueue: this.pipeline.transcriptQueue,
      deadLetterQueue: this.pipeline.deadLetterQueue,
      stage: this.realtime.stage,
      openaiApiKey: this.secrets.openai,
      removalPolicy: s.removalPolicy,
    });

    this.audioGateway = new AudioGateway(this, 'AudioGateway', {
      stageName: s.stageName,
      removalPolicy: s.removalPolicy,
      logRetention: s.logRetention,
      logLevel: s.logLevel,
      meetingsTable: tables.meetings,
      transcriptQueue: this.pipeline.transcriptQueue,
      mediaBucket: this.storage.mediaBucket,
      deepgramApiKey: this.secrets.deepgram,
      domain: s.domain
        ? { domainName: s.domain.audioGateway, certificateArn: s.domain.certificateArn }
        : undefined,
      maxSessions: s.audioGateway.maxSessions,
      minTasks: s.audioGateway.minTasks,
      maxTasks: s.audioGateway.maxTasks,
      // Browser microphones authenticate with the users' tokens.
      auth: { issuer: this.auth.issuer, audience: this.auth.audience },
    });

    this.rest = new RestApi(this, 'Rest', {
      defaults,
      issuer: this.auth.issuer,
      audience: this.auth.audience,
      corsOrigins: s.corsOrigins,
      domain:
        s.domain?.rest !== undefined
          ? { domainName: s.domain.rest, certificateArn: s.domain.certificateArn }
          : undefined,
    });
    this.restFunctions = addRestRoutes(this.rest, {
      tables,
      transcriptQueue: this.pipeline.transcriptQueue,
      secrets: this.secrets,
      recallBaseUrl: s.recallBaseUrl,
      audioGatewayUrl: this.audioGateway.publicUrl,
      mediaBucket: this.storage.mediaBucket,
    });

    this.webApp = this.addWebApp(s);
    this.sweeper = new StuckMeetingSweeper(this, 'Sweeper', {
      defaults,
      meetingsTable: tables.meetings,
      transcriptQueue: this.pipeline.transcriptQueue,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stageName: s.stageName,
      alarmEmail: s.alarmEmail,
      fanout: this.fanout.function.function,
      sweeper: this.sweeper.function.function,
      transcriptQueue: this.pipeline.transcriptQueue,
      transcriptDlq: this.pipeline.deadLetterQueue,
      sweeperDlq: this.sweeper.deadLetterQueue,
      loadBalancer: this.audioGateway.loadBalancer,
      targetGroup: this.audioGateway.targetGroup,
      service: this.audioGateway.service,
      minTasks: s.audioGateway.minTasks,
      maxSessions: s.audioGateway.maxSessions,
      realtimeApi: this.realtime.api,
      realtimeStage: this.realtime.stage,
      restApi: this.rest.api,
    });
    this.fileJobs = new FileJobs(this, 'FileJobs', {
      stageName: s.stageName,
      removalPolicy: s.removalPolicy,
      logRetention: s.logRetention,
      logLevel: s.logLevel,
      tables,
      transcriptQueue: this.pipeline.transcriptQueue,
      mediaBucket: this.storage.mediaBucket,
      deepgramApiKey: this.secrets.deepgram,
      cluster: this.audioGateway.cluster,
      rest: this.rest,
    });
    // The jobs DLQ pages like the others (runbook: docs/operations.md#filejobdeadletters).
    this.fileJobs.deadLetterAlarm.addAlarmAction(new SnsAction(this.monitoring.topic));
    this.fileJobs.deadLetterAlarm.addOkAction(new SnsAction(this.monitoring.topic));
    // So does the fan-out shards' DLQ (runbook: docs/operations.md#fanoutsharddeadletters).
    this.fanout.shardDeadLetterAlarm.addAlarmAction(new SnsAction(this.monitoring.topic));
    this.fanout.shardDeadLetterAlarm.addOkAction(new SnsAction(this.monitoring.topic));

    this.addOutputs();
  }

  /** The web app: site, CSP naming exactly the APIs and the issuer, sign-in, CORS, uploads. */
  private addWebApp(s: ParleySettings): WebApp {
    const apiHost = (apiId: string) => `${apiId}.execute-api.${this.region}.${this.urlSuffix}`;
    const realtimeOrigin = `wss://${s.domain?.realtime ?? apiHost(this.realtime.api.apiId)}`;
    // The REST stage is `$default`: its base URL is the origin itself.
    const restOrigin = `https://${s.domain?.rest ?? apiHost(this.rest.api.apiId)}`;
    const issuerOrigin =
      s.auth.kind === 'oidc'
        ? new URL(s.auth.issuer).origin
        : `https://cognito-idp.${this.region}.${this.urlSuffix}`;
    const signIn = this.auth.signInOrigin;
    const webApp = new WebApp(this, 'WebApp', {
      stageName: s.stageName,
      removalPolicy: s.removalPolicy,
      logBucket: this.storage.logBucket,
      source: s.webAppDir ? { kind: 'directory', path: s.webAppDir } : { kind: 'build' },
      // The audio gateway takes browser microphones (wss); recordings play from the media bucket, and
      // the upload page PUTs files to presigned URLs (virtual-hosted style, the SDK's default).
      connectOrigins: [
        realtimeOrigin,
        restOrigin,
        issuerOrigin,
        ...(signIn ? [signIn] : []),
        this.audioGateway.publicUrl,
        // A wildcard, not the bucket's own name: the bucket's CORS rule names the web app's origin,
        // so naming the bucket here would make a dependency cycle.
        `https://*.s3.${this.region}.${this.urlSuffix}`,
      ],
      mediaOrigins: [`https://*.s3.${this.region}.${this.urlSuffix}`],
      config: (origin) => ({
        wsUrl: this.realtime.url,
        restUrl: restOrigin,
        oidc: {
          authority: this.auth.issuer,
          clientId: this.auth.audience,
          scope: this.auth.webScope,
          logoutUrl: this.auth.addWebApp(origin, WEB_CALLBACK_PATH),
        },
      }),
    });
    this.rest.allowOriginsAfterDeploy([webApp.origin]);
    this.storage.mediaBucket.addCorsRule(uploadCorsRule([webApp.origin]));
    return webApp;
  }

  private addOutputs(): void {
    const out = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    out('WebAppUrl', this.webApp.origin, 'Open this in a browser: the Parley web app');
    out('RealtimeUrl', this.realtime.url, 'WebSocket URL clients connect to (append ?token=<JWT>)');
    out('RestApiUrl', this.rest.url, 'REST API base URL');
    out(
      'RecallEndpointBaseUrl',
      this.audioGateway.recallEndpointBaseUrl,
      'Base of the realtime endpoint Recall bots stream to: <base>/<meetingId>?token=<endpoint token>',
    );
    if (this.settings.domain) {
      out(
        'AudioGatewayLoadBalancerDns',
        this.audioGateway.loadBalancer.loadBalancerDnsName,
        'Point the audio gateway domain (CNAME or alias) here',
      );
    }
    out(
      'AudioGatewayClusterName',
      this.audioGateway.cluster.clusterName,
      'ECS cluster of the audio gateway (for update-service --force-new-deployment)',
    );
    out('AudioGatewayServiceName', this.audioGateway.service.serviceName, 'ECS service of the audio gateway');
    out('OidcIssuer', this.auth.issuer, 'Issuer of the tokens Parley accepts');
    out('OidcAudience', this.auth.audience, 'Audience (app client id) the tokens must carry');
    if (this.auth.userPool && this.auth.userPoolClient) {
      out('UserPoolId', this.auth.userPool.userPoolId, 'Cognito user pool (create users here)');
      out('UserPoolClientId', this.auth.userPoolClient.userPoolClientId, 'Cognito app client id');
    }
    for (const { key, secret } of this.secrets.created) {
      out(
        `${key[0]?.toUpperCase()}${key.slice(1)}SecretArn`,
        secret.secretArn,
        `Put the ${key} API key into this secret`,
      );
    }
    out(
      'RecallWebhookUrl',
      `${this.rest.url}webhooks/recall`,
      'Point the Recall.ai workspace webhook (bot status) here',
    );
    out(
      'TranscriptDlqUrl',
      this.pipeline.deadLetterQueue.queueUrl,
      'Dead-letter queue of the transcript pipeline',
    );
    out('MediaBucketName', this.storage.mediaBucket.bucketName, 'Recordings and uploads');
    out(
      'AlarmTopicArn',
      this.monitoring.topic.topicArn,
      'Every alarm notifies this SNS topic: subscribe to it',
    );
    out(
      'DashboardUrl',
      `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/${this.monitoring.dashboard.dashboardName}`,
      'The CloudWatch dashboard with the golden signals',
    );
    if (this.realtime.domainName) {
      out(
        'RealtimeDomainTarget',
        this.realtime.domainName.regionalDomainName,
        'CNAME target of the realtime domain',
      );
    }
    if (this.rest.domainName) {
      out('RestDomainTarget', this.rest.domainName.regionalDomainName, 'CNAME target of the REST domain');
    }
  }
}
