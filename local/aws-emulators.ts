/**
 * Local stand-ins for DynamoDB (dynalite), S3 (s3rver) and SQS (local-aws-sqs), started in-process on
 * loopback, with every table, queue and bucket of core/resources.ts created on them.
 *
 * This module is the only place that knows the emulators' quirks; docs/local-mode.md lists every AWS
 * behaviour they lack. Two of those quirks are corrected here, in the emulators only:
 * - s3rver encrypts its ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 ships only in
 *   its legacy provider: without `--openssl-legacy-provider` every listing that needs a second page
 *   fails with `ERR_OSSL_EVP_UNSUPPORTED`. `makeS3rverListingPortable` serves ListObjectsV2 through
 *   s3rver's own marker-based (V1) listing with a plain opaque token instead, so no flag is needed.
 * - local-aws-sqs counts a ChangeMessageVisibility as one more receive (ApproximateReceiveCount + 1),
 *   so a consumer that returns failed messages with visibility 0 sends them to the DLQ after about half
 *   of maxReceiveCount deliveries. `fixLocalSqsReceiveCount` makes only receives count, as on AWS.
 * - local-aws-sqs answers a ReceiveMessage only once it holds MaxNumberOfMessages messages or after
 *   40 ms + WaitTimeSeconds, scanning every 10 ms, so a lone message waited up to 40 ms (and a long
 *   poll's whole wait). `fixLocalSqsReceiveWait` makes it answer as SQS does: at once with what is
 *   visible, and a long poll as soon as a message arrives.
 * - On standard queues local-aws-sqs changed the visibility of a message that was not in flight, or
 *   by a receipt handle a later receive had replaced: a late heartbeat hid a visible message again,
 *   or kept extending a message another consumer now held. SQS refuses both (MessageNotInflight,
 *   an expired receipt handle). `fixLocalSqsStaleVisibilityChange` refuses them, as the emulator
 *   already does on FIFO queues.
 * - local-aws-sqs refuses every ReceiveMessage with OverLimit once a queue holds 20,000 (FIFO) or
 *   120,000 (standard) *visible* messages: its in-flight check counts the wrong ones. SQS limits
 *   messages in flight, never a backlog; with the emulator's check a local backlog past 20,000
 *   stopped the pipeline for good. `fixLocalSqsInFlightLimit` keeps that check from counting visible
 *   messages (the in-flight limit itself is then not enforced locally).
 * - local-aws-sqs deduplicated each FIFO send by scanning every message in the queue (~6 ms a send
 *   at 30,000 queued, so a backlog slowed its own drain). `trackQueueRecords` answers it from an
 *   index with the same meaning (only against messages still in the queue), and numbers FIFO
 *   messages in send order (`SequenceNumber`, increasing as on AWS).
 * - dynalite never closed the store iterators behind a Query or Scan (each open one pinned a
 *   snapshot of the table's in-memory tree: ~90 % of the soak's memory growth), and each stored
 *   key and value kept a whole 8 KB Buffer-pool slab. `fixDynaliteMemory` (local/dynalite-memory.ts)
 *   corrects both.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
  ResourceInUseException,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketCorsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createLogger } from '../core/logger';
import {
  BUCKETS,
  type BucketDefinition,
  type KeyAttribute,
  QUEUES,
  type QueueDefinition,
  type QueueKey,
  TABLES,
  type TableDefinition,
} from '../core/resources';
import { fixDynaliteMemory } from './dynalite-memory';

export interface EmulatorOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /**
   * Unset: dynalite keeps its data in memory and s3rver in a temporary directory removed by `stop()`.
   * Set (npm start): both persist under this directory (`dynamodb/`, `s3/`) and survive restarts.
   * SQS is always in memory.
   */
  dataDir?: string;
  /** Default 0 = any free port. */
  ports?: { dynamodb?: number; s3?: number; sqs?: number };
  logger?: Logger;
}

export interface RunningEmulators {
  endpoints: { dynamodb: string; s3: string; sqs: string };
  /**
   * Every environment variable Parley's code reads to find these resources: AWS_ENDPOINT_URL_DYNAMODB,
   * _SQS and _S3, PARLEY_LOCAL=1, AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (s3rver checks
   * signatures against S3RVER/S3RVER; the others accept any), and each table's, queue's, DLQ's and
   * bucket's `envVar` from core/resources.ts.
   */
  env: Record<string, string>;
  queueArns: Record<QueueKey, { queue: string; dlq: string }>;
  /**
   * Fault injection for tests: the next `times` DynamoDB requests of `operation` (e.g. PutItem)
   * are answered 500 InternalServerError, as DynamoDB answers a failed write; with
   * `unprocessed`, a BatchWriteItem / BatchGetItem is answered 200 with every item unprocessed,
   * as DynamoDB answers a throttled batch. Resolves once armed (at once in process; after a
   * message round trip with local/emulator-thread.ts).
   */
  failDynamo(operation: string, times: number, mode?: 'error' | 'unprocessed'): Promise<void>;
  /** s3rver's S3 event notifications (`'event'`, with `{ Records }` as S3 sends them); see local/s3-notifications.ts. */
  s3Events: EventEmitter;
  /** Stops all three servers and frees their ports. Idempotent. */
  stop(): Promise<void>;
}

/** Pending injected DynamoDB failures per operation. */
const dynamoFaults = new Map<string, { left: number; mode: 'error' | 'unprocessed' }>();

