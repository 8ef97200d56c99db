/**
 * The deployment's settings: every input the CDK app accepts, where it comes from (CDK context
 * `-c key=value` first, then the environment variable), its default, and the checks that turn
 * it into typed `ParleyStackProps`. A bad value fails synthesis with a message naming the input.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { GATEWAY_TASK, gatewayMaxSessions } from '../core/audio/capacity';

export class ParleyPropsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParleyPropsError';
  }
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** The inputs, by context key. `env` is the environment variable read when the context key is absent. */
export const PARLEY_INPUTS = {
  stage: {
    env: 'PARLEY_STAGE',
    help: 'stage name, also the WebSocket stage (default dev; prod retains data)',
  },
  region: { env: 'CDK_DEFAULT_REGION', help: 'AWS region (default: the CLI profile region, else us-east-1)' },
  domainName: {
    env: 'PARLEY_DOMAIN_NAME',
    help: 'host name of the audio gateway (Recall connects to wss://<it>/recall)',
  },
  certificateArn: {
    env: 'PARLEY_CERTIFICATE_ARN',
    help: 'ACM certificate ARN (same region) covering the domain names',
  },
  realtimeDomainName: {
    env: 'PARLEY_REALTIME_DOMAIN_NAME',
    help: 'optional custom domain of the WebSocket API',
  },
  restDomainName: { env: 'PARLEY_REST_DOMAIN_NAME', help: 'optional custom domain of the REST API' },
  oidcIssuer: {
    env: 'PARLEY_OIDC_ISSUER',
    help: 'existing OIDC issuer URL to trust instead of creating a Cognito user pool',
  },
  oidcAudience: {
    env: 'PARLEY_OIDC_AUDIENCE',
    help: 'audience (client id) tokens of that issuer must carry',
  },
  logRetentionDays: {
    env: 'PARLEY_LOG_RETENTION_DAYS',
    help: 'CloudWatch log retention in days (default 30, prod 365)',
  },
  logLevel: { env: 'PARLEY_LOG_LEVEL', help: 'DEBUG, INFO, WARN or ERROR (default INFO)' },
  tracing: { env: 'PARLEY_TRACING', help: 'true to turn on X-Ray tracing of the Lambdas (default false)' },
  recallBaseUrl: {
    env: 'PARLEY_RECALL_BASE_URL',
    help: 'Recall.ai regional API base URL (default https://us-east-1.recall.ai)',
  },
  deepgramSecretName: {
    env: 'PARLEY_DEEPGRAM_SECRET_NAME',
    help: 'existing Secrets Manager secret holding the Deepgram API key',
  },
  recallSecretName: {
    env: 'PARLEY_RECALL_SECRET_NAME',
    help: 'existing secret holding the Recall.ai API key',
  },
  openaiSecretName: {
    env: 'PARLEY_OPENAI_SECRET_NAME',
    help: 'existing secret holding an OpenAI API key (turns OpenAI on)',
  },
  recallWebhookSecretName: {
    env: 'PARLEY_RECALL_WEBHOOK_SECRET_NAME',
    help: "existing secret holding Recall's webhook signing secret (whsec_...)",
  },
  corsOrigins: {
    env: 'PARLEY_CORS_ORIGINS',
    help: 'comma-separated origins allowed by the REST API and uploads besides the web app (default: the web app only)',
  },
  webAppDir: {
    env: 'PARLEY_WEB_APP_DIR',
    help: 'an already-built web app directory to deploy (default: npm run build:web at deploy)',
  },
  alarmEmail: {
    env: 'PARLEY_ALARM_EMAIL',
    help: 'e-mail address subscribed to the alarm topic (confirm the subscription mail)',
  },
  maxSessions: {
    env: 'PARLEY_MAX_SESSIONS',
    help: 'meetings one audio gateway task serves at most (default 50)',
  },
  gatewayMinTasks: { env: 'PARLEY_GATEWAY_MIN_TASKS', help: 'fewest audio gateway tasks (default 1)' },
  gatewayMaxTasks: { env: 'PARLEY_GATEWAY_MAX_TASKS', help: 'most audio gateway tasks (default 10)' },
  recordingRetentionDays: {
    env: 'PARLEY_RECORDING_RETENTION_DAYS',
    help: 'days meeting recordings are kept before S3 deletes them (default 90)',
  },
} as const;

