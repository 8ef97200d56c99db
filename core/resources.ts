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
  /**
   * `KEYS_ONLY`: the index holds the table's and the index's keys only (every write to the
   * table costs less); its readers fetch anything else from the table. Default `ALL`.
   */
  readonly projection?: 'ALL' | 'KEYS_ONLY';
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
        // Keys only: a meeting is updated once per final (lastSeq; seqs once per 10), and a full copy here
        // was rewritten each time; GET /meetings reads the page's meetings from the table.
        indexName: 'byOwner',
        partitionKey: { name: 'ownerId', type: 'S' },
        sortKey: { name: 'createdAt', type: 'S' },
        projection: 'KEYS_ONLY',
      },
      {
        // Sparse (only meetings with a bot): the Recall status webhook finds its meeting by bot
        // id, then reads the meeting itself (MeetingRepository.findByBot).
        indexName: 'byBot',
        partitionKey: { name: 'botId', type: 'S' },
        projection: 'KEYS_ONLY',
      },
    ],
  },
  /**
   * Who a meeting is shared with, by reader: one item per (reader, meeting), so `GET /meetings`
   * lists the meetings shared with a user with a Query. The meeting's own `sharedWith` stays the
   * authority for access; the sort key (`<meeting createdAt>#<meetingId>`) lists newest first.
   */
  shares: {
    envVar: 'SHARES_TABLE',
    localName: 'parley-shares',
    partitionKey: { name: 'readerId', type: 'S' },
    sortKey: { name: 'meetingKey', type: 'S' },
    globalSecondaryIndexes: [],
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
        // ConnectionRepository.remove needs only the topics (a table key).
        indexName: 'byConnection',
        partitionKey: { name: 'connectionId', type: 'S' },
        sortKey: { name: 'topic', type: 'S' },
        projection: 'KEYS_ONLY',
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
        // Keys only: a running job is updated every progress tick; GET /jobs reads the page's
        // jobs from the table.
        indexName: 'byOwner',
        partitionKey: { name: 'ownerId', type: 'S' },
        sortKey: { name: 'createdAt', type: 'S' },
        projection: 'KEYS_ONLY',
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
  /**
   * Keyword alerts raised from interims (one item per occurrence): a conditional put makes
   * each alert once, and the final reads its seq's alerts to confirm or withdraw them.
   */
  alerts: {
    envVar: 'ALERTS_TABLE',
    localName: 'parley-alerts',
    partitionKey: { name: 'meetingId', type: 'S' },
    sortKey: { name: 'alertKey', type: 'S' },
    ttlAttribute: 'expiresAt',
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
    // A failing record holds back its meeting (FIFO group) for (maxReceiveCount - 1) ×
    // visibility + one run before the fan-out parks it in the DLQ: 2 × 30 s + 5 s ≈ 65 s,
    // where 5 × 60 s stalled a meeting for ~5 minutes. The fan-out's timeout is a sixth of the
    // visibility (5 s; a batch normally takes tens of milliseconds), AWS's advice for Lambda
    // consumers, so a throttled invocation is retried before the message counts a receive.
    visibilityTimeoutSeconds: 30,
    retentionSeconds: 4 * 24 * 3600,
    maxReceiveCount: 3,
    batchSize: 10,
    dlq: {
      envVar: 'TRANSCRIPT_DLQ_URL',
      localName: 'parley-transcript-events-dlq.fifo',
      retentionSeconds: 14 * 24 * 3600,
    },
  },
  /**
   * One message per shard of a large meeting's subscribers (core/pipeline/fanout-shards.ts): the
   * fan-out Lambda posts to shard 0 itself and hands shards 1… to the fanout-shard Lambda here.
   * FIFO, MessageGroupId `<meetingId>#<shard>`: each connection stays in one shard for its
   * lifetime, so its messages arrive in order, while the shards run in parallel invocations.
   * A shard posts to ≤ 1,000 connections (~0.5–1 s), so the timeout is 10 s and the visibility 60 s.
   */
  fanoutShards: {
    envVar: 'FANOUT_SHARD_QUEUE_URL',
    localName: 'parley-fanout-shards.fifo',
    fifo: true,
    visibilityTimeoutSeconds: 60,
    retentionSeconds: 4 * 24 * 3600,
    maxReceiveCount: 3,
    batchSize: 4,
    dlq: {
      envVar: 'FANOUT_SHARD_DLQ_URL',
      localName: 'parley-fanout-shards-dlq.fifo',
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

/**
 * Sharded fan-out: a meeting's subscriptions carry a shard number, taken from the meeting's
 * subscription counter at subscribe time (`floor(slot / size)`), so no shard ever holds more
 * than `size` connections. `FANOUT_SHARD_SIZE` (ws-subscribe) overrides it, 1…`size`.
 */
export const FANOUT_SHARDS = { size: 1_000, envVar: 'FANOUT_SHARD_SIZE' } as const;

/** What the fan-out Lambda publishes (Powertools Metrics, EMF; dimension `service`). */
export const FANOUT_METRICS = {
  namespace: 'Parley',
  service: 'fanout',
  /** Final segments handled (count). */
  finals: 'Finals',
  /** Milliseconds from a final's `timestamp` (produced by the gateway) to its delivery. */
  finalLatency: 'FinalLatency',
  /**
   * Per-hop latency of every transcript event, milliseconds (core/pipeline/segment-timing.ts):
   * `<prefix><Hop>` with Hop one of Speech, Gateway, Queue, Fanout, Total.
   */
  hopLatencyPrefix: 'HopLatency',
  /** Connections one fanout-shard invocation posted to (count per shard message). */
  shardPosts: 'ShardPosts',
} as const;
