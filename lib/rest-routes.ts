/**
 * The REST API's routes and functions, driven by core/rest/routes.ts (REST_ROUTES: method,
 * path, auth, Lambda; REST_LAMBDAS: the environment, tables, queues and secrets each Lambda
 * uses), the same table the OpenAPI document and local mode read. This file adds what the
 * shared table leaves coarse: the exact DynamoDB actions and indexes each function calls
 * (least privilege), the values of its settings, and why a public route is public.
 */
import { Duration } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { TABLES, type TableKey } from '../core/resources';
import { REST_LAMBDAS, REST_ROUTES, type RestLambdaName } from '../core/rest/routes';
import type { ApiSecrets } from './constructs/api-secrets';
import type { ParleyFunction } from './constructs/parley-function';
import type { RestApi, RouteSpec } from './constructs/rest-api';
import { type DynamoDbAction, grantBucketPrefix, grantTable, type TableAccess } from './grants';
import { acknowledgeGrantWildcards } from './nag';

export interface RestRouteDeps {
  readonly tables: { readonly [K in TableKey]: Table };
  readonly transcriptQueue: IQueue;
  readonly secrets: ApiSecrets;
  readonly recallBaseUrl: string;
  /** The audio gateway's public base URL (`wss://…`), where new bots are sent. */
  readonly audioGatewayUrl: string;
  /** Recordings (read-only, `recordings/` prefix) for the Lambdas that read MEDIA_BUCKET. */
  readonly mediaBucket?: IBucket;
}

/**
 * Exactly what each handler does with each table it names in REST_LAMBDAS (read from
 * core/meetings/repository.ts, core/transcript/segment-repository.ts, core/briefing/repository.ts).
 */
export const REST_TABLE_ACCESS: {
  readonly [L in RestLambdaName]?: { readonly [K in TableKey]?: TableAccess<K> };
} = {
  // create (PutItem), setBot / setStatus (UpdateItem); `get` is part of its dependencies.
  'http-create-meeting': { meetings: ['GetItem', 'PutItem', 'UpdateItem'] },
  // byOwner for your own meetings; the shares table, then BatchGetItem for the shared ones.
  'http-list-meetings': {
    meetings: { table: ['BatchGetItem'], indexes: { byOwner: ['Query'] } },
    shares: ['Query'],
  },
  'http-get-meeting': { meetings: ['GetItem'] },
  'http-get-meeting-status': { meetings: ['GetItem'] },
  // setDesiredState / setStatus.
  'http-leave-meeting': { meetings: ['GetItem', 'UpdateItem'] },
  'http-share-meeting': { meetings: ['GetItem', 'UpdateItem'], shares: ['PutItem'] },
  'http-unshare-meeting': { meetings: ['GetItem', 'UpdateItem'], shares: ['DeleteItem'] },
  'http-get-transcript': { meetings: ['GetItem'], segments: ['Query'] },
  'http-get-brief': { meetings: ['GetItem'], segments: ['Query'], briefings: ['GetItem', 'PutItem'] },
  'http-ask': { meetings: ['GetItem'], segments: ['Query'] },
  // findByBot (byBot index, then GetItem), setStatusIf (UpdateItem).
  'http-recall-webhook': { meetings: { table: ['GetItem', 'UpdateItem'], indexes: { byBot: ['Query'] } } },
  'http-health': { meetings: ['GetItem'] },
  'http-get-recording': { meetings: ['GetItem'] },
  // Keys of the meeting's partitions (Query), deleted in batches; the meeting item last.
  'http-delete-meeting': {
    meetings: ['GetItem', 'DeleteItem'],
    segments: ['Query', 'BatchWriteItem'],
    alerts: ['Query', 'BatchWriteItem'],
    briefings: ['BatchWriteItem'],
    shares: ['BatchWriteItem'],
  },
};