export type ParleyInputKey = keyof typeof PARLEY_INPUTS;
export type ParleyInputs = Partial<Record<ParleyInputKey, string>>;

export type AuthSettings =
  | { readonly kind: 'cognito' }
  | { readonly kind: 'oidc'; readonly issuer: string; readonly audience: string };

export interface DomainSettings {
  /** Host name of the audio gateway's load balancer. */
  readonly audioGateway: string;
  readonly certificateArn: string;
  readonly realtime?: string;
  readonly rest?: string;
}

export interface ParleySettings {
  readonly stageName: string;
  readonly region: string;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: RetentionDays;
  readonly logLevel: LogLevel;
  readonly tracing: boolean;
  readonly domain?: DomainSettings;
  readonly auth: AuthSettings;
  readonly recallBaseUrl: string;
  /** Existing secrets to import by name; the stack creates the ones not named here. */
  readonly secretNames: {
    readonly deepgram?: string;
    readonly recall?: string;
    readonly openai?: string;
    readonly recallWebhook?: string;
  };
  /** Extra CORS origins (the web app's own origin is always allowed). */
  readonly corsOrigins: readonly string[];
  /** Days before the `recordings/` lifecycle rule deletes a recording. */
  readonly recordingRetentionDays: number;
  /** A built web app to deploy instead of running `npm run build:web` at deploy time. */
  readonly webAppDir?: string;
  /** Subscribed to the alarm topic when set. */
  readonly alarmEmail?: string;
  readonly audioGateway: {
    readonly maxSessions: number;
    readonly minTasks: number;
    readonly maxTasks: number;
  };
}

export const DEFAULT_RECALL_BASE_URL = 'https://us-east-1.recall.ai';
export const DEFAULT_REGION = 'us-east-1';

/** Reads each input from the context (`-c key=value`, cdk.json) and then from the environment. */
export function readParleyInputs(
  tryGetContext: (key: string) => unknown,
  env: Record<string, string | undefined>,
): ParleyInputs {
  const inputs: ParleyInputs = {};
  for (const [key, spec] of Object.entries(PARLEY_INPUTS) as [ParleyInputKey, { env: string }][]) {
    const fromContext = tryGetContext(key);
    const raw = fromContext !== undefined && fromContext !== null ? String(fromContext) : env[spec.env];
    if (raw !== undefined && raw.trim() !== '') inputs[key] = raw.trim();
  }
  if (inputs.region === undefined && env.AWS_REGION) inputs.region = env.AWS_REGION;
  return inputs;
}

function fail(key: ParleyInputKey, message: string): never {
  throw new ParleyPropsError(`${key} (context "${key}" or ${PARLEY_INPUTS[key].env}): ${message}`);
}

const RETENTION_VALUES = new Set(
  Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'),
);
const HOST_NAME = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