/** Region and credentials of local mode. s3rver accepts only this key pair. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalAwsClients {
  dynamodb: DynamoDBClient;
  s3: S3Client;
  sqs: SQSClient;
  /** Closes the clients' sockets. */
  destroy(): void;
}

/** SDK clients bound to the emulators explicitly (no environment involved), with s3rver's settings. */
export function createLocalClients(endpoints: RunningEmulators['endpoints']): LocalAwsClients {
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb });
  const sqs = new SQSClient({ ...common, endpoint: endpoints.sqs });
  const s3 = new S3Client({
    ...common,
    endpoint: endpoints.s3,
    // s3rver serves path-style URLs only and predates the flexible checksums the SDK now sends.
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    dynamodb,
    s3,
    sqs,
    destroy() {
      dynamodb.destroy();
      s3.destroy();
      sqs.destroy();
    },
  };
}

export async function startEmulators(opts: EmulatorOptions = {}): Promise<RunningEmulators> {
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.logger ?? createLogger('aws-emulators');
  const stops: Array<() => Promise<void>> = [];
  const stopAll = once(async () => {
    // Reverse order of start (clients, then servers, then the temporary directory); every step runs
    // even if an earlier one fails, and the first failure is reported.
    let failure: { error: unknown } | undefined;
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  });

  try {
    const s3Dir = opts.dataDir
      ? join(opts.dataDir, 's3')
      : await mkdtemp(join(tmpdir(), 'parley-s3-')).then((dir) => {
          stops.push(() => rm(dir, { recursive: true, force: true }));
          return dir;
        });
    await mkdir(s3Dir, { recursive: true });
    const dynamoPath = opts.dataDir ? join(opts.dataDir, 'dynamodb') : undefined;
    if (dynamoPath) await mkdir(dynamoPath, { recursive: true });

    // allSettled, not all: every server that did start must be in `stops` before a failure unwinds.
    const s3Events = new EventEmitter();
    const started = await Promise.allSettled([
      startDynalite(host, opts.ports?.dynamodb ?? 0, dynamoPath, stops),
      startS3rver(host, opts.ports?.s3 ?? 0, s3Dir, logger, stops, s3Events),
      startLocalSqs(host, opts.ports?.sqs ?? 0, logger, stops),
    ]);
    const [dynamodb, s3, sqs] = started.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    }) as [string, string, string];
    const endpoints = { dynamodb, s3, sqs };

    const clients = createLocalClients(endpoints);
    stops.push(async () => clients.destroy());
    const [queues] = await Promise.all([
      createQueues(clients.sqs),
      createTables(clients.dynamodb),
      createBuckets(clients.s3),
    ]);

    const env: Record<string, string> = {
      PARLEY_LOCAL: '1',
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    };
    for (const def of Object.values(TABLES) as TableDefinition[]) env[def.envVar] = def.localName;
    for (const def of Object.values(BUCKETS) as BucketDefinition[]) env[def.envVar] = def.localName;
    const queueArns = {} as RunningEmulators['queueArns'];
    for (const key of Object.keys(QUEUES) as QueueKey[]) {
      const def: QueueDefinition = QUEUES[key];
      const created = queues[key];
      env[def.envVar] = created.queueUrl;
      env[def.dlq.envVar] = created.dlqUrl;
      queueArns[key] = { queue: created.queueArn, dlq: created.dlqArn };
    }

    logger.info('AWS emulators started', { endpoints, dataDir: opts.dataDir ?? null });
    const failDynamo = async (operation: string, times: number, mode: 'error' | 'unprocessed' = 'error') => {
      dynamoFaults.set(operation, { left: times, mode });
    };
    return { endpoints, env, queueArns, failDynamo, s3Events, stop: stopAll };
  } catch (err) {
    await stopAll().catch((stopErr: unknown) =>
      logger.error('Stopping emulators after a failed start failed too', { error: stopErr }),
    );
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------
// Servers

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
type DynaliteFactory = (options: DynaliteOptions) => Server;

async function startDynalite(
  host: string,
  port: number,
  path: string | undefined,
  stops: Array<() => Promise<void>>,
): Promise<string> {
  const dynalite = require('dynalite') as DynaliteFactory;
  fixDynaliteMemory();
  // Tables become ACTIVE at once instead of after dynalite's default 500 ms.
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const [serve] = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const fault = dynamoFaults.get(operation);
    if (!fault || fault.left <= 0 || !serve) return serve?.(req, res);
    fault.left--;
    const type = { 'content-type': 'application/x-amz-json-1.0' };
    if (fault.mode === 'unprocessed') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const { RequestItems } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          RequestItems: unknown;
        };
        const body =
          operation === 'BatchGetItem'
            ? { Responses: {}, UnprocessedKeys: RequestItems }
            : { UnprocessedItems: RequestItems };
        res.writeHead(200, type).end(JSON.stringify(body));
      });
      return;
    }
    req.resume();
    res.writeHead(500, type);
    res.end(
      JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
        message: 'Injected fault',
      }),
    );
  });
  const address = await listen(server, port, host);
  // dynalite's close() also closes its LevelDB store (releasing the LOCK of a persistent one).
  stops.push(() => closeServer(server));
  return urlOf(host, address.port);
}

interface S3rverInstance {
  middleware: unknown[];
  logger: { exceptions: { unhandle(): void }; close(): void };
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: 'error', listener: (err: Error) => void): void;
  on(event: 'event', listener: (event: unknown) => void): void;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

