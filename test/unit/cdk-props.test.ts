/**
 * bin/parley.ts settings: where each comes from (context before environment), the defaults,
 * and a clear error naming the input for every bad value. No synthesis here.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { readParleyInputs, resolveParleySettings } from '../../lib/parley-props';

const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/0f2a1b3c-1111-2222-3333-444455556666';

describe('Parley settings', () => {
  it('defaults to a dev stage in us-east-1 that destroys its data, with Cognito and 30-day logs', () => {
    // Prepare / Act
    const settings = resolveParleySettings({});
    // Assess
    expect(settings).toMatchObject({
      stageName: 'dev',
      region: 'us-east-1',
      removalPolicy: RemovalPolicy.DESTROY,
      logRetention: RetentionDays.ONE_MONTH,
      logLevel: 'INFO',
      tracing: false,
      auth: { kind: 'cognito' },
      recallBaseUrl: 'https://us-east-1.recall.ai',
      corsOrigins: [],
      audioGateway: { maxSessions: 25, minTasks: 1, maxTasks: 10 },
      recordingRetentionDays: 90,
      secretNames: {},
    });
    expect(settings.domain).toBeUndefined();
  });

  it('retains data and keeps logs a year in prod', () => {
    const settings = resolveParleySettings({ stage: 'prod' });
    expect(settings.removalPolicy).toBe(RemovalPolicy.RETAIN);
    expect(settings.logRetention).toBe(RetentionDays.ONE_YEAR);
  });

  it('reads the context first and the environment second', () => {
    const context: Record<string, unknown> = { stage: 'qa', tracing: true };
    const inputs = readParleyInputs((key) => context[key], {
      PARLEY_STAGE: 'ignored',
      PARLEY_LOG_LEVEL: 'debug',
      CDK_DEFAULT_REGION: 'eu-west-1',
    });
    expect(inputs).toEqual({ stage: 'qa', tracing: 'true', logLevel: 'debug', region: 'eu-west-1' });
    expect(resolveParleySettings(inputs)).toMatchObject({
      stageName: 'qa',
      tracing: true,
      logLevel: 'DEBUG',
    });
  });

  it('falls back to AWS_REGION when the CLI sets no default region', () => {
    expect(readParleyInputs(() => undefined, { AWS_REGION: 'ap-southeast-2' }).region).toBe('ap-southeast-2');
  });

  it('takes a domain with a certificate of the same region', () => {
    const settings = resolveParleySettings({
      region: 'eu-west-1',
      domainName: 'Audio.Example.com',
      certificateArn: CERT,
      realtimeDomainName: 'ws.example.com',
    });
    expect(settings.domain).toEqual({
      audioGateway: 'audio.example.com',
      certificateArn: CERT,
      realtime: 'ws.example.com',
      rest: undefined,
    });
  });

  it('trusts an existing OIDC issuer instead of creating a user pool', () => {
    const settings = resolveParleySettings({
      oidcIssuer: 'https://login.example.com/',
      oidcAudience: 'parley',
    });
    expect(settings.auth).toEqual({ kind: 'oidc', issuer: 'https://login.example.com', audience: 'parley' });
  });

  it.each([
    [{ stage: 'Prod' }, 'stage (context "stage" or PARLEY_STAGE): must be 1-20 lower-case letters'],
    [{ region: 'mars' }, 'region (context "region" or CDK_DEFAULT_REGION): must be an AWS region'],
    [
      { logRetentionDays: '10' },
      'logRetentionDays (context "logRetentionDays" or PARLEY_LOG_RETENTION_DAYS): must be one of',
    ],
    [{ logRetentionDays: 'forever' }, 'must be an integer'],
    [
      { logLevel: 'verbose' },
      'logLevel (context "logLevel" or PARLEY_LOG_LEVEL): must be DEBUG, INFO, WARN or ERROR',
    ],
    [{ tracing: 'yes' }, 'tracing (context "tracing" or PARLEY_TRACING): must be true or false'],
    [
      { domainName: 'audio.example.com' },
      'certificateArn (context "certificateArn" or PARLEY_CERTIFICATE_ARN): is required when a domain name is set',
    ],
    [
      { region: 'eu-west-1', certificateArn: CERT },
      'domainName (context "domainName" or PARLEY_DOMAIN_NAME): is required with a certificate',
    ],
    [{ certificateArn: CERT, domainName: 'a.example.com' }, "must be in the stack's region us-east-1"],
    [{ certificateArn: 'arn:aws:iam::1:x', domainName: 'a.example.com' }, 'must be an ACM certificate ARN'],
    [{ domainName: 'not a host' }, 'must be a host name'],
    [
      { oidcIssuer: 'https://login.example.com' },
      'oidcAudience (context "oidcAudience" or PARLEY_OIDC_AUDIENCE): is required together with oidcIssuer',
    ],
    [
      { oidcAudience: 'x' },
      'oidcIssuer (context "oidcIssuer" or PARLEY_OIDC_ISSUER): is required together with oidcAudience',
    ],
    [{ oidcIssuer: 'http://login.example.com', oidcAudience: 'x' }, 'must be an https:// URL'],
    [
      { recallBaseUrl: 'us-east-1.recall.ai' },
      'recallBaseUrl (context "recallBaseUrl" or PARLEY_RECALL_BASE_URL): must be an https:// URL',
    ],
    [{ corsOrigins: 'https://app.example.com/path' }, 'each origin must be * or scheme://host[:port]'],
    [
      { maxSessions: '0' },
      'maxSessions (context "maxSessions" or PARLEY_MAX_SESSIONS): must be an integer from 1 to 1000',
    ],
    [
      { gatewayMinTasks: '3', gatewayMaxTasks: '2' },
      'gatewayMaxTasks (context "gatewayMaxTasks" or PARLEY_GATEWAY_MAX_TASKS): must be at least gatewayMinTasks (3)',
    ],
    [{ deepgramSecretName: 'has space' }, 'must be a Secrets Manager secret name'],
    [
      { recordingRetentionDays: '0' },
      'recordingRetentionDays (context "recordingRetentionDays" or PARLEY_RECORDING_RETENTION_DAYS): must be an integer from 1 to 3650',
    ],
  ])('rejects %j naming the input', (inputs, message) => {
    expect(() => resolveParleySettings(inputs)).toThrow(message);
  });
});