/**
 * What the Lambdas that read MEDIA_BUCKET do under `recordings/` (default `read`): `delete`
 * lists a meeting's objects (s3:ListBucket, prefix condition) and deletes them, never reads.
 */
export const REST_RECORDING_ACCESS: { readonly [L in RestLambdaName]?: 'read' | 'delete' } = {
  'http-delete-meeting': 'delete',
};

const READ_ACTIONS: readonly DynamoDbAction[] = ['GetItem', 'BatchGetItem', 'Query'];

/** For a Lambda REST_TABLE_ACCESS does not know yet: the shared table's preset, scoped to that table and its indexes. */
function presetAccess(key: TableKey, preset: 'read' | 'readWrite'): TableAccess {
  const indexes = Object.fromEntries(TABLES[key].globalSecondaryIndexes.map((i) => [i.indexName, ['Query']]));
  const table: DynamoDbAction[] =
    preset === 'read' ? ['GetItem', 'Query'] : ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'];
  return { table, indexes } as TableAccess;
}

/** Why each route without a token is public (recorded with the cdk-nag acknowledgement). */
export const PUBLIC_ROUTE_REASONS: { readonly [L in RestLambdaName]?: string } = {
  'http-health': 'Health check for load balancers and uptime monitors; reports reachability only, no data.',
  'http-docs': 'The API documentation (OpenAPI and its HTML page) is public; it holds no data.',
  'http-recall-webhook':
    'Recall.ai cannot send a user token: every webhook is verified by its Svix HMAC signature (RECALL_WEBHOOK_SECRET) with a 5-minute replay window.',
};

/** Settings a handler may read that the stack leaves unset on purpose (defaults in core apply). */
const UNSET_SETTINGS = new Set([
  'PARLEY_LOCAL',
  'OPENAI_BASE_URL',
  'OPENAI_MODEL',
  'OPENAI_TTS_MODEL',
  'OPENAI_TTS_VOICE',
  'OPENAI_CONTEXT_CHARS',
  'OPENAI_TIMEOUT_MS',
  'OPENAI_MAP_CONCURRENCY',
]);

/** The secret behind `name`; undefined for an optional feature that is off (OpenAI without a secret). */
function secretFor(secrets: ApiSecrets, name: string, lambda: string): ISecret | undefined {
  switch (name) {
    case 'RECALL_API_KEY':
      return secrets.recall;
    case 'OPENAI_API_KEY':
      return secrets.openai;
    case 'RECALL_WEBHOOK_SECRET':
      return secrets.recallWebhook;
    default:
      throw new TypeError(
        `REST Lambda ${lambda} needs secret ${name}: add it to ApiSecrets and lib/rest-routes.ts`,
      );
  }
}

/** Creates one function per REST Lambda and routes every REST_ROUTES entry to it. */
export function addRestRoutes(rest: RestApi, deps: RestRouteDeps): Record<string, ParleyFunction> {
  const functions: Record<string, ParleyFunction> = {};
  for (const route of REST_ROUTES) {
    const name = route.lambda;
    const spec = `${route.method} ${route.path}` as RouteSpec;
    let fn = functions[name];
    if (!fn) {
      fn = createRestFunction(rest, name, deps);
      functions[name] = fn;
    }
    const reason = PUBLIC_ROUTE_REASONS[name];
    if (!route.auth && !reason) {
      throw new TypeError(
        `Route ${spec} has no token check: say why in PUBLIC_ROUTE_REASONS (lib/rest-routes.ts)`,
      );
    }
    rest.addRoute(spec, fn, route.auth ? {} : { public: { reason: reason as string } });
  }
  return functions;
}