async function startS3rver(
  host: string,
  port: number,
  directory: string,
  logger: Logger,
  stops: Array<() => Promise<void>>,
  events: EventEmitter,
): Promise<string> {
  makeS3rverListingPortable();
  const S3rver = require('s3rver') as S3rverConstructor;
  const s3rver = new S3rver({ address: host, port, directory, silent: true, vhostBuckets: false });
  // Koa logs request errors (404s for missing keys included) unless an error listener exists.
  s3rver.on('error', (err) => logger.debug('s3rver request failed', { error: err.message }));
  s3rver.on('event', (event) => events.emit('event', event));
  // Served from our own http server (not s3rver.run()) so a failed listen rejects instead of throwing
  // an unhandled 'error' event.
  const server = createServer(s3rver.callback());
  const address = await listen(server, port, host);
  stops.push(async () => {
    await closeServer(server);
    // What s3rver's own server does on close: release its winston logger.
    s3rver.logger.exceptions.unhandle();
    s3rver.logger.close();
  });
  return urlOf(host, address.port);
}

interface LocalSqsService {
  PORT: number;
  HOSTNAME: string;
  Queues: object[];
  resetAll(): void;
}
interface LocalSqsModule {
  createRequestHandler(options: Record<string, unknown>): {
    service: LocalSqsService;
    requestHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  };
}

async function startLocalSqs(
  host: string,
  port: number,
  logger: Logger,
  stops: Array<() => Promise<void>>,
): Promise<string> {
  const localSqs = require('local-aws-sqs') as LocalSqsModule;
  fixLocalSqsReceiveCount(localSqs);
  // Before fixLocalSqsReceiveWait: its receive wrapper counts visible messages first, then calls this one.
  fixLocalSqsInFlightLimit(localSqs);
  fixLocalSqsReceiveWait(localSqs);
  fixLocalSqsStaleVisibilityChange(localSqs);
  const { service, requestHandler } = localSqs.createRequestHandler({
    port,
    hostname: urlHost(host),
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    // Off: AWS makes you wait 60 s before re-creating a deleted queue; tests re-create queues freely.
    emulateQueueCreationLifecycle: false,
    emulateLazyQueues: false,
    validateDlqDestination: true,
  });
  const server = createServer((req, res) => {
    // The emulator parses the request outside its own try/catch; never let that crash the process.
    // The response is the receive's context: a client that gives up a long poll stops its scan.
    sqsRequest
      .run(res, () => requestHandler(req, res))
      .catch((err: unknown) => {
        logger.error('local-aws-sqs failed to handle a request', { error: err });
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
  });
  const address = await listen(server, port, host);
  // Queue URLs are built from service.PORT: set it to the port actually bound.
  service.PORT = address.port;
  trackQueueRecords(service);
  stops.push(async () => {
    await closeServer(server);
    // Clears every message's visibility and retention timers.
    service.resetAll();
  });
  return urlOf(host, address.port);
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((err?: Error) => (err ? reject(err) : resolve()));
    // close() waits for open connections; kept-alive SDK sockets and long polls would hold it up.
    server.closeAllConnections();
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function urlOf(host: string, port: number): string {
  return `http://${urlHost(host)}:${port}`;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= fn();
    return running;
  };
}

// ---------------------------------------------------------------------------------------------------
// Resources from core/resources.ts

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] {
  const schema: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: 'HASH' }];
  if (sortKey) schema.push({ AttributeName: sortKey.name, KeyType: 'RANGE' });
  return schema;
}

/** The CreateTable request for a table definition. */
function createTableInput(def: TableDefinition): CreateTableCommandInput {
  const types = new Map<string, KeyAttribute['type']>();
  const keys = [def.partitionKey, def.sortKey];
  for (const index of def.globalSecondaryIndexes) keys.push(index.partitionKey, index.sortKey);
  for (const key of keys) {
    if (!key) continue;
    const known = types.get(key.name);
    if (known && known !== key.type) {
      throw new Error(
        `Table ${def.localName}: attribute ${key.name} is declared as both ${known} and ${key.type}`,
      );
    }
    types.set(key.name, key.type);
  }
  const attributeDefinitions: AttributeDefinition[] = [...types].map(([AttributeName, AttributeType]) => ({
    AttributeName,
    AttributeType,
  }));
  return {
    TableName: def.localName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributeDefinitions,
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    GlobalSecondaryIndexes:
      def.globalSecondaryIndexes.length === 0
        ? undefined
        : def.globalSecondaryIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: index.projection ?? 'ALL' },
          })),
  };
}

async function createTables(client: DynamoDBClient): Promise<void> {
  await Promise.all(
    (Object.values(TABLES) as TableDefinition[]).map(async (def) => {
      try {
        await client.send(new CreateTableCommand(createTableInput(def)));
      } catch (err) {
        // A persistent dataDir already holds the table: accept it only if it still matches.
        if (!(err instanceof ResourceInUseException)) throw err;
      }
      const table = await waitForActiveTable(client, def.localName);
      assertTableMatches(def, table);
    }),
  );
  // TTL: dynalite has no UpdateTimeToLive and never expires items (readers filter on ttlAttribute).
}

