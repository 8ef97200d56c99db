/**
 * A production-like stack, synthesized once: certificate and custom domains (wss:// Recall
 * endpoint, HTTPS listener), an existing OIDC issuer instead of Cognito, X-Ray tracing,
 * secrets imported by name, data retained. cdk-nag must stay clean in this shape too.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ParleyFunction } from '../../lib/constructs/parley-function';
import { buildParleyApp } from '../../lib/parley-app';
import type { ParleyStack } from '../../lib/parley-stack';

jest.setTimeout(120_000);

type Json = Record<string, unknown>;
const ROOT = path.resolve(__dirname, '..', '..');
const CDK_CONTEXT = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context as Json;
const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/0f2a1b3c-1111-2222-3333-444455556666';

let stack: ParleyStack;
let template: Template;

function environment(construct: { node: { defaultChild?: unknown } }): Json {
  const id = stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const fn = template.toJSON().Resources[id] as { Properties: { Environment: { Variables: Json } } };
  return fn.Properties.Environment.Variables;
}

beforeAll(() => {
  const app = new App({
    context: {
      ...CDK_CONTEXT,
      'aws:cdk:bundling-stacks': [],
      stage: 'prod',
      region: 'eu-west-1',
      domainName: 'audio.example.com',
      certificateArn: CERT,
      realtimeDomainName: 'ws.example.com',
      restDomainName: 'api.example.com',
      oidcIssuer: 'https://login.example.com',
      oidcAudience: 'parley-web',
      tracing: 'true',
      deepgramSecretName: 'shared/deepgram',
      recallSecretName: 'shared/recall',
      openaiSecretName: 'shared/openai',
      recallBaseUrl: 'https://eu-central-1.recall.ai',
      corsOrigins: 'https://app.example.com',
      recordingRetentionDays: '30',
    },
  });
  stack = buildParleyApp(app, {}, { nag: false }).stack;
  template = Template.fromStack(stack);
});

describe('a production-like stack', () => {
  it('deletes recordings after recordingRetentionDays and gives the audio gateway the token issuer', () => {
    const bucket = Object.values(template.findResources('AWS::S3::Bucket')).find((b) =>
      JSON.stringify(b).includes('expire-recordings'),
    ) as { Properties: { LifecycleConfiguration: { Rules: Json[] } } };
    expect(bucket.Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ Id: 'expire-recordings', Prefix: 'recordings/', ExpirationInDays: 30 }),
    );
    const task = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0] as {
      Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] };
    };
    const env = Object.fromEntries(
      (task.Properties.ContainerDefinitions[0]?.Environment ?? []).map((e) => [e.Name, e.Value]),
    );
    expect(env).toMatchObject({ OIDC_ISSUER: 'https://login.example.com', OIDC_AUDIENCE: 'parley-web' });
  });

  it('is named after its stage and deployed to the given region', () => {
    expect(stack.stackName).toBe('Parley-prod');
    expect(stack.region).toBe('eu-west-1');
  });

  it('terminates wss:// on an HTTPS listener with the certificate and no plain listener', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: CERT }],
    });
    template.hasOutput('RecallEndpointBaseUrl', { Value: 'wss://audio.example.com/recall' });
  });

  it('maps the custom API domains and publishes their URLs and DNS targets', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::DomainName', 2);
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'ws.example.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: CERT })],
    });
    template.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 2);
    template.hasOutput('RealtimeUrl', { Value: 'wss://ws.example.com' });
    template.hasOutput('RestApiUrl', { Value: 'https://api.example.com/' });
    template.hasOutput('RealtimeDomainTarget', {});
    template.hasOutput('RestDomainTarget', {});
  });

  it('trusts the given issuer: no user pool, the authorizer reads it', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    expect(environment(stack.realtime.authorizerFunction.function)).toMatchObject({
      OIDC_ISSUER: 'https://login.example.com',
      OIDC_AUDIENCE: 'parley-web',
    });
    expect(template.findOutputs('UserPoolId')).toEqual({});
  });

  it('imports the named secrets and creates only the missing one', () => {
    // The Recall webhook signing secret; Deepgram, Recall and OpenAI are imported.
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    expect(environment(stack.restFunctions['http-ask']!.function)).toMatchObject({
      OPENAI_API_KEY_SECRET_ARN: 'shared/openai',
      RECALL_API_KEY_SECRET_ARN: 'shared/recall',
    });
    expect(environment(stack.realtime.routeFunctions.command.function)).toMatchObject({
      RECALL_API_KEY_SECRET_ARN: 'shared/recall',
      RECALL_BASE_URL: 'https://eu-central-1.recall.ai',
    });
    const [task] = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as {
      Properties: { ContainerDefinitions: Json[] };
    }[];
    expect(task?.Properties.ContainerDefinitions[0]?.Secrets).toEqual([
      {
        Name: 'DEEPGRAM_API_KEY',
        ValueFrom: {
          'Fn::Join': [
            '',
            ['arn:aws:secretsmanager:eu-west-1:', { Ref: 'AWS::AccountId' }, ':secret:shared/deepgram'],
          ],
        },
      },
    ]);
  });

  it('traces every Lambda with X-Ray', () => {
    const parley = stack.node.findAll().filter((c): c is ParleyFunction => c instanceof ParleyFunction);
    expect(parley.length).toBeGreaterThan(20);
    for (const f of parley) {
      const props =
        template.toJSON().Resources[stack.getLogicalId(f.function.node.defaultChild as CfnElement)]
          .Properties;
      expect(props.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('retains data, protects tables and the load balancer from deletion', () => {
    for (const table of Object.values(template.findResources('AWS::DynamoDB::Table')) as {
      DeletionPolicy: string;
      Properties: Json;
    }[]) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
    }
    for (const type of ['AWS::S3::Bucket', 'AWS::SQS::Queue', 'AWS::Logs::LogGroup']) {
      for (const resource of Object.values(template.findResources(type)) as { DeletionPolicy: string }[]) {
        expect(resource.DeletionPolicy).toBe('Retain');
      }
    }
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'deletion_protection.enabled', Value: 'true' }]),
    });
    // No custom resource empties retained buckets.
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('allows uploads and REST calls from the configured origin and the web app only', () => {
    const webOrigin = stack.resolve(stack.webApp.origin);
    template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({ AllowedOrigins: ['https://app.example.com'] }),
          Match.objectLike({ AllowedOrigins: [webOrigin] }),
        ],
      },
    });
    const cors = Object.values(template.findResources('Custom::AWS')).map((r) =>
      JSON.stringify((r as { Properties: Json }).Properties.Create),
    );
    expect(cors.some((c) => c.includes('https://app.example.com') && c.includes('UpdateApi'))).toBe(true);
  });

  it('publishes the DNS targets docs/deploy.md tells the operator to point the domains at', () => {
    for (const name of ['AudioGatewayLoadBalancerDns', 'RealtimeDomainTarget', 'RestDomainTarget']) {
      template.hasOutput(name, {});
    }
    // With a domain, Recall connects to the load balancer directly: no CloudFront in front.
    expect(stack.audioGateway.distribution).toBeUndefined();
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
    });
  });

  it('leaves no cdk-nag AwsSolutions finding unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(
      report.violations.map(
        (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });
});
