/**
 * Parley's stored data: one DynamoDB table per definition in TABLES (keys, indexes and TTL from
 * core/resources.ts), the media bucket (lifecycle per BUCKETS.media prefix) and the log bucket
 * that receives S3 server access logs and the load balancer's access logs.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  type AttributeType,
  BUCKETS,
  type IndexDefinition,
  type KeyAttribute,
  TABLES,
  type TableKey,
} from '../../core/resources';
import { acknowledge } from '../nag';

export interface StorageProps {
  readonly removalPolicy: RemovalPolicy;
  /** Origins allowed to PUT to presigned upload URLs (more with `mediaBucket.addCorsRule`). */
  readonly corsOrigins: readonly string[];
  /** How long access logs are kept. @default 90 days */
  readonly accessLogDays?: number;
  /** How long meeting recordings are kept (the `recordings/` rule). @default BUCKETS.media (90 days) */
  readonly recordingRetentionDays?: number;
}

const ATTRIBUTE_TYPES: Record<AttributeType, dynamodb.AttributeType> = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
};

function attribute(key: KeyAttribute): dynamodb.Attribute {
  return { name: key.name, type: ATTRIBUTE_TYPES[key.type] };
}

export class Storage extends Construct {
  readonly tables: { readonly [K in TableKey]: dynamodb.Table };
  readonly mediaBucket: s3.Bucket;
  readonly logBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const retain = props.removalPolicy === RemovalPolicy.RETAIN;

    const tables: Partial<Record<TableKey, dynamodb.Table>> = {};
    for (const [key, def] of Object.entries(TABLES) as [TableKey, (typeof TABLES)[TableKey]][]) {
      const id = `${key[0]?.toUpperCase()}${key.slice(1)}Table`;
      const table = new dynamodb.Table(this, id, {
        partitionKey: attribute(def.partitionKey),
        sortKey: 'sortKey' in def ? attribute(def.sortKey) : undefined,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: 'ttlAttribute' in def ? def.ttlAttribute : undefined,
        removalPolicy: props.removalPolicy,
        deletionProtection: retain,
      });
      for (const index of def.globalSecondaryIndexes as readonly IndexDefinition[]) {
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: attribute(index.partitionKey),
          sortKey: index.sortKey ? attribute(index.sortKey) : undefined,
          projectionType:
            index.projection === 'KEYS_ONLY'
              ? dynamodb.ProjectionType.KEYS_ONLY
              : dynamodb.ProjectionType.ALL,
        });
      }
      tables[key] = table;
    }
    this.tables = tables as Record<TableKey, dynamodb.Table>;

    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Load balancer access logs accept SSE-S3 only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(props.accessLogDays ?? 90) }],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: !retain,
    });
    acknowledge(
      this.logBucket,
      'AwsSolutions-S1',
      'This is the access-log destination of the media bucket and the load balancer; logging it into itself would loop.',
    );

    const media = BUCKETS.media;
    this.mediaBucket = new s3.Bucket(this, 'MediaBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'media-bucket/',
      lifecycleRules: [
        ...Object.entries(media.prefixes).map(([prefix, rule]) => ({
          id: `expire-${prefix.replace(/\/$/, '')}`,
          prefix,
          expiration: Duration.days(
            prefix === 'recordings/'
              ? (props.recordingRetentionDays ?? rule.expireAfterDays)
              : rule.expireAfterDays,
          ),
        })),
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      // Browsers upload straight to S3 with presigned PUT URLs.
      cors: props.corsOrigins.length > 0 ? [uploadCorsRule(props.corsOrigins)] : undefined,
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: !retain,
    });
  }
}

/** The CORS rule that lets browsers of `origins` PUT to presigned upload URLs. */
export function uploadCorsRule(origins: readonly string[]): s3.CorsRule {
  return {
    allowedMethods: [s3.HttpMethods.PUT],
    allowedOrigins: [...origins],
    allowedHeaders: ['*'],
    exposedHeaders: ['ETag'],
    maxAge: 3000,
  };
}