async function waitForActiveTable(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const active =
      Table?.TableStatus === 'ACTIVE' &&
      (Table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (Table && active) return Table;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function describeKeys(schema: KeySchemaElement[] | undefined): string {
  return (schema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
}

function assertTableMatches(def: TableDefinition, table: TableDescription): void {
  const expected = createTableInput(def);
  const want = [
    describeKeys(expected.KeySchema),
    ...(expected.GlobalSecondaryIndexes ?? [])
      .map((i) => `${i.IndexName}=${describeKeys(i.KeySchema)}`)
      .sort(),
  ].join(' ');
  const have = [
    describeKeys(table.KeySchema),
    ...(table.GlobalSecondaryIndexes ?? []).map((i) => `${i.IndexName}=${describeKeys(i.KeySchema)}`).sort(),
  ].join(' ');
  if (want !== have) {
    throw new Error(
      `Table ${def.localName} in the local data directory does not match core/resources.ts ` +
        `(has "${have}", wants "${want}"); delete the data directory to recreate it`,
    );
  }
}

interface CreatedQueue {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
}

async function createQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`CreateQueue returned no URL for ${name}`);
  // local-aws-sqs returns no attributes unless AttributeNames lists them.
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`GetQueueAttributes returned no QueueArn for ${name}`);
  return { url: QueueUrl, arn };
}

async function createQueues(client: SQSClient): Promise<Record<QueueKey, CreatedQueue>> {
  const created = {} as Record<QueueKey, CreatedQueue>;
  for (const key of Object.keys(QUEUES) as QueueKey[]) {
    const def: QueueDefinition = QUEUES[key];
    // Standard queues must not carry FifoQueue at all (AWS rejects FifoQueue=false on some paths).
    const fifo: Record<string, string> = def.fifo ? { FifoQueue: 'true' } : {};
    const dlq = await createQueue(client, def.dlq.localName, {
      ...fifo,
      MessageRetentionPeriod: String(def.dlq.retentionSeconds),
    });
    const queue = await createQueue(client, def.localName, {
      ...fifo,
      VisibilityTimeout: String(def.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(def.retentionSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: def.maxReceiveCount }),
    });
    created[key] = { queueUrl: queue.url, queueArn: queue.arn, dlqUrl: dlq.url, dlqArn: dlq.arn };
  }
  return created;
}

async function createBuckets(client: S3Client): Promise<void> {
  await Promise.all(
    (Object.values(BUCKETS) as BucketDefinition[]).map(async (def) => {
      try {
        await client.send(new CreateBucketCommand({ Bucket: def.localName }));
      } catch (err) {
        // s3rver answers BucketAlreadyExists for a bucket of a persistent dataDir.
        const exists =
          err instanceof S3ServiceException &&
          (err.name === 'BucketAlreadyExists' || err.name === 'BucketAlreadyOwnedByYou');
        if (!exists) throw err;
      }
      // The web app uploads files straight to presigned URLs (lib/constructs/storage.ts
      // uploadCorsRule on AWS); locally any origin may, and it must read each part's ETag.
      await client.send(
        new PutBucketCorsCommand({
          Bucket: def.localName,
          CORSConfiguration: {
            CORSRules: [
              {
                AllowedMethods: ['PUT'],
                AllowedOrigins: ['*'],
                AllowedHeaders: ['*'],
                ExposeHeaders: ['ETag'],
              },
            ],
          },
        }),
      );
    }),
  );
  // Lifecycle rules (BUCKETS[k].prefixes) are not emulated: s3rver answers NotImplemented.
}

// ---------------------------------------------------------------------------------------------------
// Emulator fixes

interface KoaContext {
  method: string;
  query: Record<string, string | string[] | undefined>;
  params: { bucket: string };
  body: unknown;
}
interface ListBucketResult {
  '@'?: unknown;
  Name: string;
  Prefix: string;
  NextMarker?: string;
  MaxKeys: unknown;
  Delimiter?: string;
  IsTruncated: boolean;
  Contents: Array<{ Key: string; Owner?: unknown }>;
  CommonPrefixes: Array<{ Prefix: string }>;
}
type GetBucket = ((ctx: KoaContext) => Promise<void>) & { parleyPortableTokens?: true };

const TOKEN_PREFIX = 'parley:';

function encodeContinuationToken(bucket: string, key: string): string {
  return Buffer.from(TOKEN_PREFIX + JSON.stringify([bucket, key]), 'utf8').toString('base64');
}

function decodeContinuationToken(token: string, bucket: string): string | undefined {
  const text = Buffer.from(token, 'base64').toString('utf8');
  if (!text.startsWith(TOKEN_PREFIX)) return undefined;
  try {
    const parsed: unknown = JSON.parse(text.slice(TOKEN_PREFIX.length));
    if (Array.isArray(parsed) && parsed[0] === bucket && typeof parsed[1] === 'string') return parsed[1];
  } catch {
    // fall through: not one of ours
  }
  return undefined;
}

/**
 * s3rver 3.7.1 builds ListObjectsV2 continuation tokens with `crypto.createCipheriv('des', …)`
 * (lib/controllers/bucket.js, generateContinuationToken). Single DES lives in OpenSSL 3's legacy
 * provider, which Node 17+ does not load unless started with `--openssl-legacy-provider`, so any
 * truncated V2 listing fails with ERR_OSSL_EVP_UNSUPPORTED (HTTP 500). This wraps s3rver's GET-bucket
 * controller (looked up per request by its router, after signature checks) to answer V2 listings from
 * its V1 marker listing, with a token that needs no cipher. Applied once per module registry.
 */
