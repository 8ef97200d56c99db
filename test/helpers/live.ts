/** Helpers for tests that drive the whole local stack: a recording client and fixture facts. */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import { dynamo } from '../../core/clients/dynamodb';
import { sqs } from '../../core/clients/sqs';
import { queueUrl, tableName } from '../../core/config';
import type { MeetingStatus } from '../../core/meetings/model';
import { deduplicationId, eventGroup, type PipelineEvent } from '../../core/pipeline/events';
import { ParleyClient } from '../../core/realtime/client';
import type { ServerMessage } from '../../core/realtime/protocol';
import { type LocalStack, type LocalStackOptions, SAMPLE_FIXTURE } from '../../local/stack';

type Transcript = Extract<ServerMessage, { type: 'transcript' }>['transcript'];

export interface FixtureSegment {
  speaker: string;
  startMs: number;
  endMs: number;
  text: string;
}

export const FIXTURE = JSON.parse(readFileSync(SAMPLE_FIXTURE.scriptPath, 'utf8')) as {
  durationMs: number;
  segments: FixtureSegment[];
};
export const REFERENCE_TEXT = FIXTURE.segments.map((s) => s.text).join(' ');

/** Who holds the floor at `ms` in the fixture's script (nearest segment). */
export function scriptSpeakerAt(ms: number): string {
  let best = FIXTURE.segments[0] as FixtureSegment;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const s of FIXTURE.segments) {
    const d = ms < s.startMs ? s.startMs - ms : ms > s.endMs ? ms - s.endMs : 0;
    if (d < bestDistance) {
      best = s;
      bestDistance = d;
    }
  }
  return best.speaker;
}

/** Waits until `check` returns (or resolves to) a value, polling, or fails with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A reference client that records everything it sees. */
export class RecordingClient {
  readonly client: ParleyClient;
  readonly finals: Transcript[] = [];
  readonly interims: Transcript[] = [];
  /** Every transcript message in arrival order (interims and finals). */
  readonly timeline: Transcript[] = [];
  readonly alerts: Extract<ServerMessage, { type: 'keyword_alert' }>[] = [];
  readonly statuses: MeetingStatus[] = [];
  readonly errors: Extract<ServerMessage, { type: 'error' }>[] = [];
  readonly messages: ServerMessage[] = [];

  constructor(stack: LocalStack, user: string, meetingId?: string) {
    this.client = new ParleyClient({
      url: stack.urls.ws,
      token: () => stack.issuer.mintToken(user),
      WebSocketImpl: WebSocket as never,
      initialBackoffMs: 100,
      maxBackoffMs: 1_000,
    });
    this.client.on('message', (m) => this.messages.push(m));
    this.client.on('final', ({ segment }) => {
      this.finals.push(segment);
      this.timeline.push(segment);
    });
    this.client.on('interim', ({ segment }) => {
      this.interims.push(segment);
      this.timeline.push(segment);
    });
    this.client.on('keyword_alert', (a) => this.alerts.push(a));
    this.client.on('status', (s) => this.statuses.push(s.status));
    this.client.on('error', (e) => this.errors.push(e));
    if (meetingId) this.client.subscribe(meetingId);
    this.client.connect();
  }

  opened(): Promise<void> {
    return waitFor('client to connect', () => this.client.connected, 10_000).then(() => undefined);
  }

  waitForStatus(status: MeetingStatus, timeoutMs = 90_000): Promise<void> {
    return waitFor(`status ${status}`, () => this.statuses.includes(status), timeoutMs).then(() => undefined);
  }

  waitForFinals(n: number, timeoutMs = 90_000): Promise<void> {
    return waitFor(`${n} finals`, () => this.finals.length >= n, timeoutMs).then(() => undefined);
  }

  close(): void {
    this.client.close();
  }
}

