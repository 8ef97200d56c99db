import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { tableName } from '../../core/config';
import {
  createLocalClients,
  type LocalAwsClients,
  type RunningEmulators,
  startEmulators,
} from '../../local/aws-emulators';
import { dynalitesStore } from '../../local/dynalite-memory';
import { waitFor } from '../helpers/live';

const logger = new Logger({ serviceName: 'dynalite-iterators-test', logLevel: 'SILENT' });

interface Store {
  attachResource(resource: object): void;
  detachResource(resource: object): void;
}

interface RawIterable {
  iterator(options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }): AsyncIterable<[Buffer, Buffer]>;
}

/**
 * Iterators dynalite's store opened and has not closed yet (seen through the store's own resource
 * registry), and the stores they read.
 */
function trackOpenIterators(): { open: Set<object>; stores: Set<RawIterable>; restore(): void } {
  const proto = dynalitesStore().AbstractLevel.prototype as Store;
  const { attachResource, detachResource } = proto;
  const open = new Set<object>();
  const stores = new Set<RawIterable>();
  proto.attachResource = function (this: Store, resource: object) {
    if (typeof (resource as { next?: unknown }).next === 'function') {
      open.add(resource);
      stores.add((resource as { db: RawIterable }).db);
    }
    attachResource.call(this, resource);
  };
  proto.detachResource = function (this: Store, resource: object) {
    open.delete(resource);
    detachResource.call(this, resource);
  };
  return {
    open,
    stores,
    restore: () => {
      proto.attachResource = attachResource;
      proto.detachResource = detachResource;
    },
  };
}

describe('dynalite in-memory store', () => {
  let emulators: RunningEmulators;
  let clients: LocalAwsClients;
  let tracker: ReturnType<typeof trackOpenIterators>;

  beforeAll(async () => {
    tracker = trackOpenIterators();
    emulators = await startEmulators({ logger });
    clients = createLocalClients(emulators.endpoints);
  });

  /** `count` meeting rows of `ownerId`, written one by one. */
  async function putMeetings(prefix: string, ownerId: string, count: number) {
    const doc = DynamoDBDocumentClient.from(clients.dynamodb);
    const TableName = tableName('meetings', emulators.env);
    for (let i = 0; i < count; i++) {
      const Item = {
        meetingId: `${prefix}-${i}`,
        ownerId,
        createdAt: `2026-01-0${(i % 9) + 1}T00:00:00Z`,
        title: 't',
      };
      await doc.send(new PutCommand({ TableName, Item }));
    }
    return { doc, TableName };
  }

  afterAll(async () => {
    tracker?.restore();
    clients?.destroy();
    await emulators?.stop();
  });

  it('closes its iterators after every Query and Scan, read to the end or stopped early by a Limit', async () => {
    // Prepare
    const { doc, TableName } = await putMeetings('m', 'u-1', 5);
    const byOwner = (Limit?: number) =>
      new QueryCommand({
        TableName,
        IndexName: 'byOwner',
        KeyConditionExpression: 'ownerId = :owner',
        ExpressionAttributeValues: { ':owner': 'u-1' },
        Limit,
      });

    // Act: 40 reads of each kind
    const pages: number[] = [];
    for (let i = 0; i < 10; i++) {
      pages.push((await doc.send(byOwner())).Items?.length ?? -1);
      pages.push((await doc.send(byOwner(2))).Items?.length ?? -1);
      const key = {
        TableName,
        KeyConditionExpression: 'meetingId = :m',
        ExpressionAttributeValues: { ':m': 'm-1' },
      };
      pages.push((await doc.send(new QueryCommand(key))).Items?.length ?? -1);
      pages.push((await doc.send(new ScanCommand({ TableName, Limit: 3 }))).Items?.length ?? -1);
    }

    // Assess: results as DynamoDB gives them, and no iterator left open once the reads are done
    // (before the fix each read left one open for the life of the process).
    expect(pages).toEqual(Array.from({ length: 10 }, () => [5, 2, 1, 3]).flat());
    await waitFor('every store iterator to be closed', () => tracker.open.size === 0, 10_000);
  });

  it('keeps each key and value in memory of its own size, not in a shared 8 KB pool slab', async () => {
    // Prepare: items written one by one, as Parley writes segments
    const { doc, TableName } = await putMeetings('k', 'u-2', 20);
    await doc.send(new ScanCommand({ TableName, Limit: 1 })); // lets the tracker see the store

    // Act: the store's own keys and values
    const held: Array<{ bytes: number; backing: number }> = [];
    for (const store of tracker.stores) {
      for await (const [key, value] of store.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' })) {
        held.push({ bytes: key.byteLength, backing: key.buffer.byteLength });
        held.push({ bytes: value.byteLength, backing: value.buffer.byteLength });
      }
    }

    // Assess: before the fix each (~100-byte) key and value kept its 8 KB pool slab alive
    expect(held.length).toBeGreaterThan(40);
    expect(held.filter((h) => h.backing !== h.bytes)).toEqual([]);
  });
});