function makeS3rverListingPortable(): void {
  const controller = require('s3rver/lib/controllers/bucket') as { getBucket: GetBucket };
  const S3Error = require('s3rver/lib/models/error') as new (
    code: string,
    message: string,
    detail: Record<string, string>,
  ) => Error;
  const original = controller.getBucket;
  if (typeof original !== 'function') {
    throw new Error(
      's3rver layout changed: lib/controllers/bucket.js has no getBucket; see local/aws-emulators.ts',
    );
  }
  if (original.parleyPortableTokens) return;

  const getBucket: GetBucket = async (ctx) => {
    const query = ctx.query;
    // V1 listings, and V2 requests s3rver rejects anyway (marker with list-type=2), stay untouched.
    if (query['list-type'] !== '2' || 'marker' in query) return original(ctx);
    const bucket = ctx.params.bucket;
    const token = typeof query['continuation-token'] === 'string' ? query['continuation-token'] : undefined;
    let startAfter = typeof query['start-after'] === 'string' ? query['start-after'] : undefined;
    if (token) {
      startAfter = decodeContinuationToken(token, bucket);
      if (startAfter === undefined) {
        throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
          ArgumentName: 'continuation-token',
        });
      }
    }
    const fetchOwner = query['fetch-owner'] === 'true';
    const v1Query = { ...query };
    delete v1Query['list-type'];
    delete v1Query['continuation-token'];
    delete v1Query['start-after'];
    delete v1Query['fetch-owner'];
    if (startAfter) v1Query.marker = startAfter;
    ctx.query = v1Query;

    await original(ctx);

    const result = (ctx.body as { ListBucketResult?: ListBucketResult } | undefined)?.ListBucketResult;
    if (!result) return;
    const lastKey = result.NextMarker ?? result.Contents[result.Contents.length - 1]?.Key;
    ctx.body = {
      ListBucketResult: {
        '@': result['@'],
        Name: result.Name,
        Prefix: result.Prefix,
        StartAfter: token ? undefined : startAfter,
        ContinuationToken: token,
        NextContinuationToken:
          result.IsTruncated && lastKey ? encodeContinuationToken(bucket, lastKey) : undefined,
        KeyCount: result.Contents.length + result.CommonPrefixes.length,
        MaxKeys: result.MaxKeys,
        Delimiter: result.Delimiter,
        IsTruncated: result.IsTruncated,
        Contents: fetchOwner ? result.Contents : result.Contents.map(({ Owner: _owner, ...rest }) => rest),
        CommonPrefixes: result.CommonPrefixes,
      },
    };
  };
  getBucket.parleyPortableTokens = true;
  controller.getBucket = getBucket;
}

interface LocalSqsQueueClass {
  createRecord: ((input: unknown) => [{ attributes: Record<string, string> }, string | undefined]) & {
    parleyFixed?: true;
  };
  prototype: { changeVisibility: (this: unknown, receiptHandle: string, timeout: string) => boolean };
}

/**
 * local-aws-sqs 2.0.2 routes ChangeMessageVisibility through the same private toggle as a receive,
 * which adds one to ApproximateReceiveCount (and may stamp ApproximateFirstReceiveTimestamp). Its
 * redrive then moves a message to the DLQ when that inflated count reaches maxReceiveCount. The toggle
 * is private, so this makes the two attributes of every new message ignore writes made while a
 * ChangeMessageVisibility is running. Receives and the emulator's own redrive are unchanged.
 */
function fixLocalSqsReceiveCount(localSqs: LocalSqsModule): void {
  // The Queue class is not exported: take it from a throwaway service's queue.
  const probe = localSqs.createRequestHandler({ port: 0, queues: [{ QueueName: 'parley-probe' }] });
  const queue = probe.service.Queues[0];
  const QueueClass = queue?.constructor as unknown as LocalSqsQueueClass | undefined;
  probe.service.resetAll();
  if (
    !QueueClass ||
    typeof QueueClass.createRecord !== 'function' ||
    typeof QueueClass.prototype.changeVisibility !== 'function'
  ) {
    throw new Error(
      'local-aws-sqs layout changed: Queue.createRecord/changeVisibility not found; see local/aws-emulators.ts',
    );
  }
  if (QueueClass.createRecord.parleyFixed) return;

  let changingVisibility = 0;
  const changeVisibility = QueueClass.prototype.changeVisibility;
  QueueClass.prototype.changeVisibility = function (this: unknown, receiptHandle: string, timeout: string) {
    changingVisibility++;
    try {
      return changeVisibility.call(this, receiptHandle, timeout);
    } finally {
      changingVisibility--;
    }
  };

  const createRecord = QueueClass.createRecord;
  const fixedCreateRecord: LocalSqsQueueClass['createRecord'] = (input) => {
    const created = createRecord.call(QueueClass, input);
    const attributes = created[0].attributes;
    for (const name of ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp']) {
      let value = attributes[name];
      Object.defineProperty(attributes, name, {
        enumerable: true,
        configurable: true,
        get: () => value,
        set: (next: string) => {
          if (changingVisibility === 0) value = next;
        },
      });
    }
    return created;
  };
  fixedCreateRecord.parleyFixed = true;
  QueueClass.createRecord = fixedCreateRecord;
}

interface LocalSqsQueue {
  getAttributes(names: string[]): Record<string, string>;
  setRecord: (...args: unknown[]) => unknown;
  ReceiveMessageWaitTimeSeconds?: number | string;
  [WAITERS]?: Set<() => void>;
}
interface ReceiveArgs {
  WaitTimeSeconds?: number | string;
  MaxNumberOfMessages?: number | string;
  VisibilityTimeout?: number | string;
}
interface LocalSqsReceiveClass {
  prototype: {
    receive: ((this: LocalSqsQueue, args: ReceiveArgs) => Promise<unknown>) & { parleyFixed?: true };
    changeVisibility: (this: LocalSqsQueue, receiptHandle: string, timeout: string) => boolean;
  };
}

