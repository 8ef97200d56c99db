/**
 * Resource definitions shared by the CDK constructs (lib/) and local mode (local/), so the
 * two cannot drift. Plain data only: nothing here imports aws-cdk-lib or an SDK.
 *
 * Physical names are chosen by CloudFormation on AWS (two stages can share an account);
 * `localName` is used only by the local emulators. Handlers find every resource through
 * the environment variable named by `envVar`, which both CDK and local mode set.
 */

export type AttributeType = 'S' | 'N';
export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}
export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}
export interface TableDefinition {
  readonly envVar: string;
  readonly localName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Top-level Number attribute in epoch seconds; DynamoDB deletes lazily, so readers filter too. */
  readonly ttlAttribute?: string;
  readonly globalSecondaryIndexes: readonly IndexDefinition[];
}

export const TABLES = {
  /** One item per meeting: owner, title, URL, bot, status, keywords, language, next seq, shares. */
  meetings: {
    envVar: 'MEETINGS_TABLE',
    localName: 'parley-meetings',
    partitionKey: { name: 'meetingId', type: 'S' },
    globalSecondaryIndexes: [
      {
        indexName: 'byOwner',
        partitionKey: { name: 'ownerId', type: 'S' },
        sortKey: { name: 'createdAt', type: 'S' },
      },
      {
        // Sparse (only meetings with a bot): the Recall status webhook finds its meeting by bot id.
        indexName: 'byBot',
        partitionKey: { name: 'botId', type: 'S' },
      },
    ],
  },
  /** Final transcript segments; a conditional put on (meetingId, seq) makes writes idempotent. */
  segments: {
    envVar: 'SEGMENTS_TABLE',
    localName: 'parley-segments',
    partitionKey: { name: 'meetingId', type: 'S' },
    sortKey: { name: 'seq', type: 'N' },
    globalSecondaryIndexes: [],
  },
  /** Open WebSocket connections of the realtime API. */
  connections: {
    envVar: 'CONNECTIONS_TABLE',
    localName: 'parley-connections',
    partitionKey: { name: 'connectionId', type: 'S' },
    ttlAttribute: 'expiresAt',
    globalSecondaryIndexes: [],
  },
  /** Who listens to which meeting (or job); the byConnection index removes them on disconnect. */
  subscriptions: {
    envVar: 'SUBSCRIPTIONS_TABLE',
    localName: 'parley-subscriptions',
    partitionKey: { name: 'topic', type: 'S' },
    sortKey: { name: 'connectionId', type: 'S' },
    ttlAttribute: 'expiresAt',
    globalSecondaryIndexes: [
      {
        indexName: 'byConnection',
        partitionKey: { name: 'connectionId', type: 'S' },
        sortKey: { name: 'topic', type: 'S' },
      },
    ],
  },
  /** File transcription jobs: stage, percent, ETA, result location. */
  jobs: {
    envVar: 'JOBS_TABLE',
    localName: 'parley-jobs',
    partitionKey: { name: 'jobId', type: 'S' },
    ttlAttribute: 'expiresAt',
    globalSecondaryIndexes: [
      {
        indexName: 'byOwner',
        partitionKey: { name: 'ownerId', type: 'S' },
        sortKey: { name: 'createdAt', type: 'S' },
      },
    ],
  },
  /** Cached briefings and the seq each covers. */
  briefings: {
    envVar: 'BRIEFINGS_TABLE',
    localName: 'parley-briefings',
    partitionKey: { name: 'meetingId', type: 'S' },
    globalSecondaryIndexes: [],
  },
} as const satisfies Record<string, TableDefinition>;

export type TableKey = keyof typeof TABLES;

export interface QueueDefinition {
  readonly envVar: string;
  readonly localName: string;
  readonly fifo: boolean;
  /** Must be at least six times the consumer's timeout (AWS guidance for Lambda event sources). */
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  /** Deliveries before a message moves to the DLQ. */
  readonly maxReceiveCount: number;
  /** Lambda event source batch size (FIFO allows at most 10). */
  readonly batchSize: number;
  readonly dlq: { readonly envVar: string; readonly localName: string; readonly retentionSeconds: number };
}

export const QUEUES = {
  /** Transcript and status events from the audio gateway to the fan-out Lambda. */
  transcriptEvents: {
    envVar: 'TRANSCRIPT_QUEUE_URL',
    localName: 'parley-transcript-events.fifo',
    fifo: true,
    visibilityTimeoutSeconds: 60,
    retentionSeconds: 4 * 24 * 3600,
    maxReceiveCount: 5,
    batchSize: 10,
    dlq: {
      envVar: 'TRANSCRIPT_DLQ_URL',
      localName: 'parley-transcript-events-dlq.fifo',
      retentionSeconds: 14 * 24 * 3600,
    },
  },
  /**
   * Uploaded files ready to transcribe: S3 ObjectCreated notifications (uploads/jobs/ prefix) for
   * the file-worker service, which polls it itself (standard queue: S3 cannot notify a FIFO one).
   * The worker keeps a message invisible while it works (heartbeat), so the timeout only bounds
   * how long a lost worker's job waits before another worker resumes it.
   */
  fileJobs: {
    envVar: 'FILE_JOBS_QUEUE_URL',
    localName: 'parley-file-jobs',
    fifo: false,
    visibilityTimeoutSeconds: 60,
    retentionSeconds: 4 * 24 * 3600,
    maxReceiveCount: 5,
    batchSize: 1,
    dlq: {
      envVar: 'FILE_JOBS_DLQ_URL',
      localName: 'parley-file-jobs-dlq',
      retentionSeconds: 14 * 24 * 3600,
    },
  },
} as const satisfies Record<string, QueueDefinition>;

export type QueueKey = keyof typeof QUEUES;

export interface BucketDefinition {
  readonly envVar: string;
  readonly localName: string;
  /** Key prefixes with their own lifecycle rules. */
  readonly prefixes: Readonly<Record<string, { readonly expireAfterDays: number }>>;
}

export const BUCKETS = {
  /** Meeting recordings and uploaded files. */
  media: {
    envVar: 'MEDIA_BUCKET',
    localName: 'parley-media',
    prefixes: {
      'recordings/': { expireAfterDays: 90 },
      'uploads/': { expireAfterDays: 7 },
    },
  },
} as const satisfies Record<string, BucketDefinition>;

export type BucketKey = keyof typeof BUCKETS;

/** The custom metric the audio gateway publishes and its ECS service scales on. */
export const ACTIVE_SESSIONS_METRIC = {
  namespace: 'Parley/AudioGateway',
  metricName: 'ActiveSessions',
  /** Dimension `Stage` = the stage name (the container reads it from PARLEY_STAGE). */
  dimension: 'Stage',
  periodSeconds: 60,
} as const;
