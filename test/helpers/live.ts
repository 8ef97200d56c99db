/** Helpers for tests that drive the whole local stack: a recording client and fixture facts. */
import { readFileSync } from 'node:fs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import { dynamo } from '../../core/clients/dynamodb';
import { tableName } from '../../core/config';
import type { MeetingStatus } from '../../core/meetings/model';
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

/** Stack options for tests that run whole meetings: 3× real time, short reconnect waits. */
export const FAST_MEETING_STACK = {
  httpRoutes: [],
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
