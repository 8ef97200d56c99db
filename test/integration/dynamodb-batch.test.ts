/**
 * Batch reads and writes when DynamoDB leaves items unprocessed (as it does under throttling),
 * against dynalite answering exactly that on the wire: retried, and never dropped silently.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../../core/clients/dynamodb';
import { UnprocessedItemsError } from '../../core/clients/dynamodb-batch';
import { tableName } from '../../core/config';
import { MeetingRepository } from '../../core/meetings/repository';
import { newMeetingRecord } from '../../core/meetings/service';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import { useEmulators } from '../helpers/emulators';

const emulators = useEmulators();
afterEach(async () => {
  await emulators().failDynamo('BatchWriteItem', 0);
  await emulators().failDynamo('BatchGetItem', 0);
});

async function subscribedConnection(id: string, topics: string[]): Promise<ConnectionRepository> {
  const repo = new ConnectionRepository();
  await repo.add(id, 'alice');
  for (const topic of topics) await repo.subscribe(topic, id, 'alice');
  return repo;
}

async function subscriptionsOf(connectionId: string): Promise<number> {
  const out = await dynamo().send(
    new QueryCommand({
      TableName: tableName('subscriptions'),
      IndexName: 'byConnection',
      KeyConditionExpression: 'connectionId = :c',
      ExpressionAttributeValues: { ':c': connectionId },
    }),
  );
  return out.Items?.length ?? 0;
}

async function meetings(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { meeting } = newMeetingRecord({ ownerId: 'alice', title: `m${i}`, meetingUrl: 'local://x' });
    await dynamo().send(new PutCommand({ TableName: tableName('meetings'), Item: meeting }));
    ids.push(meeting.meetingId);
  }
  return ids;
}

describe('batch operations with unprocessed items', () => {
  it('retries deletes DynamoDB left unprocessed until every subscription is gone', async () => {
    const repo = await subscribedConnection('conn-retry', ['meeting#a', 'meeting#b', 'meeting#c']);
    await emulators().failDynamo('BatchWriteItem', 3, 'unprocessed');

    await repo.remove('conn-retry');

    expect(await subscriptionsOf('conn-retry')).toBe(0);
  });

  it('fails with UnprocessedItemsError when deletes stay unprocessed, instead of dropping them', async () => {
    const repo = await subscribedConnection('conn-stuck', ['meeting#a', 'meeting#b']);
    await emulators().failDynamo('BatchWriteItem', 1_000, 'unprocessed');

    const error = await repo.remove('conn-stuck').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnprocessedItemsError);
    expect(error).toMatchObject({ operation: 'BatchWriteItem', count: 2 });
    expect(await subscriptionsOf('conn-stuck')).toBe(2);
  });

  it('retries reads DynamoDB left unprocessed and returns every meeting', async () => {
    const ids = await meetings(3);
    await emulators().failDynamo('BatchGetItem', 2, 'unprocessed');

    const states = await new MeetingRepository().getControlStates(ids);

    expect([...states.keys()].sort()).toEqual([...ids].sort());
  });

  it('fails with UnprocessedItemsError when reads stay unprocessed, instead of answering with fewer', async () => {
    const ids = await meetings(2);
    await emulators().failDynamo('BatchGetItem', 1_000, 'unprocessed');

    const error = await new MeetingRepository().getControlStates(ids).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnprocessedItemsError);
  });
});
