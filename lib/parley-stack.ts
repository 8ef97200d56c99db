/**
 * ParleyStack: one construct per concern (storage, pipeline, secrets, auth, realtime API,
 * fan-out, REST API, audio gateway), wired through the few resources each exposes. No physical
 * names are fixed, so several stages can live in one account.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ApiSecrets } from './constructs/api-secrets';
import { AudioGateway } from './constructs/audio-gateway';
import { Auth } from './constructs/auth';
import { TranscriptFanout } from './constructs/fanout';
import { FileJobs } from './constructs/file-jobs';
import type { FunctionDefaults, ParleyFunction } from './constructs/parley-function';
import { Pipeline } from './constructs/pipeline';
import { RealtimeApi } from './constructs/realtime-api';
import { RestApi } from './constructs/rest-api';
import { Storage } from './constructs/storage';
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
    });

    this.audioGateway = new AudioGateway(this, 'AudioGateway', {
      stageName: s.stageName,
      removalPolicy: s.removalPolicy,
      logRetention: s.logRetention,
      logLevel: s.logLevel,
      meetingsTable: tables.meetings,
      transcriptQueue: this.pipeline.transcriptQueue,
      mediaBucket: this.storage.mediaBucket,
      logBucket: this.storage.logBucket,
      deepgramApiKey: this.secrets.deepgram,
      domain: s.domain
        ? { domainName: s.domain.audioGateway, certificateArn: s.domain.certificateArn }
        : undefined,
      maxSessions: s.audioGateway.maxSessions,
      minTasks: s.audioGateway.minTasks,
      maxTasks: s.audioGateway.maxTasks,
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

    this.addOutputs();
  }

  private addOutputs(): void {
    const out = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    out('RealtimeUrl', this.realtime.url, 'WebSocket URL clients connect to (append ?token=<JWT>)');
    out('RestApiUrl', this.rest.url, 'REST API base URL');
    out(
      'RecallEndpointBaseUrl',
      this.audioGateway.recallEndpointBaseUrl,
      'Base of the realtime endpoint Recall bots stream to: <base>/<meetingId>?token=<endpoint token>',
    );
    out(
      'AudioGatewayLoadBalancerDns',
      this.audioGateway.loadBalancer.loadBalancerDnsName,
      'Point the audio gateway domain (CNAME or alias) here',
    );
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