const WAITERS = Symbol('parley.receiveWaiters');
let receiveWaitFixed = true;

/**
 * For benchmarks only (bench/pipeline.ts `--before`): false restores local-aws-sqs's own receive
 * timing, to measure the fix against it in one session. Default true.
 */
export function setLocalSqsReceiveWaitFix(on: boolean): void {
  receiveWaitFixed = on;
}
/** The HTTP response of the local-aws-sqs request being handled (for receives). */
const sqsRequest = new AsyncLocalStorage<ServerResponse>();

/** Messages a receive could take right now (local-aws-sqs counts in-flight ones in ApproximateNumberOfMessages). */
function visibleMessages(queue: LocalSqsQueue): number {
  const a = queue.getAttributes(['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible']);
  return Math.max(0, Number(a.ApproximateNumberOfMessages) - Number(a.ApproximateNumberOfMessagesNotVisible));
}

/** Runs the pending receives' scans of `queue` (they take what became visible). */
function wakeReceives(queue: LocalSqsQueue): void {
  for (const scan of queue[WAITERS] ?? []) scan();
}

/**
 * local-aws-sqs 2.0.2's receive (Queue.prototype.receive → a private scan) starts a 10 ms
 * `setInterval` that takes visible messages and a `setTimeout` of 40 ms + WaitTimeSeconds; it
 * answers when it holds MaxNumberOfMessages or when the timeout fires. So a short poll for one
 * waiting message took 10–40 ms, and a long poll kept a lone message for its whole wait.
 *
 * SQS answers a short poll at once with what is visible and a long poll as soon as any message is
 * available. This gets that behaviour from the emulator's own scan, without touching its private
 * state:
 * 1. MaxNumberOfMessages is lowered to the number of messages visible when the call arrives (at
 *    least 1), so the scan that finds them completes the receive;
 * 2. the scan callback is captured (the emulator calls `setInterval` synchronously inside
 *    `receive`) and run once at once, so visible messages are answered without waiting 10 ms;
 * 3. while a receive waits, a message sent to the queue (`setRecord`, SendMessage and its batch)
 *    or made visible again by ChangeMessageVisibility runs its scan at once.
 * A scan never runs after its receive resolved: the receive's promise settles in the microtasks
 * right after the scan that completes it, before any later scan can be scheduled.
 */
function fixLocalSqsReceiveWait(localSqs: LocalSqsModule): void {
  const probe = localSqs.createRequestHandler({ port: 0, queues: [{ QueueName: 'parley-probe' }] });
  const QueueClass = probe.service.Queues[0]?.constructor as unknown as LocalSqsReceiveClass | undefined;
  probe.service.resetAll();
  if (
    !QueueClass ||
    typeof QueueClass.prototype.receive !== 'function' ||
    typeof QueueClass.prototype.changeVisibility !== 'function'
  ) {
    throw new Error('local-aws-sqs layout changed: Queue.receive not found; see local/aws-emulators.ts');
  }
  const receive = QueueClass.prototype.receive;
  if (receive.parleyFixed) return;

  const fixedReceive: typeof receive = function (this: LocalSqsQueue, args) {
    if (!receiveWaitFixed) return receive.call(this, args);
    let waiters = this[WAITERS];
    if (!waiters) {
      // setRecord is an own property of each queue (an arrow function), not on the prototype.
      waiters = this[WAITERS] = new Set();
      const setRecord = this.setRecord;
      this.setRecord = (...rest: unknown[]) => {
        const out = setRecord(...rest);
        // A new record turns receivable in a 0 ms timer of the emulator's; ours runs after it.
        setTimeout(() => wakeReceives(this), 0).unref();
        return out;
      };
    }
    const max = Number(args.MaxNumberOfMessages ?? 1);
    const limited = { ...args, MaxNumberOfMessages: Math.max(1, Math.min(max, visibleMessages(this))) };
    let scan: (() => void) | undefined;
    let scanTimer: NodeJS.Timeout | undefined;
    let answer: (() => void) | undefined;
    const realSetInterval = globalThis.setInterval;
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((callback: () => void, ...rest: unknown[]) => {
      answer ??= callback;
      return (realSetTimeout as (...a: unknown[]) => NodeJS.Timeout)(callback, ...rest);
    }) as typeof setTimeout;
    globalThis.setInterval = ((callback: () => void, ...rest: unknown[]) => {
      const timer = (realSetInterval as (...a: unknown[]) => NodeJS.Timeout)(callback, ...rest);
      if (!scan) {
        scan = callback;
        scanTimer = timer;
      }
      return timer;
    }) as typeof setInterval;
    let received: Promise<unknown>;
    try {
      received = receive.call(this, limited);
    } finally {
      globalThis.setInterval = realSetInterval;
      globalThis.setTimeout = realSetTimeout;
    }
    const captured = scan;
    if (!captured) return received; // validation threw before scanning, or the layout changed
    let settled = false;
    // Never scan for a receive that is complete: a scan after its answer would take messages
    // into an array nobody reads. Its timer is cleared (destroyed) by the scan that completes it.
    const finished = () =>
      settled || (scanTimer as { _destroyed?: boolean } | undefined)?._destroyed === true;
    const run = () => {
      if (!finished()) captured();
    };
    waiters.add(run);
    const shortPoll = Number(args.WaitTimeSeconds ?? this.ReceiveMessageWaitTimeSeconds ?? 0) === 0;
    setImmediate(() => {
      run();
      // A short poll answers at once, with nothing if nothing was visible (the timeout's callback).
      if (shortPoll && !finished()) answer?.();
    });
    const done = () => {
      settled = true;
      waiters.delete(run);
    };
    received.then(done, done);
    // The client gave up (an aborted long poll, a closed socket): stop scanning, as SQS does, so
    // no message is taken for a response nobody reads. The emulator's own timeout then answers [].
    sqsRequest.getStore()?.once('close', () => {
      if (settled) return;
      done();
      clearInterval(scanTimer);
    });
    return received;
  };
  fixedReceive.parleyFixed = true;
  QueueClass.prototype.receive = fixedReceive;

  const changeVisibility = QueueClass.prototype.changeVisibility;
  QueueClass.prototype.changeVisibility = function (this: LocalSqsQueue, receiptHandle, timeout) {
    const changed = changeVisibility.call(this, receiptHandle, timeout);
    const seconds = Number(timeout);
    // The emulator makes the message visible in a timer of this length; ours runs after it.
    if (changed && Number.isFinite(seconds) && seconds <= 900) {
      setTimeout(() => wakeReceives(this), seconds * 1000).unref();
    }
    return changed;
  };
}