/** The realtime endpoint URL the Recall simulator was given for a bot (includes the token). */
export function endpointUrlOf(stack: LocalStack, botId: string): string {
  const url = stack.recall.bot(botId)?.endpoints[0]?.url;
  if (!url) throw new Error(`bot ${botId} has no realtime endpoint`);
  return url;
}

/**
 * PocketSphinx options for the live streams of end-to-end tests' stacks: at most 3,000 HMMs and
 * 10 word exits per frame, which decode ~2.4× faster than the engine's defaults (4.14× against
 * 1.69× real time per CPU second) with the same WER on the sample meeting's voice (0.282, librivox;
 * 0.509 against 0.485 over the four fixtures: docs/benchmarks.md, "File jobs", the options table).
 * The engine stands in for Deepgram; how thoroughly it searches is no behaviour of Parley's, and at
 * 3× real time the defaults could not keep up (a meeting took the engine's ~17 s instead of 10 s).
 * The speech server's own tests, test/integration/speech-encoding's comparisons and
 * test/e2e/gateway-crash-recovery (a lost span of a second or two, re-transcribed) keep the defaults.
 */
export const TEST_LIVE_DECODER_ARGS = { '-maxhmmpf': '3000', '-maxwpf': '10' } as const;

/** Stack options for tests that run whole meetings: 3× real time, short reconnect waits. */
export const FAST_MEETING_STACK = {
  httpRoutes: [],
  speechLiveDecoderArgs: TEST_LIVE_DECODER_ARGS,
  speed: 3,
  reconnectGraceMs: 1_500,
  recallReconnect: { intervalMs: 200 },
} as const satisfies LocalStackOptions;

/** A meeting's stored finals in seq order, read straight from the segments table. */
export async function storedFinals(meetingId: string): Promise<{ seq: number; text: string }[]> {
  const out = await dynamo().send(
    new QueryCommand({
      TableName: tableName('segments'),
      KeyConditionExpression: 'meetingId = :m',
      ExpressionAttributeValues: { ':m': meetingId },
    }),
  );
  return (out.Items ?? [])
    .map((i) => ({ seq: Number(i.seq), text: String(i.text) }))
    .sort((a, b) => a.seq - b.seq);
}

/** A meeting's stored final seqs in seq order. */
export async function storedSeqs(meetingId: string): Promise<number[]> {
  return (await storedFinals(meetingId)).map((s) => s.seq);
}

/**
 * Sends a message to the transcript-events FIFO queue. An event's group and deduplication id
 * default to its own; a raw (string) body needs a group and gets a random deduplication id.
 */
export async function sendTranscriptEvent(
  body: PipelineEvent | string,
  options: { group?: string; dedup?: string } = {},
): Promise<void> {
  const group = options.group ?? (typeof body === 'string' ? undefined : eventGroup(body));
  if (!group) throw new Error('a raw transcript-queue message needs a group');
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: queueUrl('transcriptEvents'),
      MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
      MessageGroupId: group,
      MessageDeduplicationId:
        options.dedup ?? (typeof body === 'string' ? randomUUID() : deduplicationId(body)),
    }),
  );
}

/** Every final transcript message a client received, duplicates included, in arrival order. */
export function rawFinalSeqs(client: RecordingClient, meetingId: string): number[] {
  return client.messages
    .filter(
      (m): m is Extract<ServerMessage, { type: 'transcript' }> =>
        m.type === 'transcript' && m.meetingId === meetingId && m.transcript.isFinal,
    )
    .map((m) => m.transcript.seq);
}

/** A recording client for `user` on `meetingId`, once its replay has completed. */
export async function subscribedClient(
  stack: LocalStack,
  user: string,
  meetingId: string,
): Promise<RecordingClient> {
  const client = new RecordingClient(stack, user, meetingId);
  await waitFor(`${user}'s subscription`, () => client.messages.some((m) => m.type === 'replay_complete'));
  return client;
}

/** The integers from `from` to `to`, inclusive. */
export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
