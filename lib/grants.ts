/**
 * Least-privilege grants on Parley's data resources, shared by the Lambda construct and the
 * audio gateway's task role. Each grant names its actions one by one (never `dynamodb:*`) and
 * the exact table, index, queue or key prefix, driven by the definitions in core/resources.ts.
 */
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { BUCKETS, type BucketKey, TABLES, type TableKey } from '../core/resources';

export type DynamoDbAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'Scan'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

export type IndexName<K extends TableKey> = (typeof TABLES)[K]['globalSecondaryIndexes'][number]['indexName'];

/**
 * What a principal may do with a table: a preset on the table itself, explicit actions on the
 * table and/or on named indexes, or `envOnly` (the name is set, nothing is granted).
 */
export type TableAccess<K extends TableKey = TableKey> =
  | 'read'
  | 'write'
  | 'readWrite'
  | 'envOnly'
  | readonly DynamoDbAction[]
  | {
      readonly table?: readonly DynamoDbAction[];
      readonly indexes?: Partial<Record<IndexName<K>, readonly ('Query' | 'Scan')[]>>;
    };

export const TABLE_PRESETS = {
  read: ['GetItem', 'BatchGetItem', 'Query'],
  write: ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'],
  readWrite: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'],
} as const satisfies Record<string, readonly DynamoDbAction[]>;

/** Grants `access` on `table` (defined by TABLES[key]); returns the grants made. */
export function grantTable<K extends TableKey>(
  grantee: iam.IGrantable,
  key: K,
  table: ITable,
  access: TableAccess<K>,
): iam.Grant[] {
  if (access === 'envOnly') return [];
  const spec =
    typeof access === 'string'
      ? { table: TABLE_PRESETS[access] }
      : Array.isArray(access)
        ? { table: access as readonly DynamoDbAction[] }
        : (access as Exclude<TableAccess<K>, string | readonly DynamoDbAction[]>);
  const grants: iam.Grant[] = [];
  if (spec.table && spec.table.length > 0) {
    grants.push(
      iam.Grant.addToPrincipal({
        grantee,
        actions: spec.table.map((a) => `dynamodb:${a}`),
        resourceArns: [table.tableArn],
      }),
    );
  }
  const known: readonly string[] = TABLES[key].globalSecondaryIndexes.map((i) => i.indexName);
  for (const [indexName, actions] of Object.entries(spec.indexes ?? {}) as [string, readonly string[]][]) {
    if (!known.includes(indexName)) {
      throw new TypeError(
        `Table ${key} has no index "${indexName}" (core/resources.ts defines: ${known.join(', ') || 'none'})`,
      );
    }
    grants.push(
      iam.Grant.addToPrincipal({
        grantee,
        actions: actions.map((a) => `dynamodb:${a}`),
        resourceArns: [`${table.tableArn}/index/${indexName}`],
      }),
    );
  }
  return grants;
}

/** `sqs:SendMessage` (which also covers SendMessageBatch) on one queue. */
export function grantQueueSend(grantee: iam.IGrantable, queue: IQueue): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [queue.queueArn] });
}

export type BucketAccess = 'read' | 'write' | 'readWrite';
export type BucketPrefix<K extends BucketKey> = keyof (typeof BUCKETS)[K]['prefixes'] & string;

const BUCKET_ACTIONS: Record<BucketAccess, readonly string[]> = {
  read: ['s3:GetObject'],
  write: ['s3:PutObject', 's3:AbortMultipartUpload'],
  readWrite: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
};

/** Object access under one lifecycle prefix of a bucket defined in BUCKETS (never the whole bucket). */
export function grantBucketPrefix<K extends BucketKey>(
  grantee: iam.IGrantable,
  key: K,
  bucket: IBucket,
  access: BucketAccess,
  prefix: BucketPrefix<K>,
): iam.Grant {
  if (!Object.hasOwn(BUCKETS[key].prefixes, prefix)) {
    throw new TypeError(`Bucket ${key} has no prefix "${prefix}" (core/resources.ts)`);
  }
  return iam.Grant.addToPrincipal({
    grantee,
    actions: [...BUCKET_ACTIONS[access]],
    resourceArns: [bucket.arnForObjects(`${prefix}*`)],
  });
}