interface LocalSqsVisibilityClass {
  prototype: {
    changeVisibility: ((this: { FifoQueue: boolean }, receiptHandle: string, timeout: string) => boolean) & {
      parleyStaleChecked?: true;
    };
  };
}

/**
 * local-aws-sqs 2.0.2's `changeVisibility` refuses, on FIFO queues only, a message that is visible,
 * gone, or named by a receipt handle other than its latest ("Message does not exist or is not
 * available for visibility timeout change"); on standard queues it changes it anyway. SQS refuses on
 * both kinds (MessageNotInflight; a handle from an earlier receive has expired). The check lives in
 * the emulator's private state, so this runs the call with the queue flagged FIFO for its duration
 * (the call is synchronous, and nothing else in it reads the flag).
 */
function fixLocalSqsStaleVisibilityChange(localSqs: LocalSqsModule): void {
  const probe = localSqs.createRequestHandler({ port: 0, queues: [{ QueueName: 'parley-probe' }] });
  const QueueClass = probe.service.Queues[0]?.constructor as unknown as LocalSqsVisibilityClass | undefined;
  probe.service.resetAll();
  if (!QueueClass || typeof QueueClass.prototype.changeVisibility !== 'function') {
    throw new Error(
      'local-aws-sqs layout changed: Queue.changeVisibility not found; see local/aws-emulators.ts',
    );
  }
  const changeVisibility = QueueClass.prototype.changeVisibility;
  if (changeVisibility.parleyStaleChecked) return;
  const checked: typeof changeVisibility = function (this: { FifoQueue: boolean }, receiptHandle, timeout) {
    if (this.FifoQueue) return changeVisibility.call(this, receiptHandle, timeout);
    this.FifoQueue = true;
    try {
      return changeVisibility.call(this, receiptHandle, timeout);
    } finally {
      this.FifoQueue = false;
    }
  };
  checked.parleyStaleChecked = true;
  QueueClass.prototype.changeVisibility = checked;
}

/** A record of local-aws-sqs as its queue holds it (the emulator's own object). */
interface LocalSqsRecordWrapper {
  visible: boolean;
  record: { MessageId: string; attributes: Record<string, string | undefined> };
  MD5OfMessageSystemAttributes?: string;
}
/** What the emulator's SendMessage (and its DLQ move) passes to `setRecord`. */
interface LocalSqsRecordInput {
  MessageBody?: unknown;
  MessageAttributes?: unknown;
  MessageSystemAttributes?: { DeadLetterQueueSourceArn?: { StringValue?: string } };
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
  DelaySeconds?: unknown;
}
interface TrackedQueue {
  QueueName: string;
  FifoQueue: boolean;
  DeduplicationScope?: string;
  setRecord: (input: LocalSqsRecordInput, messageId?: string) => unknown;
  newRecord: (record: unknown, delay?: number) => LocalSqsRecordWrapper;
  delete: (receiptHandle: string) => boolean;
  [RECORDS]?: Map<string, LocalSqsRecordWrapper>;
  [FORGET]?: (messageId: string) => void;
}
interface LocalSqsCreateRecord {
  createRecord: (input: Record<string, unknown>) => [LocalSqsRecordWrapper['record'], string | undefined];
}
const RECORDS = Symbol('parley.records');
const FORGET = Symbol('parley.forget');

/**
 * Keeps, per queue, the emulator's record objects by message id (for `fixLocalSqsInFlightLimit`)
 * and a FIFO deduplication index. Every queue the service adds (its `Queues.push`) gets:
 * - `setRecord` (an own property; SendMessage, its batch and the DLQ move call it) replaced by one
 *   that does what the emulator's does, but finds a duplicate in the index instead of scanning the
 *   queue, and numbers messages in send order;
 * - `delete` wrapped, to forget a deleted message; a message moved to the DLQ is forgotten when
 *   the DLQ receives it. Records that expire (retention) stay, invisible, and are never touched.
 */
