/**
 * The fan-out under faults, on the local stack (dynalite, local SQS, the gateway emulator and
 * the real handlers): a subscriber whose posts fail, a connection that is gone, an SQS
 * redelivery, a failed DynamoDB write and a batch past the function timeout. Each case asserts that every client's finals equal
 * the store, with no duplicate and no loss.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../../core/clients/dynamodb';
import { dlqUrl, queueUrl, tableName } from '../../core/config';
import type { PipelineEvent } from '../../core/pipeline/events';
import { meetingTopic } from '../../core/realtime/connection-repository';
import { QUEUES } from '../../core/resources';
import { createLocalClients } from '../../local/aws-emulators';
import { fanoutHandler } from '../../local/lambda-routes';
import { startSqsEventSource } from '../../local/sqs-event-source';
import { type LocalStack, startLocalStack } from '../../local/stack';
import {
  range,
  rawFinalSeqs,
  sendTranscriptEvent,
  storedSeqs,
  subscribedClient,
  waitFor,
} from '../helpers/live';
import { createLiveMeeting, finalEvent } from '../helpers/meetings';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ httpRoutes: [], logLevel: 'ERROR' });
});
afterAll(() => stack?.stop());

const newMeeting = (readers: string[] = []) => createLiveMeeting({ title: 'faults', sharedWith: readers });
const final = (meetingId: string, seq: number) => finalEvent(meetingId, seq);
const send = (event: PipelineEvent, dedup?: string) => sendTranscriptEvent(event, { dedup });
const subscribed = (user: string, meetingId: string) => subscribedClient(stack, user, meetingId);

describe('the fan-out under faults', () => {
  it('disconnects a failing subscriber, which then replays every final, while the others get each final exactly once', async () => {
    // Prepare
    const meetingId = await newMeeting(['bob', 'carol']);
    const alice = await subscribed('alice', meetingId);
    const bob = await subscribed('bob', meetingId);
    const carol = await subscribed('carol', meetingId);
    let victim: string | undefined;
    stack.ws.injectPostFault({
      // Only bob's first connection fails; the one it reconnects with works.
      match: (c) => {
        if (c.authorizer?.userId !== 'bob') return false;
        victim ??= c.connectionId;
        return c.connectionId === victim;
      },
      status: 500,
      errorType: 'InternalServerErrorException',
    });

    // Act
    for (const seq of range(1, 5)) await send(final(meetingId, seq));
    await waitFor('alice and carol to get 5 finals', () =>
      [alice, carol].every((c) => rawFinalSeqs(c, meetingId).length >= 5),
    );
    await waitFor("bob's replay after the reconnect", () => bob.finals.length >= 5, 30_000);
    for (const seq of range(6, 8)) await send(final(meetingId, seq));
    await waitFor('every client to get 8 finals', () =>
      [alice, bob, carol].every((c) => c.finals.length >= 8),
    );
    await stack.fanout.idle();
    stack.ws.injectPostFault(undefined);

    // Assess
    expect(await storedSeqs(meetingId)).toEqual(range(1, 8));
    expect(rawFinalSeqs(alice, meetingId)).toEqual(range(1, 8));
    expect(rawFinalSeqs(carol, meetingId)).toEqual(range(1, 8));
    expect(bob.finals.map((f) => f.seq)).toEqual(range(1, 8));
    expect(bob.messages.filter((m) => m.type === 'subscribed').length).toBeGreaterThanOrEqual(2);
    for (const c of [alice, bob, carol]) c.close();
  });

  it('drops a gone connection on its first 410 and the live subscriber gets every final once', async () => {
    const meetingId = await newMeeting();
    const alice = await subscribed('alice', meetingId);
    const ghost = `Ghost${randomUUID().slice(0, 8)}=`;
    await dynamo().send(
      new PutCommand({
        TableName: tableName('subscriptions'),
        Item: { topic: meetingTopic(meetingId), connectionId: ghost, userId: 'alice', expiresAt: 4e9 },
      }),
    );

    for (const seq of range(1, 3)) await send(final(meetingId, seq));
    await waitFor('3 finals', () => alice.finals.length >= 3);
    await stack.fanout.idle();

    expect(rawFinalSeqs(alice, meetingId)).toEqual(await storedSeqs(meetingId));
    expect(rawFinalSeqs(alice, meetingId)).toEqual([1, 2, 3]);
    alice.close();
  });

  it('sends a redelivered final once', async () => {
    const meetingId = await newMeeting();
    const alice = await subscribed('alice', meetingId);

    await send(final(meetingId, 1), 'delivery-1');
    await send(final(meetingId, 1), 'redelivery-1');
    await send(final(meetingId, 2));
    await waitFor('2 finals', () => alice.finals.length >= 2);
    await stack.fanout.idle();

    expect(rawFinalSeqs(alice, meetingId)).toEqual([1, 2]);
    expect(await storedSeqs(meetingId)).toEqual([1, 2]);
    alice.close();
  });

  it('retries a final whose DynamoDB write failed, and the client gets it once, in order', async () => {
    const meetingId = await newMeeting();
    const alice = await subscribed('alice', meetingId);
    await send(final(meetingId, 1));
    await waitFor('the first final', () => alice.finals.length >= 1);
    await stack.fanout.idle();

    // More failures than the SDK's own attempts: the record fails and SQS delivers it again.
    await stack.emulators.failDynamo('PutItem', 6);
    await send(final(meetingId, 2));
    await send(final(meetingId, 3));
    await waitFor('3 finals', () => alice.finals.length >= 3, 60_000);
    await stack.fanout.idle();

    expect(await storedSeqs(meetingId)).toEqual([1, 2, 3]);
    expect(rawFinalSeqs(alice, meetingId)).toEqual([1, 2, 3]);
    alice.close();
  });

  // Last: it replaces the stack's fan-out event source with one whose function timeout is 1 s.
  it('retries a batch whose fan-out ran past its function timeout, and the client still gets each final once, in order', async () => {
    // Prepare
    const meetingId = await newMeeting();
    const alice = await subscribed('alice', meetingId);
    await stack.fanout.idle();
    await stack.fanout.stop();
    const clients = createLocalClients(stack.emulators.endpoints);
    const def = QUEUES.transcriptEvents;
    const deliveries: string[] = [];
    let stalled = false;
    const source = startSqsEventSource({
      sqs: clients.sqs,
      queueUrl: queueUrl('transcriptEvents'),
      queueArn: stack.emulators.queueArns.transcriptEvents.queue,
      dlqUrl: dlqUrl('transcriptEvents'),
      maxReceiveCount: def.maxReceiveCount,
      batchSize: def.batchSize,
      visibilityTimeoutSeconds: def.visibilityTimeoutSeconds,
      functionTimeoutSeconds: 1,
      fifo: def.fifo,
      handler: async (event) => {
        for (const r of event.Records)
          deliveries.push(`${r.messageId}#${r.attributes.ApproximateReceiveCount}`);
        const result = await fanoutHandler(event);
        if (!stalled) {
          // The first batch does all its work, then outlives its 1 s timeout: Lambda would have
          // stopped it there, so its batch failed and comes back after it.
          stalled = true;
          const until = Date.now() + 1_500;
          while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return result;
      },
    });

    try {
      // Act
      await send(final(meetingId, 1));
      await waitFor('the retried batch', () => deliveries.some((d) => d.endsWith('#2')), 30_000);
      await source.idle();
      await send(final(meetingId, 2));
      await waitFor('2 finals', () => alice.finals.length >= 2);
      await source.idle();

      // Assess: delivered to the fan-out twice, to the client once; later finals unaffected.
      expect(deliveries.filter((d) => d.endsWith('#2'))).toHaveLength(1);
      expect(await storedSeqs(meetingId)).toEqual([1, 2]);
      expect(rawFinalSeqs(alice, meetingId)).toEqual([1, 2]);
    } finally {
      alice.close();
      await source.stop();
      clients.destroy();
    }
  });
});
