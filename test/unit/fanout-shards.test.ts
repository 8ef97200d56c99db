import type { SendMessageCommandInput } from '@aws-sdk/client-sqs';
import {
  allShards,
  MalformedShardMessageError,
  parseShardMessage,
  ShardDispatcher,
  ShardMessageTooLargeError,
  shardGroup,
  splitShards,
} from '../../core/pipeline/fanout-shards';
import type { ServerMessage } from '../../core/realtime/protocol';

const line: ServerMessage = { type: 'interim_dropped', meetingId: 'm1', beforeSeq: 3 };

function dispatcher() {
  const sent: SendMessageCommandInput[] = [];
  const shards = new ShardDispatcher({
    queueUrl: 'https://sqs.local/shards.fifo',
    send: async (input) => {
      sent.push(input);
    },
  });
  return { shards, sent };
}

describe('splitShards', () => {
  it('keeps shard 0 (and subscriptions without a shard) for the caller and groups the others by shard', () => {
    const { first, others } = splitShards([
      { connectionId: 'a', userId: 'u' },
      { connectionId: 'b', userId: 'u', shard: 2 },
      { connectionId: 'c', userId: 'u', shard: 0 },
      { connectionId: 'd', userId: 'u', shard: 1 },
      { connectionId: 'e', userId: 'u', shard: 2 },
    ]);

    expect(first).toEqual(['a', 'c']);
    expect([...others].sort()).toEqual([
      [1, ['d']],
      [2, ['b', 'e']],
    ]);
  });
});

describe('allShards', () => {
  it('gives every shard its connections, shard 0 included, and leaves an empty shard 0 out', () => {
    const all = allShards([
      { connectionId: 'a', userId: 'u' },
      { connectionId: 'b', userId: 'u', shard: 1 },
    ]);
    expect([...all].sort()).toEqual([
      [0, ['a']],
      [1, ['b']],
    ]);
    expect([...allShards([{ connectionId: 'b', userId: 'u', shard: 1 }])]).toEqual([[1, ['b']]]);
  });
});

describe('ShardDispatcher', () => {
  it('sends one message per shard to the shard group, deduplicated by delivery key and shard', async () => {
    const { shards, sent } = dispatcher();

    await shards.dispatch(
      'm1',
      new Map([
        [1, ['c1', 'c2']],
        [2, ['c3']],
      ]),
      [line],
      'record-7:0',
    );

    expect(sent.map((s) => [s.MessageGroupId, s.MessageDeduplicationId])).toEqual([
      [shardGroup('m1', 1), 'record-7:0:1'],
      [shardGroup('m1', 2), 'record-7:0:2'],
    ]);
    expect(JSON.parse(sent[1]?.MessageBody ?? '')).toEqual({
      v: 1,
      meetingId: 'm1',
      shard: 2,
      connectionIds: ['c3'],
      messages: [line],
    });
  });

  it('refuses a shard message larger than SQS takes, before sending anything', async () => {
    const { shards, sent } = dispatcher();
    const big: ServerMessage = { type: 'interim_dropped', meetingId: 'm'.repeat(300_000), beforeSeq: 1 };

    await expect(shards.dispatch('m1', new Map([[1, ['c1']]]), [big], 'k')).rejects.toBeInstanceOf(
      ShardMessageTooLargeError,
    );
    expect(sent).toEqual([]);
  });
});

describe('parseShardMessage', () => {
  const record = (body: unknown) => ({ messageId: 'id-1', body: JSON.stringify(body) });
  const valid = { v: 1, meetingId: 'm1', shard: 1, connectionIds: ['c1'], messages: [line] };

  it('reads a shard message the dispatcher wrote, shard 0 too (a large audience’s briefing update)', () => {
    expect(parseShardMessage(record(valid))).toEqual(valid);
    expect(parseShardMessage(record({ ...valid, shard: 0 }))).toEqual({ ...valid, shard: 0 });
  });

  it.each([
    ['not JSON', { messageId: 'id-1', body: '{' }],
    ['another version', record({ ...valid, v: 2 })],
    ['a negative shard', record({ ...valid, shard: -1 })],
    ['more connection ids than a shard holds', record({ ...valid, connectionIds: Array(1_001).fill('c') })],
    ['a message without a type', record({ ...valid, messages: [{}] })],
  ])('rejects %s with a typed error', (_name, input) => {
    expect(() => parseShardMessage(input)).toThrow(MalformedShardMessageError);
  });
});