function integer(
  key: ParleyInputKey,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(key, `must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function httpsUrl(key: ParleyInputKey, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail(key, `must be an https:// URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:') fail(key, `must be an https:// URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

function hostName(key: ParleyInputKey, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const value = raw.toLowerCase();
  if (!HOST_NAME.test(value)) fail(key, `must be a host name such as audio.example.com, got "${raw}"`);
  return value;
}

function secretName(key: ParleyInputKey, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!SECRET_NAME.test(raw)) fail(key, `must be a Secrets Manager secret name, got "${raw}"`);
  return raw;
}

/** Turns raw inputs into validated settings; throws ParleyPropsError naming the bad input. */
export function resolveParleySettings(inputs: ParleyInputs): ParleySettings {
  const stageName = inputs.stage ?? 'dev';
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stageName)) {
    fail(
      'stage',
      `must be 1-20 lower-case letters, digits or hyphens starting with a letter, got "${stageName}"`,
    );
  }
  const prod = stageName === 'prod';

  const region = inputs.region ?? DEFAULT_REGION;
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
    fail('region', `must be an AWS region such as eu-west-1, got "${region}"`);

  const logRetention = integer('logRetentionDays', inputs.logRetentionDays, prod ? 365 : 30, 1, 9999);
  if (!RETENTION_VALUES.has(logRetention)) {
    fail('logRetentionDays', `must be one of ${[...RETENTION_VALUES].join(', ')}, got "${logRetention}"`);
  }

  const logLevel = (inputs.logLevel ?? 'INFO').toUpperCase();
  if (!['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) {
    fail('logLevel', `must be DEBUG, INFO, WARN or ERROR, got "${inputs.logLevel}"`);
  }

  const tracingRaw = (inputs.tracing ?? 'false').toLowerCase();
  if (tracingRaw !== 'true' && tracingRaw !== 'false')
    fail('tracing', `must be true or false, got "${inputs.tracing}"`);

  const audioGatewayHost = hostName('domainName', inputs.domainName);
  const realtimeHost = hostName('realtimeDomainName', inputs.realtimeDomainName);
  const restHost = hostName('restDomainName', inputs.restDomainName);
  const certificateArn = inputs.certificateArn;
  let domain: DomainSettings | undefined;
  if (certificateArn !== undefined) {
    const match = CERTIFICATE_ARN.exec(certificateArn);
    if (!match) fail('certificateArn', `must be an ACM certificate ARN, got "${certificateArn}"`);
    if (match[1] !== region) {
      fail(
        'certificateArn',
        `must be in the stack's region ${region} (the load balancer and API domains are regional), got ${match[1]}`,
      );
    }
    if (audioGatewayHost === undefined)
      fail('domainName', 'is required with a certificate: it is the name the certificate must cover');
    domain = { audioGateway: audioGatewayHost, certificateArn, realtime: realtimeHost, rest: restHost };
  } else if (audioGatewayHost !== undefined || realtimeHost !== undefined || restHost !== undefined) {
    fail('certificateArn', 'is required when a domain name is set');
  }

  let auth: AuthSettings = { kind: 'cognito' };
  if (inputs.oidcIssuer !== undefined || inputs.oidcAudience !== undefined) {
    if (inputs.oidcIssuer === undefined) fail('oidcIssuer', 'is required together with oidcAudience');
    if (inputs.oidcAudience === undefined) fail('oidcAudience', 'is required together with oidcIssuer');
    auth = { kind: 'oidc', issuer: httpsUrl('oidcIssuer', inputs.oidcIssuer), audience: inputs.oidcAudience };
  }

  const recallBaseUrl = httpsUrl('recallBaseUrl', inputs.recallBaseUrl ?? DEFAULT_RECALL_BASE_URL);

  const corsOrigins = (inputs.corsOrigins ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      fail('corsOrigins', `each origin must be * or scheme://host[:port] without a path, got "${origin}"`);
    }
  }

  const alarmEmail = inputs.alarmEmail;
  if (alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) {
    fail('alarmEmail', `must be an e-mail address, got "${alarmEmail}"`);
  }

  const maxSessions = integer(
    'maxSessions',
    inputs.maxSessions,
    gatewayMaxSessions(GATEWAY_TASK.cpu / 1024),
    1,
    1000,
  );
  const minTasks = integer('gatewayMinTasks', inputs.gatewayMinTasks, 1, 1, 100);
  const maxTasks = integer('gatewayMaxTasks', inputs.gatewayMaxTasks, 10, 1, 100);
  if (maxTasks < minTasks)
    fail('gatewayMaxTasks', `must be at least gatewayMinTasks (${minTasks}), got ${maxTasks}`);

  return {
    stageName,
    region,
    removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    logRetention: logRetention as RetentionDays,
    logLevel: logLevel as LogLevel,
    tracing: tracingRaw === 'true',
    domain,
    auth,
    recallBaseUrl,
    secretNames: {
      deepgram: secretName('deepgramSecretName', inputs.deepgramSecretName),
      recall: secretName('recallSecretName', inputs.recallSecretName),
      openai: secretName('openaiSecretName', inputs.openaiSecretName),
      recallWebhook: secretName('recallWebhookSecretName', inputs.recallWebhookSecretName),
    },
    corsOrigins,
    webAppDir: inputs.webAppDir,
    alarmEmail,
    recordingRetentionDays: integer('recordingRetentionDays', inputs.recordingRetentionDays, 90, 1, 3650),
    audioGateway: { maxSessions, minTasks, maxTasks },
  };
}