function trackQueueRecords(service: LocalSqsService): void {
  const queues = service.Queues as TrackedQueue[];
  const track = (queue: TrackedQueue) => {
    if (queue[RECORDS]) return;
    const records = new Map<string, LocalSqsRecordWrapper>();
    const dedupKeyOf = new Map<string, string>(); // message id → its key in `duplicates`
    const duplicates = new Map<string, LocalSqsRecordWrapper>();
    let sequence = 0;
    queue[RECORDS] = records;
    const forget = (messageId: string) => {
      records.delete(messageId);
      const key = dedupKeyOf.get(messageId);
      dedupKeyOf.delete(messageId);
      if (key !== undefined && duplicates.get(key)?.record.MessageId === messageId) duplicates.delete(key);
    };
    queue[FORGET] = forget;
    const QueueClass = queue.constructor as unknown as LocalSqsCreateRecord;
    queue.setRecord = (input, messageId) => {
      const sourceArn = input.MessageSystemAttributes?.DeadLetterQueueSourceArn?.StringValue;
      if (sourceArn && messageId) {
        const sourceName = sourceArn.split(':').pop();
        queues.find((q) => q.QueueName === sourceName)?.[FORGET]?.(messageId);
      }
      let key: string | undefined;
      let duplicate: LocalSqsRecordWrapper | undefined;
      let sequenceNumber: string | undefined;
      if (input.MessageGroupId && queue.FifoQueue) {
        key =
          queue.DeduplicationScope === 'queue'
            ? `q:${input.MessageDeduplicationId}`
            : `g:${input.MessageGroupId}:${input.MessageDeduplicationId}`;
        duplicate = duplicates.get(key);
        sequenceNumber = duplicate?.record.attributes.SequenceNumber ?? String(++sequence).padStart(20, '0');
      }
      const [record, md5] = QueueClass.createRecord({
        MessageId: messageId,
        MessageBody: input.MessageBody,
        MessageAttributes: input.MessageAttributes,
        MessageGroupId: input.MessageGroupId,
        MessageDeduplicationId: input.MessageDeduplicationId,
        MessageSystemAttributes: input.MessageSystemAttributes,
        SequenceNumber: sequenceNumber,
      });
      if (duplicate) {
        record.MessageId = duplicate.record.MessageId;
        return { record, MD5OfMessageSystemAttributes: md5 };
      }
      const wrapper = queue.newRecord(record, Number(input.DelaySeconds));
      if (md5) wrapper.MD5OfMessageSystemAttributes = md5;
      records.set(wrapper.record.MessageId, wrapper);
      if (key !== undefined) {
        duplicates.set(key, wrapper);
        dedupKeyOf.set(wrapper.record.MessageId, key);
      }
      return wrapper;
    };
    const remove = Object.getPrototypeOf(queue).delete as TrackedQueue['delete'];
    queue.delete = function (this: TrackedQueue, receiptHandle: string) {
      const out = remove.call(this, receiptHandle);
      const id = messageIdOfHandle(receiptHandle);
      if (id !== undefined) forget(id);
      return out;
    };
  };
  for (const queue of queues) track(queue);
  const push = queues.push;
  queues.push = (...added: TrackedQueue[]) => {
    for (const queue of added) track(queue);
    return push.apply(queues, added);
  };
}

/** local-aws-sqs receipt handles: base64 of a uuid followed by JSON holding the MessageId. */
function messageIdOfHandle(receiptHandle: string): string | undefined {
  try {
    const text = Buffer.from(receiptHandle, 'base64').toString('utf8');
    const id: unknown = (JSON.parse(text.slice(text.indexOf('{'))) as { MessageId?: unknown }).MessageId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

interface LocalSqsLimitClass {
  prototype: {
    receive: ((this: TrackedQueue, args: ReceiveArgs) => Promise<unknown>) & { parleyLimitFixed?: true };
  };
}

/**
 * local-aws-sqs 2.0.2's receive throws OverLimit when MaxNumberOfMessages plus the number of
 * *visible* messages reaches 20,000 (FIFO) / 120,000: it subtracts the invisible ones from the total
 * where SQS counts the in-flight ones. The check runs synchronously at the start of `receive`,
 * before its scan is scheduled, so this marks the queue's visible records invisible for that
 * synchronous call only and restores them before anything else runs: the check then passes, and
 * the scan, which runs later, sees every record as it was.
 */
function fixLocalSqsInFlightLimit(localSqs: LocalSqsModule): void {
  const probe = localSqs.createRequestHandler({ port: 0, queues: [{ QueueName: 'parley-probe' }] });
  const QueueClass = probe.service.Queues[0]?.constructor as unknown as LocalSqsLimitClass | undefined;
  probe.service.resetAll();
  if (!QueueClass || typeof QueueClass.prototype.receive !== 'function') {
    throw new Error('local-aws-sqs layout changed: Queue.receive not found; see local/aws-emulators.ts');
  }
  const receive = QueueClass.prototype.receive;
  if (receive.parleyLimitFixed) return;
  const fixed: typeof receive = function (this: TrackedQueue, args) {
    const records = this[RECORDS];
    if (!records) return receive.call(this, args);
    const hidden: LocalSqsRecordWrapper[] = [];
    for (const wrapper of records.values()) {
      if (wrapper.visible) {
        wrapper.visible = false;
        hidden.push(wrapper);
      }
    }
    try {
      return receive.call(this, args);
    } finally {
      for (const wrapper of hidden) wrapper.visible = true;
    }
  };
  fixed.parleyLimitFixed = true;
  QueueClass.prototype.receive = fixed;
}
