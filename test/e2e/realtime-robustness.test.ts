/**
 * The realtime path under bad luck and bad input, on the local stack: redelivered events,
 * a record that keeps failing, connections that vanished, and floods of malformed frames.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import { dynamo } from '../../core/clients/dynamodb';
import { sqs } from '../../core/clients/sqs';
import { dlqUrl, tableName } from '../../core/config';
import { MeetingRepository } from '../../core/meetings/repository';
import type { PipelineEvent } from '../../core/pipeline/events';
import { meetingTopic } from '../../core/realtime/connection-repository';
import { ERROR_CODES, type ServerMessage } from '../../core/realtime/protocol';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { RecordingClient, sendTranscriptEvent, waitFor } from '../helpers/live';
import { createLiveMeeting, finalEvent } from '../helpers/meetings';

const newMeeting = (keywords: string[] = []) => createLiveMeeting({ title: 'robustness', keywords });
const final = finalEvent;
/** Sends a raw message to the transcript queue; `dedup` overrides the event's deduplication id. */
const send = (body: PipelineEvent | string, group: string, dedup?: string) =>
  sendTranscriptEvent(body, { group, dedup });

const transcriptsFor = (c: RecordingClient, meetingId: string) =>
  c.messages.filter(
    (m): m is Extract<ServerMessage, { type: 'transcript' }> =>
      m.type === 'transcript' && m.meetingId === meetingId,
  );

