/**
 * The web app (web/, built with Vite) on AWS: a private S3 bucket behind CloudFront (origin
 * access control, HTTPS only) with a response-headers policy whose Content-Security-Policy
 * names exactly the origins the app talks to (the realtime wss:// API, the REST API, the OIDC
 * issuer and its sign-in domain). The build is deployed with the stack, and `config.json`
 * (core/web/config.ts) is written at deploy time next to it, so one build serves every stage.
 *
 * Where the build comes from (`source`):
 * - `{ kind: 'directory', path }`: an already-built directory (CI, or `-c webAppDir=dist/web`);
 * - `{ kind: 'build' }`: `npm run build:web -- --outDir <asset dir>` on the deploying machine
 *   (local bundling, no Docker). Bundling runs only for the stacks being synthesized for
 *   deploy; tests set the context `aws:cdk:bundling-stacks` to `[]` and never run Vite.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct, type IConstruct } from 'constructs';
import { WEB_CALLBACK_PATH, type WebConfig } from '../../core/web/config';
import { acknowledge, acknowledgeDocumentWildcards } from '../nag';
import { acknowledgeDistribution } from './audio-gateway';
import { REPO_ROOT } from './parley-function';

export type WebAppSource = { readonly kind: 'directory'; readonly path: string } | { readonly kind: 'build' };

export interface WebAppProps {
  readonly stageName: string;
  readonly removalPolicy: RemovalPolicy;
  /** Where the S3 server access logs of the site bucket go. */
  readonly logBucket: IBucket;
  readonly source: WebAppSource;
  /**
   * `config.json` except the stage, given the web app's origin (deploy-time values are fine:
   * the file is written at deploy).
   */
  readonly config: (origin: string) => Omit<WebConfig, 'stage' | 'recordings'>;
  /**
   * Every origin the browser connects to (fetch, WebSocket): CSP `connect-src` lists exactly
   * these besides 'self'. Scheme and host only, e.g. `wss://abc.execute-api.eu-west-1.amazonaws.com`.
   */
  readonly connectOrigins: readonly string[];
  /** Origins media may play from (CSP `media-src`, besides 'self'): the recordings' bucket. */
  readonly mediaOrigins?: readonly string[];
}

/** Files that must never be cached long: they name the current build's hashed assets. */
const ENTRY_FILES = ['index.html', 'config.json'];

/** The Content-Security-Policy of the web app, with `connect-src` limited to `origins`. */
export function webContentSecurityPolicy(
  connectOrigins: readonly string[],
  mediaOrigins: readonly string[] = [],
): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "manifest-src 'self'",
    `connect-src 'self' ${connectOrigins.join(' ')}`,
    `media-src 'self'${mediaOrigins.map((o) => ` ${o}`).join('')}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

export class WebApp extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  /** `https://<distribution domain>`: the page users open, and the REST API's one CORS origin. */
  readonly origin: string;
  /** `<origin>/callback`: the OIDC redirect URI. */
  readonly callbackUrl: string;
  readonly deployment: s3deploy.BucketDeployment;
  /** What `config.json` holds (deploy-time values as tokens). */
  readonly config: WebConfig;

  constructor(scope: Construct, id: string, props: WebAppProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'SiteBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.logBucket,
      serverAccessLogsPrefix: 'web-bucket/',
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: props.removalPolicy !== RemovalPolicy.RETAIN,
    });

    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: `Parley ${props.stageName} web app security headers`,
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: webContentSecurityPolicy(props.connectOrigins, props.mediaOrigins),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Parley ${props.stageName} web app`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      // Client-side routes (/meetings/…, /callback) are served by index.html. S3 answers 403
      // for a missing key when CloudFront may not list the bucket.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.seconds(0),
      })),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    });
    acknowledgeDistribution(this.distribution, 'the web app');
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR3',
      'The distribution serves the same static files to everyone; the site bucket has S3 server access logs and every API call is logged by API Gateway.',
    );

    this.origin = `https://${this.distribution.distributionDomainName}`;
    this.callbackUrl = `${this.origin}${WEB_CALLBACK_PATH}`;

    const site = webAppSource(props.source);
    // Hashed assets first, cached for a year; old ones stay (prune off) so a page loaded
    // before a deploy can still fetch its chunks.
    const assets = new s3deploy.BucketDeployment(this, 'DeployAssets', {
      destinationBucket: this.bucket,
      sources: [site],
      exclude: ENTRY_FILES,
      prune: false,
      cacheControl: [
        s3deploy.CacheControl.setPublic(),
        s3deploy.CacheControl.maxAge(Duration.days(365)),
        s3deploy.CacheControl.immutable(),
      ],
      memoryLimit: 512,
    });
    const config: WebConfig = { stage: props.stageName, ...props.config(this.origin) };
    this.config = config;
    this.deployment = new s3deploy.BucketDeployment(this, 'DeployEntry', {
      destinationBucket: this.bucket,
      sources: [site, s3deploy.Source.jsonData('config.json', config)],
      exclude: ['*'],
      include: ENTRY_FILES,
      prune: false,
      cacheControl: [s3deploy.CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: ENTRY_FILES.map((file) => `/${file}`),
      memoryLimit: 512,
    });
    this.deployment.node.addDependency(assets);
    acknowledgeBucketDeployment(this);
  }
}

/** The built web app as a deployment source (see the file comment). */
export function webAppSource(source: WebAppSource): s3deploy.ISource {
  if (source.kind === 'directory') return s3deploy.Source.asset(source.path);
  return s3deploy.Source.asset(REPO_ROOT, {
    // The hash of what Vite produced: an unchanged build uploads nothing.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type; never pulled: local bundling either builds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-bookworm-slim'),
      local: {
        tryBundle(outputDir: string): boolean {
          const scripts =
            JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).scripts ?? {};
          if (typeof scripts['build:web'] !== 'string') {
            throw new Error(
              'WebApp: package.json has no "build:web" script; build the web app yourself and deploy with -c webAppDir=<dir>',
            );
          }
          execFileSync('npm', ['run', 'build:web', '--', '--outDir', outputDir], {
            cwd: REPO_ROOT,
            stdio: ['ignore', 'inherit', 'inherit'],
          });
          return true;
        },
      },
    },
  });
}

/**
 * BucketDeployment runs one stack-wide singleton Lambda (aws-cdk-lib's, with the AWS CLI layer)
 * whose role and runtime cdk-nag flags; the reasons are the same wherever it is used.
 */
function acknowledgeBucketDeployment(scope: IConstruct): void {
  const stack = Stack.of(scope);
  const singleton = stack.node
    .findAll()
    .find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment') && c.node.scope === stack);
  if (!singleton) return;
  acknowledge(
    singleton,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "aws-cdk-lib's BucketDeployment handler role; it only writes its own CloudWatch Logs through this managed policy.",
  );
  const policy = singleton.node.tryFindChild('ServiceRole')?.node.tryFindChild('DefaultPolicy') as
    | iam.Policy
    | undefined;
  if (policy) {
    acknowledgeDocumentWildcards(
      singleton,
      policy.document,
      "aws-cdk-lib's BucketDeployment handler copies the build from the CDK asset bucket into the site bucket and invalidates the distribution: object wildcards on those two buckets, and cloudfront:CreateInvalidation, which has no resource-level scoping here.",
    );
  }
  acknowledge(
    singleton,
    'AwsSolutions-L1',
    "The runtime of aws-cdk-lib's BucketDeployment handler is chosen by aws-cdk-lib (it runs the AWS CLI layer); it is upgraded with aws-cdk-lib.",
  );
}
