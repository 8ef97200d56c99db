/**
 * The sharded fan-out on the local stack (dynalite, local SQS with both FIFO queues and their
 * event sources, the gateway emulator, the real fan-out and fanout-shard handlers). Shards of 3
 * connections (FANOUT_SHARD_SIZE), so 8 subscribers make three shards: the fan-out posts to
 * shard 0 and the fanout-shard Lambda to shards 1 and 2, each from its own FIFO group.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../../core/clients/dynamodb';
import { tableName } from '../../core/config';
import type { PipelineEvent } from '../../core/pipeline/events';
import { meetingTopic } from '../../core/realtime/connection-repository';
import { type LocalStack, startLocalStack } from '../../local/stack';
import {
  type RecordingClient,
  range,
  rawFinalSeqs,
  sendTranscriptEvent,
  storedFinals,
  subscribedClient,
  waitFor,
} from '../helpers/live';
import { createLiveMeeting, finalEvent } from '../helpers/meetings';

const SHARD_SIZE = 3;
const USERS = Array.from({ length: 8 }, (_, i) => `viewer-${i}`);
/** Subscribed one after another, so viewer-i holds slot i: shard floor(i / 3). */
const shardOf = (user: string) => Math.floor(USERS.indexOf(user) / SHARD_SIZE);

let stack: LocalStack;
let previousShardSize: string | undefined;

beforeAll(async () => {
  previousShardSize = process.env.FANOUT_SHARD_SIZE;
  process.env.FANOUT_SHARD_SIZE = String(SHARD_SIZE);
  stack = await startLocalStack({ httpRoutes: [], logLevel: 'ERROR' });
});
afterAll(async () => {
  await stack?.stop();
  if (previousShardSize === undefined) delete process.env.FANOUT_SHARD_SIZE;
  else process.env.FANOUT_SHARD_SIZE = previousShardSize;
});

const newMeeting = () => createLiveMeeting({ ownerId: 'owner', title: 'sharded', sharedWith: USERS });
const final = (meetingId: string, seq: number) => finalEvent(meetingId, seq);
const send = (event: PipelineEvent) => sendTranscriptEvent(event);

/** One client per viewer, subscribed in order (each waits for its replay to complete). */
async function subscribeAll(meetingId: string): Promise<Map<string, RecordingClient>> {
  const clients = new Map<string, RecordingClient>();
  for (const user of USERS) clients.set(user, await subscribedClient(stack, user, meetingId));
  return clients;
}

async function storedShards(meetingId: string): Promise<Map<string, number>> {
  const out = await dynamo().send(
    new QueryCommand({
      TableName: tableName('subscriptions'),
      KeyConditionExpression: 'topic = :t',
      ExpressionAttributeValues: { ':t': meetingTopic(meetingId) },
    }),
  );
  return new Map((out.Items ?? []).map((i) => [String(i.userId), Number(i.shard ?? 0)]));
}

async function settled(): Promise<void> {
  await stack.fanout.idle();
  await stack.fanoutShards.idle();
}

describe('the sharded fan-out', () => {
  it('puts each subscription in a shard of at most the shard size, in subscription order', async () => {
    // Prepare
    const meetingId = await newMeeting();

    // Act
    const clients = await subscribeAll(meetingId);

    // Assess
    const shards = await storedShards(meetingId);
    expect([...shards.entries()].sort()).toEqual(USERS.map((u) => [u, shardOf(u)]).sort());
    for (const c of clients.values()) c.close();
  });

  it('gets every final to every subscriber of a meeting larger than one shard, once each and in order', async () => {
    // Prepare
    const meetingId = await newMeeting();
    const clients = await subscribeAll(meetingId);

    // Act
    for (const seq of range(1, 6)) await send(final(meetingId, seq));
    await waitFor('every subscriber to get 6 finals', () =>
      [...clients.values()].every((c) => rawFinalSeqs(c, meetingId).length >= 6),
    );
    await settled();

    // Assess
    expect((await storedFinals(meetingId)).map((f) => f.seq)).toEqual(range(1, 6));
    for (const [user, client] of clients) {
      expect({ user, seqs: rawFinalSeqs(client, meetingId) }).toEqual({ user, seqs: range(1, 6) });
    }
    for (const c of clients.values()) c.close();
  });

  it('retries only the failing connections of one shard, and no subscriber gets a final twice', async () => {
    // Prepare
    const meetingId = await newMeeting();
    const clients = await subscribeAll(meetingId);
    const before = new Map([...clients].map(([user, c]) => [user, c.messages.length]));
    /** Management API posts per user since the fault was injected. */
    const posts = new Map<string, number>();
    stack.ws.injectPostFault({
      // Every first post of a message to shard 2's connections fails (500); the retry works.
      match: (c) => {
        const user = String(c.authorizer?.userId);
        const n = (posts.get(user) ?? 0) + 1;
        posts.set(user, n);
        return shardOf(user) === 2 && n % 2 === 1;
      },
      status: 500,
      errorType: 'InternalServerErrorException',
    });

    // Act
    for (const seq of range(1, 4)) await send(final(meetingId, seq));
    await waitFor('every subscriber to get 4 finals', () =>
      [...clients.values()].every((c) => rawFinalSeqs(c, meetingId).length >= 4),
    );
    await settled();
    stack.ws.injectPostFault(undefined);

    // Assess
    for (const [user, client] of clients) {
      expect({ user, seqs: rawFinalSeqs(client, meetingId) }).toEqual({ user, seqs: range(1, 4) });
      // Nobody was disconnected: one subscription each.
      expect(client.messages.filter((m) => m.type === 'subscribed')).toHaveLength(1);
      const received = client.messages.length - (before.get(user) ?? 0);
      // Shards 0 and 1: one post per message received; shard 2: each message posted twice.
      expect({ user, posts: posts.get(user) }).toEqual({
        user,
        posts: shardOf(user) === 2 ? 2 * received : received,
      });
    }
    for (const c of clients.values()) c.close();
  });
});