describe('the realtime path under bad luck and bad input', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({ httpRoutes: [] });
  });
  afterAll(() => stack?.stop());

  it('stores and sends a redelivered final only once, with one alert', async () => {
    const meetingId = await newMeeting(['budget']);
    const client = new RecordingClient(stack, 'alice', meetingId);
    await waitFor('the subscription', () => client.messages.some((m) => m.type === 'replay_complete'));
    const event = final(meetingId, 1, 'The budget is approved.');
    await send(event, meetingId, 'first-delivery');
    await send(event, meetingId, 'redelivery-after-timeout'); // beyond SQS's own deduplication
    await send(final(meetingId, 2, 'Next item.'), meetingId);
    await waitFor('the later final', () =>
      transcriptsFor(client, meetingId).some((m) => m.transcript.seq === 2),
    );
    await stack.fanout.idle();
    expect(transcriptsFor(client, meetingId).map((m) => m.transcript.seq)).toEqual([1, 2]);
    expect(client.alerts.map((a) => a.seq)).toEqual([1]);
    const stored = await dynamo().send(
      new QueryCommand({
        TableName: tableName('segments'),
        KeyConditionExpression: 'meetingId = :m',
        ExpressionAttributeValues: { ':m': meetingId },
      }),
    );
    expect(stored.Items?.map((i) => i.seq)).toEqual([1, 2]);
    const meeting = await new MeetingRepository().get(meetingId);
    expect(meeting?.lastSeq).toBe(2);
    client.close();
  });

  it('retries a failing record and the later ones of its meeting only, then parks it in the DLQ', async () => {
    const stuck = await newMeeting();
    const other = await newMeeting();
    const client = new RecordingClient(stack, 'alice');
    await client.opened();
    client.client.subscribe(stuck);
    client.client.subscribe(other);
    await waitFor(
      'both subscriptions',
      () => client.messages.filter((m) => m.type === 'replay_complete').length === 2,
    );

    await send(final(stuck, 1, 'before the poison'), stuck);
    await send('this is not an event', stuck);
    await send(final(stuck, 2, 'after the poison'), stuck);
    for (let seq = 1; seq <= 5; seq++) await send(final(other, seq, `other ${seq}`), other);

    await waitFor('the other meeting', () => transcriptsFor(client, other).length === 5);
    await waitFor('the stuck meeting to go on', () =>
      transcriptsFor(client, stuck).some((m) => m.transcript.seq === 2),
    );
    await stack.fanout.idle();
    // Each event reached the client exactly once: nothing but the failing record was retried.
    expect(transcriptsFor(client, other).map((m) => m.transcript.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(transcriptsFor(client, stuck).map((m) => m.transcript.seq)).toEqual([1, 2]);
    // The poison record is in the DLQ after its max receives.
    const dead = await sqs().send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl('transcriptEvents'),
        MaxNumberOfMessages: 10,
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['this is not an event']);
    client.close();
  });

  it('removes a connection that vanished without $disconnect on the first 410, and others still receive', async () => {
    const meetingId = await newMeeting();
    const client = new RecordingClient(stack, 'alice', meetingId);
    await waitFor('the subscription', () => client.messages.some((m) => m.type === 'replay_complete'));
    const ghost = 'GhostConnId=';
    await dynamo().send(
      new PutCommand({
        TableName: tableName('connections'),
        Item: {
          connectionId: ghost,
          userId: 'alice',
          connectedAt: new Date().toISOString(),
          expiresAt: 4_000_000_000,
        },
      }),
    );
    await dynamo().send(
      new PutCommand({
        TableName: tableName('subscriptions'),
        Item: {
          topic: meetingTopic(meetingId),
          connectionId: ghost,
          userId: 'alice',
          expiresAt: 4_000_000_000,
        },
      }),
    );
    await send(final(meetingId, 1, 'hello ghost'), meetingId);
    await waitFor('the live client', () => transcriptsFor(client, meetingId).length === 1);
    await stack.fanout.idle();
    const conn = await dynamo().send(
      new GetCommand({ TableName: tableName('connections'), Key: { connectionId: ghost } }),
    );
    const sub = await dynamo().send(
      new GetCommand({
        TableName: tableName('subscriptions'),
        Key: { topic: meetingTopic(meetingId), connectionId: ghost },
      }),
    );
    expect(conn.Item).toBeUndefined();
    expect(sub.Item).toBeUndefined();
    client.close();
  });

  it('answers 10,000 malformed client frames with typed errors and keeps the socket open', async () => {
    const token = await stack.issuer.mintToken('alice');
    const ws = new WebSocket(`${stack.urls.ws}?token=${token}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const replies: ServerMessage[] = [];
    ws.on('message', (data) => replies.push(JSON.parse(String(data)) as ServerMessage));
    const frames = [
      '{not json',
      '[]',
      '42',
      JSON.stringify({ action: 'dance' }),
      JSON.stringify({ no: 'action' }),
      JSON.stringify({ action: 'subscribe' }),
      JSON.stringify({ action: 'subscribe', meetingId: '../etc/passwd' }),
      JSON.stringify({ action: 'subscribe', meetingId: 'x', lastSeq: -1 }),
      JSON.stringify({ action: 'command', meetingId: 'x', command: 'explode' }),
      JSON.stringify({
        action: 'command',
        meetingId: 'x',
        command: 'configure',
        config: { keywords: 'nope' },
      }),
      JSON.stringify({ action: 'get_state' }),
      JSON.stringify({ action: 'subscribe', meetingId: 'x', extra: true }),
      JSON.stringify({ action: 'unsubscribe', meetingId: 'x'.repeat(20_000) }),
    ];
    /** Waits for `count` replies; fails only when none came for 30 s (a loaded machine is slow, not wrong). */
    const repliesReach = async (count: number) => {
      let seen = replies.length;
      let progressAt = Date.now();
      while (replies.length < count) {
        if (replies.length > seen) [seen, progressAt] = [replies.length, Date.now()];
        if (Date.now() - progressAt > 30_000) throw new Error(`${seen} of ${count} replies, none for 30 s`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const total = 10_000;
    // In waves of 500, as a misbehaving client within API Gateway's throttling limits might.
    for (let sent = 0; sent < total; ) {
      for (const end = sent + 500; sent < end; sent++) ws.send(frames[sent % frames.length] as string);
      await repliesReach(sent);
    }
    expect(replies.every((r) => r.type === 'error')).toBe(true);
    const codes = new Set(replies.map((r) => (r.type === 'error' ? r.code : 'none')));
    expect([...codes].every((c) => c in ERROR_CODES)).toBe(true);
    expect(codes).toEqual(new Set(['BAD_JSON', 'UNKNOWN_ACTION', 'INVALID_MESSAGE', 'MESSAGE_TOO_LARGE']));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // API Gateway answers ping itself (a MOCK route), whatever else the frame holds.
    ws.send(JSON.stringify({ action: 'ping', timestamp: 'soon' }));
    await waitFor('the pong', () => replies.some((r) => r.type === 'pong' && r.serverTime > 0));
    ws.close();
  }, 600_000);
});