function createRestFunction(rest: RestApi, name: RestLambdaName, deps: RestRouteDeps): ParleyFunction {
  const def = REST_LAMBDAS[name];
  const fn = rest.createFunction(name, {
    description: def.description,
    timeout: Duration.seconds(def.timeoutSeconds),
  });

  const declared = def.tables as Readonly<Partial<Record<TableKey, 'read' | 'readWrite'>>>;
  const exact = REST_TABLE_ACCESS[name] ?? {};
  for (const key of Object.keys(exact) as TableKey[]) {
    if (!(key in declared))
      throw new TypeError(`${name}: REST_TABLE_ACCESS names table ${key}, REST_LAMBDAS does not`);
  }
  for (const [key, preset] of Object.entries(declared) as [TableKey, 'read' | 'readWrite'][]) {
    const access = (exact[key] as TableAccess | undefined) ?? presetAccess(key, preset);
    if (preset === 'read') assertReadOnly(name, key, access);
    grantTable(fn.function, key, deps.tables[key], access as TableAccess<typeof key>);
    fn.setEnvironment(TABLES[key].envVar, deps.tables[key].tableName);
  }

  const queueUses = (def.queues as { transcriptEvents?: readonly ('send' | 'attributes')[] })
    .transcriptEvents;
  if (queueUses) fn.bindQueue('transcriptEvents', deps.transcriptQueue, queueUses);

  for (const secretName of def.secrets as readonly string[]) {
    const secret = secretFor(deps.secrets, secretName, name);
    if (secret) fn.bindSecret(secretName, secret);
  }

  const bound = new Set(fn.environmentNames());
  for (const variable of def.env as readonly string[]) {
    if (bound.has(variable) || UNSET_SETTINGS.has(variable)) continue;
    if (variable === 'RECALL_BASE_URL') fn.setEnvironment(variable, deps.recallBaseUrl);
    else if (variable === 'AUDIO_GATEWAY_URL') fn.setEnvironment(variable, deps.audioGatewayUrl);
    else if (variable === 'MEDIA_BUCKET' && deps.mediaBucket) {
      fn.setEnvironment(variable, deps.mediaBucket.bucketName);
      if ((REST_RECORDING_ACCESS[name] ?? 'read') === 'delete') grantRecordingDeletion(fn, deps.mediaBucket);
      else
        acknowledgeGrantWildcards(
          fn,
          grantBucketPrefix(fn.function, 'media', deps.mediaBucket, 'read', 'recordings/'),
          'Recording keys are chosen per meeting at run time; reads are limited to the recordings/ prefix.',
        );
    } else
      throw new TypeError(
        `REST Lambda ${name} reads ${variable}: lib/rest-routes.ts does not know its value`,
      );
  }
  return fn;
}

/** List and delete under `recordings/` only (deleting a meeting's recording). */
function grantRecordingDeletion(fn: ParleyFunction, bucket: IBucket): void {
  acknowledgeGrantWildcards(
    fn,
    iam.Grant.addToPrincipal({
      grantee: fn.function,
      actions: ['s3:DeleteObject'],
      resourceArns: [bucket.arnForObjects('recordings/*')],
    }),
    'Recording keys are chosen per meeting at run time; deletes are limited to the recordings/ prefix.',
  );
  acknowledgeGrantWildcards(
    fn,
    iam.Grant.addToPrincipal({
      grantee: fn.function,
      actions: ['s3:ListBucket'],
      resourceArns: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': ['recordings/*'] } },
    }),
    "Listing is limited to keys under recordings/ (s3:prefix condition): finds a meeting's recording objects.",
  );
}

function assertReadOnly(lambda: string, key: string, access: TableAccess): void {
  const actions =
    typeof access === 'string'
      ? [access]
      : Array.isArray(access)
        ? access
        : [
            ...((access as { table?: readonly string[] }).table ?? []),
            ...Object.values((access as { indexes?: object }).indexes ?? {}).flat(),
          ];
  for (const action of actions as string[]) {
    if (!READ_ACTIONS.includes(action as DynamoDbAction) && action !== 'read') {
      throw new TypeError(`${lambda} reads ${key} (REST_LAMBDAS) but REST_TABLE_ACCESS grants ${action}`);
    }
  }
}
