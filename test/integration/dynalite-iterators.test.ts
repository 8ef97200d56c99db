import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { tableName } from '../../core/config';
import {
  createLocalClients,
  type LocalAwsClients,
  type RunningEmulators,
  startEmulators,
} from '../../local/aws-emulators';
import { dynalitesAbstractLevel } from '../../local/dynalite-iterators';
import { waitFor } from '../helpers/live';

const logger = new Logger({ serviceName: 'dynalite-iterators-test', logLevel: 'SILENT' });

interface Store {
  attachResource(resource: object): void;
  detachResource(resource: object): void;
}

/** Iterators dynalite's store opened and has not closed yet (seen through the store's own resource registry). */
function trackOpenIterators(): { open: Set<object>; restore(): void } {
  const proto = dynalitesAbstractLevel().AbstractLevel.prototype as Store;
  const { attachResource, detachResource } = proto;
  const open = new Set<object>();
  proto.attachResource = function (this: Store, resource: object) {
    if (typeof (resource as { next?: unknown }).next === 'function') open.add(resource);
    attachResource.call(this, resource);
  };
  proto.detachResource = function (this: Store, resource: object) {
    open.delete(resource);
    detachResource.call(this, resource);
  };
  return {
    open,
    restore: () => {
      proto.attachResource = attachResource;
      proto.detachResource = detachResource;
    },
  };
}

describe('dynalite store iterators', () => {
  let emulators: RunningEmulators;
  let clients: LocalAwsClients;
  let tracker: ReturnType<typeof trackOpenIterators>;

  beforeAll(async () => {
    tracker = trackOpenIterators();
    emulators = await startEmulators({ logger });
    clients = createLocalClients(emulators.endpoints);
  });

  afterAll(async () => {
    tracker?.restore();
    clients?.destroy();
    await emulators?.stop();
  });

  it('are closed after every Query and Scan, read to the end or stopped early by a Limit', async () => {
    // Prepare
    const doc = DynamoDBDocumentClient.from(clients.dynamodb);
    const TableName = tableName('meetings', emulators.env);
    for (let i = 0; i < 5; i++) {
      await doc.send(
        new PutCommand({
          TableName,
          Item: { meetingId: `m-${i}`, ownerId: 'u-1', createdAt: `2026-01-0${i + 1}T00:00:00Z`, title: 't' },
        }),
      );
    }
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
});
