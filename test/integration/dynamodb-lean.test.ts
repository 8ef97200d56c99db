/**
 * The lean DynamoDB client (core/clients/dynamodb-lean.ts) over real sockets: every operation it
 * supports against dynalite, read back with the SDK's document client where that proves the
 * stored form, and its errors and retries (dynalite's own errors, injected 500s, and throttling
 * answered by a proxy in front of dynalite exactly as DynamoDB answers it).
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand as SdkGetCommand, PutCommand as SdkPutCommand } from '@aws-sdk/lib-dynamodb';
import { AwsJsonClient, AwsServiceError } from '../../core/clients/aws-json';
import { dynamo } from '../../core/clients/dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  LeanDynamoClient,
  leanDynamo,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '../../core/clients/dynamodb-lean';
import { tableName } from '../../core/config';
import { useEmulators } from '../helpers/emulators';

const emulators = useEmulators();
let meetings: string;
let subscriptions: string;

beforeAll(() => {
  meetings = tableName('meetings');
  subscriptions = tableName('subscriptions');
});
afterEach(() => {
  emulators().failDynamo('GetItem', 0);
});

const ITEM = {
  meetingId: 'm-types',
  title: 'Weekly (sync) — ünïcode',
  count: 42,
  ratio: 0.25,
  negative: -7,
  live: true,
  ended: false,
  nothing: null,
  keywords: ['alpha', 'beta'],
  nested: { a: 1, b: { c: 'deep' }, list: [1, 'two', { three: 3 }] },
  bytes: new Uint8Array([0, 1, 2, 250]),
  tags: new Set(['x', 'y']),
  scores: new Set([1, 2.5]),
  empty: '',
  emptyList: [],
  emptyMap: {},
  skipped: undefined,
};

describe('lean DynamoDB client against dynalite', () => {
  it('stores an item of every value type as the SDK document client stores it, and reads it back', async () => {
    await leanDynamo().send(new PutCommand({ TableName: meetings, Item: ITEM }));
    const { Item: viaSdk } = await dynamo().send(
      new SdkGetCommand({ TableName: meetings, Key: { meetingId: 'm-types' } }),
    );
    const { Item: viaLean } = await leanDynamo().send(
      new GetCommand({ TableName: meetings, Key: { meetingId: 'm-types' }, ConsistentRead: true }),
    );
    const { skipped: _skipped, ...stored } = ITEM;
    expect(viaLean).toEqual(stored);
    expect(viaSdk).toEqual(stored);
    expect(viaLean).not.toHaveProperty('skipped');

    await dynamo().send(new SdkPutCommand({ TableName: meetings, Item: { ...stored, meetingId: 'm-sdk' } }));
    const { Item: sdkWritten } = await leanDynamo().send(
      new GetCommand({ TableName: meetings, Key: { meetingId: 'm-sdk' } }),
    );
    expect(sdkWritten).toEqual({ ...stored, meetingId: 'm-sdk' });
  });

  it('answers an absent key with no Item and reads only the projected attributes', async () => {
    await expect(
      leanDynamo().send(new GetCommand({ TableName: meetings, Key: { meetingId: 'nope' } })),
    ).resolves.toEqual(expect.not.objectContaining({ Item: expect.anything() }));
    const { Item } = await leanDynamo().send(
      new GetCommand({
        TableName: meetings,
        Key: { meetingId: 'm-types' },
        ProjectionExpression: '#t, #c',
        ExpressionAttributeNames: { '#t': 'title', '#c': 'count' },
      }),
    );
    expect(Item).toEqual({ title: ITEM.title, count: 42 });
  });

  it('refuses a failed condition with ConditionalCheckFailedException and no write', async () => {
    await leanDynamo().send(new PutCommand({ TableName: meetings, Item: { meetingId: 'm-cond', v: 1 } }));
    const error = await leanDynamo()
      .send(
        new PutCommand({
          TableName: meetings,
          Item: { meetingId: 'm-cond', v: 2 },
          ConditionExpression: 'attribute_not_exists(meetingId)',
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      name: 'ConditionalCheckFailedException',
      $metadata: { httpStatusCode: 400 },
    });
    const { Item } = await leanDynamo().send(
      new GetCommand({ TableName: meetings, Key: { meetingId: 'm-cond' } }),
    );
    expect(Item).toEqual({ meetingId: 'm-cond', v: 1 });
  });

  it('updates with SET, ADD and list_append and returns the attributes asked for', async () => {
    const update = (
      expression: string,
      values: Record<string, unknown>,
      returns: 'UPDATED_NEW' | 'ALL_NEW',
    ) =>
      leanDynamo().send(
        new UpdateCommand({
          TableName: meetings,
          Key: { meetingId: 'm-upd' },
          UpdateExpression: expression,
          ExpressionAttributeValues: values,
          ReturnValues: returns,
        }),
      );
    await expect(update('ADD seqCounter :n', { ':n': 3 }, 'UPDATED_NEW')).resolves.toEqual({
      Attributes: { seqCounter: 3 },
    });
    await expect(update('ADD seqCounter :n', { ':n': 2 }, 'UPDATED_NEW')).resolves.toEqual({
      Attributes: { seqCounter: 5 },
    });
    const out = await update(
      'SET commandLog = list_append(if_not_exists(commandLog, :empty), :entry), #s = :s',
      { ':empty': [], ':entry': [{ state: 'paused', at: 1 }], ':s': 'live' },
      'ALL_NEW',
    ).catch((e: unknown) => e);
    // `#s` without ExpressionAttributeNames is DynamoDB's ValidationException, not retried.
    expect(out).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    const fixed = await leanDynamo().send(
      new UpdateCommand({
        TableName: meetings,
        Key: { meetingId: 'm-upd' },
        UpdateExpression: 'SET commandLog = list_append(if_not_exists(commandLog, :empty), :entry), #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':empty': [], ':entry': [{ state: 'paused', at: 1 }], ':s': 'live' },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expect(fixed.Attributes).toEqual({
      meetingId: 'm-upd',
      seqCounter: 5,
      status: 'live',
      commandLog: [{ state: 'paused', at: 1 }],
    });
  });

  it('deletes and returns the old item', async () => {
    await leanDynamo().send(
      new PutCommand({ TableName: meetings, Item: { meetingId: 'm-del', title: 'bye' } }),
    );
    const out = await leanDynamo().send(
      new DeleteCommand({ TableName: meetings, Key: { meetingId: 'm-del' }, ReturnValues: 'ALL_OLD' }),
    );
    expect(out.Attributes).toEqual({ meetingId: 'm-del', title: 'bye' });
    const { Item } = await leanDynamo().send(
      new GetCommand({ TableName: meetings, Key: { meetingId: 'm-del' } }),
    );
    expect(Item).toBeUndefined();
  });

  it('writes and deletes in batches and reads in batches with a projection', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => `c-${i}`);
    await leanDynamo().send(
      new BatchWriteCommand({
        RequestItems: {
          [subscriptions]: ids.map((connectionId, i) => ({
            PutRequest: {
              Item: {
                topic: 'meeting#batch',
                connectionId,
                userId: 'u',
                expiresAt: 2_000_000_000,
                shard: i % 2,
              },
            },
          })),
        },
      }),
    );
    const got = await leanDynamo().send(
      new BatchGetCommand({
        RequestItems: {
          [subscriptions]: {
            Keys: ids.slice(0, 3).map((connectionId) => ({ topic: 'meeting#batch', connectionId })),
            ProjectionExpression: 'connectionId, #s',
            ExpressionAttributeNames: { '#s': 'shard' },
          },
        },
      }),
    );
    expect(
      got.Responses?.[subscriptions]?.sort((a, b) => a.connectionId.localeCompare(b.connectionId)),
    ).toEqual([
      { connectionId: 'c-0', shard: 0 },
      { connectionId: 'c-1', shard: 1 },
      { connectionId: 'c-2', shard: 0 },
    ]);
    const out = await leanDynamo().send(
      new BatchWriteCommand({
        RequestItems: {
          [subscriptions]: [{ DeleteRequest: { Key: { topic: 'meeting#batch', connectionId: 'c-6' } } }],
        },
      }),
    );
    expect(out.UnprocessedItems?.[subscriptions] ?? []).toEqual([]);
  });

  it('queries a page at a time, on the table and on an index, with filter and projection', async () => {
    const pages: string[][] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const out = await leanDynamo().send(
        new QueryCommand({
          TableName: subscriptions,
          KeyConditionExpression: 'topic = :t',
          FilterExpression: 'expiresAt > :now',
          ProjectionExpression: 'connectionId, #shard',
          ExpressionAttributeNames: { '#shard': 'shard' },
          ExpressionAttributeValues: { ':t': 'meeting#batch', ':now': 1_000 },
          Limit: 4,
          ExclusiveStartKey: cursor,
        }),
      );
      pages.push((out.Items ?? []).map((item) => item.connectionId));
      cursor = out.LastEvaluatedKey;
      if (cursor) expect(cursor).toEqual({ topic: 'meeting#batch', connectionId: expect.any(String) });
    } while (cursor);
    expect(pages[0]).toEqual(['c-0', 'c-1', 'c-2', 'c-3']);
    expect(pages.flat()).toEqual(['c-0', 'c-1', 'c-2', 'c-3', 'c-4', 'c-5']);

    const byConnection = await leanDynamo().send(
      new QueryCommand({
        TableName: subscriptions,
        IndexName: 'byConnection',
        KeyConditionExpression: 'connectionId = :c',
        ExpressionAttributeValues: { ':c': 'c-3' },
        ProjectionExpression: 'topic',
      }),
    );
    expect(byConnection.Items).toEqual([{ topic: 'meeting#batch' }]);
    const newestFirst = await leanDynamo().send(
      new QueryCommand({
        TableName: subscriptions,
        KeyConditionExpression: 'topic = :t',
        ExpressionAttributeValues: { ':t': 'meeting#batch' },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    expect(newestFirst.Items?.[0]?.connectionId).toBe('c-5');
  });

  it('scans with a filter', async () => {
    const out = await leanDynamo().send(
      new ScanCommand({
        TableName: subscriptions,
        FilterExpression: 'topic = :t AND #shard = :one',
        ExpressionAttributeNames: { '#shard': 'shard' },
        ExpressionAttributeValues: { ':t': 'meeting#batch', ':one': 1 },
        ProjectionExpression: 'connectionId',
      }),
    );
    expect((out.Items ?? []).map((i) => i.connectionId).sort()).toEqual(['c-1', 'c-3', 'c-5']);
  });

  it('names a missing table ResourceNotFoundException and refuses values DynamoDB cannot store before sending', async () => {
    await expect(
      leanDynamo().send(new GetCommand({ TableName: 'no-such-table', Key: { meetingId: 'x' } })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    await expect(
      leanDynamo().send(
        new PutCommand({ TableName: meetings, Item: { meetingId: 'm-bad', at: new Date() } }),
      ),
    ).rejects.toMatchObject({ name: 'MarshallError' });
    await expect(
      leanDynamo().send(new PutCommand({ TableName: meetings, Item: { meetingId: 'm-bad', n: Number.NaN } })),
    ).rejects.toMatchObject({ name: 'MarshallError' });
  });

  it('retries a 500 from DynamoDB and gives up after five attempts with its error', async () => {
    await leanDynamo().send(new PutCommand({ TableName: meetings, Item: { meetingId: 'm-retry' } }));
    emulators().failDynamo('GetItem', 2);
    const { Item } = await leanDynamo().send(
      new GetCommand({ TableName: meetings, Key: { meetingId: 'm-retry' } }),
    );
    expect(Item).toEqual({ meetingId: 'm-retry' });

    emulators().failDynamo('GetItem', 6);
    await expect(
      leanDynamo().send(new GetCommand({ TableName: meetings, Key: { meetingId: 'm-retry' } })),
    ).rejects.toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
    // Five attempts used five of the six faults: the next call meets one more, then succeeds.
    await expect(
      leanDynamo().send(new GetCommand({ TableName: meetings, Key: { meetingId: 'm-retry' } })),
    ).resolves.toEqual({ Item: { meetingId: 'm-retry' } });
  });
});

describe('lean DynamoDB client under throttling', () => {
  let proxy: Server;
  let throttleNext = 0;
  let requests = 0;

  beforeAll(async () => {
    const target = new URL(emulators().endpoints.dynamodb);
    // In front of dynalite: answers the next `throttleNext` requests as DynamoDB answers a
    // throttled one, and passes everything else through unchanged.
    proxy = createServer((req, res) => {
      requests++;
      if (throttleNext > 0) {
        throttleNext--;
        req.resume();
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(
          JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
            message: 'The level of configured provisioned throughput for the table was exceeded.',
          }),
        );
        return;
      }
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  function throughProxy(maxAttempts: number): LeanDynamoClient {
    return new LeanDynamoClient(
      new AwsJsonClient({
        service: 'dynamodb',
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        targetPrefix: 'DynamoDB_20120810',
        credentials: async () => ({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }),
        maxAttempts,
        backoff: { baseMs: 1, maxDelayMs: 5 },
      }),
    );
  }

  it('retries a throttled request until DynamoDB accepts it', async () => {
    const client = throughProxy(5);
    throttleNext = 3;
    requests = 0;
    await client.send(new PutCommand({ TableName: meetings, Item: { meetingId: 'm-throttled' } }));
    expect(requests).toBe(4);
    const { Item } = await client.send(
      new GetCommand({ TableName: meetings, Key: { meetingId: 'm-throttled' } }),
    );
    expect(Item).toEqual({ meetingId: 'm-throttled' });
    client.destroy();
  });

  it('throws ProvisionedThroughputExceededException when throttling outlasts the attempts, and never retries a validation error', async () => {
    const client = throughProxy(3);
    throttleNext = 5;
    requests = 0;
    await expect(
      client.send(new GetCommand({ TableName: meetings, Key: { meetingId: 'm-throttled' } })),
    ).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(requests).toBe(3);
    throttleNext = 0;
    requests = 0;
    await expect(
      client.send(new GetCommand({ TableName: meetings, Key: { wrongKey: 'x' } })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    expect(requests).toBe(1);
    client.destroy();
  });
});
