/**
 * Fan-out: one meeting with 1,000 subscribers: time until all have one event, p99.
 * Target (issue #15.2): p99 ≤ 1.2 × the bare-HTTP-POST floor measured in the same run.
 *
 *   npx tsx bench/fanout.ts [--subscribers 1000] [--events 20] [--wave 100]
 *                           [--sweep 10,50,200] [--rtt-ms 20] [--rtt-sweep 10,50,64,128] [--rtt-events 5]
 *                           [--shard-size 1000] [--interim-rate 10] [--interim-seconds 5]
 *                           [--client-processes N] [--replay-cadence-ms 1000,500,100]
 *                           [--paths sqs,direct,broadcast,signed,shard,sdk-floor,floor,shard-floor]
 *
 * Sharding (core/pipeline/fanout-shards.ts): subscriptions get shard floor(slot / --shard-size)
 * (the stack runs with FANOUT_SHARD_SIZE = --shard-size); the fan-out handler posts to shard 0 and
 * the fanout-shard handler, through the local shard queue and its event source, to the others.
 * Per-shard figures: send → the last subscriber of each shard has it. Locally every shard runs
 * in this one process (2 cores shared with the emulators and the clients); on AWS each shard is
 * its own invocation, so there the end-to-end time is one shard's time plus one queue hop.
 *   experiments (in memory only): [--sdk-cache-middleware]
 *
 * Harness (loopback only, bounded, cleans up):
 * - main thread: `startLocalStack()`; one meeting row;
 * - child processes (bench/lib-fanout-fleet.ts, bench/lib-fanout-clients.ts): `--subscribers`
 *   realtime connections to the API Gateway emulator, opened in waves of `--wave`, all subscribed
 *   to the meeting; they report, per transcript seq, every connection's receive time on the main
 *   process's clock (system-wide monotonic clock + an offset). `--client-processes N` (default:
 *   as few as the open-file limit allows, usually 1): processes, not a worker thread, because each
 *   has its own descriptor table — the main process then needs one descriptor per subscriber
 *   (the server end), so 10,000 subscribers fit under a 20,000 limit.
 * - `--events` final events, one at a time, through each path below, interleaved round-robin
 *   so that noise from other work on the machine hits every path alike. Per event: time from
 *   send to the LAST subscriber receiving it, and every subscriber's receive time.
 *   1. SQS: SendMessage to the transcript queue → local SQS event source → fan-out handler;
 *   2. the fan-out handler called directly with an SQSEvent (no SQS polling);
 *   3. ConnectionFanout.broadcast alone (the handler's post loop, no DynamoDB) at several
 *      concurrencies (`--sweep`; Parley uses 50);
 *   4. floors: the same payload to the same connections from a plain loop (concurrency 50)
 *      with the management API client Parley uses, and with bare HTTP POSTs (no SDK).
 *   5. ConnectionFanout again at several concurrencies, but through a proxy (in the first
 *      client process) that holds each PostToConnection `--rtt-ms`: loopback has no network
 *      round trip, so only this shows how concurrency matters once posts wait on the network.
 * - interims: `--interim-rate` a second through the gateway's coalescer → SQS → fan-out, posts
 *   counted with the window off and on; then the recorded meetings' interim streams through the
 *   coalescer on virtual time (bench/lib-interim-replay.ts; instant, no stack).
 */

import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { SQSEvent } from 'aws-lambda';
import { managementApi } from '../core/clients/management-api';
import { sqs } from '../core/clients/sqs';
import { queueUrl } from '../core/config';
import { createLogger } from '../core/logger';
import type { PipelineEvent, Segment } from '../core/pipeline/events';
import { INTERIM_WINDOW_MS, InterimCoalescer } from '../core/pipeline/interim-coalescer';
import { EventPublisher } from '../core/pipeline/publisher';
import { sendPipelineEvent } from '../core/pipeline/send-event';
import { SignedConnectionPoster } from '../core/pipeline/signed-post';
import { type EventSource, TranscriptFanout } from '../core/pipeline/transcript-fanout';
import { ConnectionFanout, type FanoutResult } from '../core/realtime/connection-fanout';
import { ConnectionRepository, meetingTopic } from '../core/realtime/connection-repository';
import type { ServerMessage } from '../core/realtime/protocol';
import { fanoutHandler } from '../local/lambda-routes';
import { toRecord } from '../local/sqs-event-source';
import { type LocalStack, startLocalStack } from '../local/stack';
import {
  createBenchMeeting,
  flagArg,
  listArg,
  machineFacts,
  mainThreadCpuMs,
  markdownTable,
  ms,
  nowAbs,
  numArg,
  openFileLimit,
  type Summary,
  summarize,
  withTimeout,
} from './lib-bench';
import type { Arrivals, ConnectResult } from './lib-fanout-clients';
import { ClientFleet } from './lib-fanout-fleet';
import { replayReport } from './lib-interim-replay';

/** The target: this many times the bare-HTTP-POST floor's p99 of the same run. */
const TARGET_RATIO = 1.2;
const SUBSCRIBERS = numArg('subscribers', 1000);
const EVENTS = numArg('events', 20);
const WAVE = numArg('wave', 100);
const SWEEP = listArg('sweep', [50]);
/** Simulated Lambda → API Gateway round trip for the concurrency sweep (0 skips it). */
const RTT_MS = numArg('rtt-ms', 20);
const RTT_SWEEP = listArg('rtt-sweep', [10, 50, 64, 128]);
const RTT_EVENTS = numArg('rtt-events', 0);
/** Subscribers one fan-out invocation posts to (one shard); larger meetings are split. */
const SHARD_SIZE = numArg('shard-size', 1000);
/** Which paths run (default: all at ≤ 1 shard; sqs, shard, floor, shard-floor above). */
const PATHS = listArgStrings(
  'paths',
  SUBSCRIBERS > SHARD_SIZE
    ? ['sqs', 'shard', 'floor', 'shard-floor']
    : ['sqs', 'direct', 'broadcast', 'signed', 'sdk-floor', 'floor'],
);
function listArgStrings(name: string, fallback: string[]): string[] {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  return raw ? raw.split(',').map((x) => x.trim()) : fallback;
}
/** Interims per second offered to the coalescing phase (0 skips it). */
const INTERIM_RATE = numArg('interim-rate', 10);
const INTERIM_SECONDS = numArg('interim-seconds', 5);
/** Interim cadences (ms of audio) for the recorded meetings' replay (bench/lib-interim-replay.ts). */
const REPLAY_CADENCES = listArg('replay-cadence-ms', [1000, 500, 100]);
/** Experiment: the SDK's `cacheMiddleware` on the management API client (Parley leaves it off). */
const CACHE_MIDDLEWARE = flagArg('sdk-cache-middleware');
const EVENT_TIMEOUT_MS = 30_000;
/** Child processes for the subscribers (default: as few as the open-file limit allows). */
const CLIENT_PROCESSES = process.argv.includes('--client-processes')
  ? numArg('client-processes', 1)
  : undefined;

// ---- in-process stamps, keyed by seq ---------------------------------------------------------

type Stage = 'handler' | 'queryStart' | 'queryEnd' | 'postStart' | 'postEnd' | 'handlerDone';
const marks = new Map<number, Partial<Record<Stage, number>>>();

function mark(seq: number, stage: Stage): void {
  let m = marks.get(seq);
  if (!m) {
    m = {};
    marks.set(seq, m);
  }
  m[stage] ??= nowAbs();
}

/** Wraps prototypes in memory only (the fan-out's stages); nothing on disk changes. */
function instrument(): void {
  const handle = TranscriptFanout.prototype.handle;
  TranscriptFanout.prototype.handle = function (
    this: TranscriptFanout,
    event: PipelineEvent,
    source?: EventSource,
  ) {
    if (event.type !== 'transcript') return handle.call(this, event, source);
    const seq = event.segment.seq;
    mark(seq, 'handler');
    const done = handle.call(this, event, source);
    void done.then(
      () => mark(seq, 'handlerDone'),
      () => undefined,
    );
    return done;
  };
  // The handler's one Query of the meeting's subscribers; by call order (one event at a time).
  const subscribers = ConnectionRepository.prototype.subscribers;
  ConnectionRepository.prototype.subscribers = function (
    this: ConnectionRepository,
    topic: string,
    now?: Date,
  ) {
    const seq = currentSeq;
    if (seq !== undefined) mark(seq, 'queryStart');
    const out = subscribers.call(this, topic, now);
    void out.then(
      () => seq !== undefined && mark(seq, 'queryEnd'),
      () => undefined,
    );
    return out;
  };
  const broadcast = ConnectionFanout.prototype.broadcast;
  ConnectionFanout.prototype.broadcast = function (
    this: ConnectionFanout,
    ids: readonly string[],
    message: ServerMessage | string,
  ) {
    if (typeof message === 'object' && message.type === 'transcript' && !message.transcript.isFinal) {
      interimPosts += ids.length;
    }
    const seq =
      typeof message === 'object' && message.type === 'transcript' ? message.transcript.seq : undefined;
    if (seq !== undefined) mark(seq, 'postStart');
    const out = broadcast.call(this, ids, message);
    void out.then(
      () => seq !== undefined && mark(seq, 'postEnd'),
      () => undefined,
    );
    return out;
  };
}

let currentSeq: number | undefined;
/** Interim transcript lines posted (one per subscriber), counted by the broadcast wrapper. */
let interimPosts = 0;

/**
 * Interims to many viewers: `INTERIM_RATE` interims a second for `INTERIM_SECONDS` through the
 * gateway's InterimCoalescer and EventPublisher → SQS → event source → fan-out handler, once with
 * coalescing off (window 0) and once at the default window; counts the interim lines posted.
 */
async function interimPhase(ctx: Ctx, firstSeq: number): Promise<string> {
  const rows: (string | number)[][] = [];
  const logger = createLogger('bench-interims');
  const offered = Math.round(INTERIM_RATE * INTERIM_SECONDS);
  for (const [i, window] of [0, INTERIM_WINDOW_MS].entries()) {
    const seq = firstSeq + i;
    const publisher = new EventPublisher({ sqs: sqs(), queueUrl: queueUrl('transcriptEvents'), logger });
    const coalescer = new InterimCoalescer((e) => publisher.publish(e), window);
    interimPosts = 0;
    const start = performance.now();
    for (let revision = 0; revision < offered; revision++) {
      const at = start + (revision * 1000) / INTERIM_RATE;
      await new Promise((r) => setTimeout(r, Math.max(0, at - performance.now())));
      coalescer.handle({
        v: 1,
        type: 'transcript',
        meetingId: ctx.meetingId,
        segment: { ...segment(seq), revision, isFinal: false, text: `interim ${revision} of a sentence` },
      });
    }
    coalescer.flush();
    await publisher.flush();
    await withTimeout(ctx.stack.fanout.idle(), 60_000, 'the interims to be handled');
    const st = coalescer.stats;
    rows.push([
      window === 0 ? 'off (every interim shown)' : `${window} ms (≤ 1 line per ${window / 1000} s)`,
      offered,
      publisher.stats.published,
      window === 0 ? st.interims : st.shown + st.refreshed,
      interimPosts,
      (interimPosts / INTERIM_SECONDS).toFixed(0),
    ]);
  }
  const [off, on] = rows;
  const saved = Number(off?.[4]) - Number(on?.[4]);
  return [
    `## Interims to ${SUBSCRIBERS} viewers: coalescing (${INTERIM_RATE} interims/s for ${INTERIM_SECONDS} s, one meeting)`,
    '',
    markdownTable(
      [
        'window',
        'interims offered',
        'SQS messages sent',
        'interim lines shown',
        'API Gateway posts (interim lines)',
        'posts/s',
      ],
      rows,
    ),
    '',
    `API Gateway messages saved: ${saved} of ${off?.[4]} (${((100 * saved) / Number(off?.[4])).toFixed(0)} %); ` +
      'finals, alerts and status events are not coalesced.',
  ].join('\n');
}

// ---- the paths -------------------------------------------------------------------------------

interface Ctx {
  stack: LocalStack;
  /** Management API endpoint behind the delay proxy (when `--rtt-ms` > 0). */
  delayedEndpoint?: string;
  meetingId: string;
  connectionIds: string[];
  clients: ClientFleet;
  completions: Map<number, (got: Arrivals) => void>;
}

interface EventResult {
  seq: number;
  sentAt: number;
  /** Receive time − send time, one per subscriber that got it. */
  latencies: number[];
  /** The connection index of each latency. */
  who: number[];
  missing: number;
}

interface Mode {
  /** --paths key. */
  key: string;
  name: string;
  /** Subscribers this path posts to (default all). */
  expected?: number;
  /** Sends event `seq`; resolves once the sender's own work is done (handler returned, loop done). */
  send(ctx: Ctx, seq: number): Promise<void>;
  fanoutPath: boolean;
}

function segment(seq: number): Segment {
  return {
    id: `fanout-bench:${seq}`,
    seq,
    revision: 0,
    text: `Fan-out benchmark sentence number ${seq}, about as long as a spoken sentence usually is.`,
    speaker: 'Alice',
    confidence: 0.93,
    startMs: seq * 1000,
    endMs: seq * 1000 + 900,
    timestamp: new Date().toISOString(),
    isFinal: true,
  };
}

function finalEvent(meetingId: string, seq: number): PipelineEvent {
  return { v: 1, type: 'transcript', meetingId, segment: segment(seq) };
}

/** The exact message the fan-out posts for a final. */
function transcriptMessage(meetingId: string, seq: number): string {
  const message: ServerMessage = { type: 'transcript', meetingId, transcript: segment(seq) };
  return JSON.stringify(message);
}

function sqsEventFor(ctx: Ctx, seq: number): SQSEvent {
  const body = JSON.stringify(finalEvent(ctx.meetingId, seq));
  const now = String(Date.now());
  const record = toRecord(
    {
      MessageId: `bench-${seq}`,
      ReceiptHandle: `bench-${seq}`,
      Body: body,
      Attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: now,
        SenderId: 'bench',
        ApproximateFirstReceiveTimestamp: now,
        MessageGroupId: ctx.meetingId,
        MessageDeduplicationId: `bench-${seq}`,
        SequenceNumber: String(seq),
      },
    },
    ctx.stack.emulators.queueArns.transcriptEvents.queue,
    'us-east-1',
  );
  return { Records: [record] };
}

/** Runs `worker` over `ids` with `concurrency` loops (the shape of ConnectionFanout.broadcast). */
async function loop(
  ids: readonly string[],
  concurrency: number,
  post: (id: string) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < ids.length) await post(ids[next++] as string);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
}

const httpAgent = new Agent({ keepAlive: true, maxSockets: 64 });

/** A path that did not reach everyone: logged (the report counts the subscribers missing). */
function reportShortfall(result: FanoutResult, expected: number): void {
  console.error(
    `[fanout] delivered ${result.delivered} of ${expected}; gone ${result.gone.length}; failed ${result.failed.length}, ` +
      `first: ${String(result.failed[0]?.error)}`,
  );
}

let poster: SignedConnectionPoster | undefined;
/** The fan-out Lambda's poster (core/pipeline/signed-post.ts), one per run like one per container. */
function signedPoster(ctx: Ctx): SignedConnectionPoster {
  poster ??= new SignedConnectionPoster(ctx.stack.urls.wsManagement);
  return poster;
}

function rawPost(endpoint: string, connectionId: string, body: Buffer): Promise<void> {
  const url = new URL(`${endpoint}/@connections/${encodeURIComponent(connectionId)}`);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: httpAgent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function broadcastMode(concurrency: number, delayed: boolean): Mode {
  const logger = createLogger('bench-fanout');
  return {
    key: 'broadcast',
    name: delayed
      ? `ConnectionFanout via +${RTT_MS} ms RTT, concurrency ${concurrency}${concurrency === 50 ? ' (Parley)' : ''}`
      : `ConnectionFanout.broadcast, concurrency ${concurrency}${concurrency === 50 ? ' (Parley)' : ''}`,
    fanoutPath: false,
    async send(ctx, seq) {
      const endpoint = delayed ? ctx.delayedEndpoint : ctx.stack.urls.wsManagement;
      if (!endpoint) throw new Error('no delay proxy');
      const fanout = new ConnectionFanout(endpoint, new ConnectionRepository(), logger, concurrency);
      const message: ServerMessage = {
        type: 'transcript',
        meetingId: ctx.meetingId,
        transcript: segment(seq),
      };
      const result = await fanout.broadcast(ctx.connectionIds, message);
      if (result.delivered !== ctx.connectionIds.length) reportShortfall(result, ctx.connectionIds.length);
    },
  };
}

function modes(): Mode[] {
  const list: Mode[] = [
    {
      key: 'sqs',
      name:
        SUBSCRIBERS > SHARD_SIZE
          ? `SQS → fan-out handler (shard 0) + shard queue → fanout-shard handler (${Math.ceil(SUBSCRIBERS / SHARD_SIZE) - 1} shards)`
          : 'SQS → event source → fan-out handler',
      fanoutPath: true,
      async send(ctx, seq) {
        await sendPipelineEvent(sqs(), queueUrl('transcriptEvents'), finalEvent(ctx.meetingId, seq));
        // Done when the handler has finished (it stores, posts, then marks the final delivered).
        const deadline = Date.now() + EVENT_TIMEOUT_MS;
        while (marks.get(seq)?.handlerDone === undefined && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 5));
        }
      },
    },
    {
      key: 'direct',
      name: 'fan-out handler, direct SQSEvent',
      fanoutPath: true,
      async send(ctx, seq) {
        const out = await fanoutHandler(sqsEventFor(ctx, seq));
        if (out.batchItemFailures.length > 0) throw new Error(`handler reported a failure for seq ${seq}`);
      },
    },
    ...SWEEP.map((concurrency) => broadcastMode(concurrency, false)),
    {
      ...broadcastMode(50, false),
      key: 'signed',
      name: 'ConnectionFanout + SignedConnectionPoster, concurrency 50 (the fan-out Lambda)',
      async send(ctx: Ctx, seq: number) {
        const fanout = new ConnectionFanout(
          ctx.stack.urls.wsManagement,
          new ConnectionRepository(),
          createLogger('bench-fanout'),
          50,
          signedPoster(ctx),
        );
        const result = await fanout.broadcast(ctx.connectionIds, transcriptMessage(ctx.meetingId, seq));
        if (result.delivered !== ctx.connectionIds.length) reportShortfall(result, ctx.connectionIds.length);
      },
    } satisfies Mode,
    ...(SUBSCRIBERS > SHARD_SIZE
      ? [
          {
            key: 'shard',
            name: `one shard: SignedConnectionPoster to ${SHARD_SIZE} of the ${SUBSCRIBERS} (per-invocation work when sharded)`,
            fanoutPath: false,
            expected: SHARD_SIZE,
            async send(ctx: Ctx, seq: number) {
              const fanout = new ConnectionFanout(
                ctx.stack.urls.wsManagement,
                new ConnectionRepository(),
                createLogger('bench-fanout'),
                50,
                signedPoster(ctx),
              );
              const shard = ctx.connectionIds.slice(0, SHARD_SIZE);
              const result = await fanout.broadcast(shard, transcriptMessage(ctx.meetingId, seq));
              if (result.delivered !== shard.length) reportShortfall(result, shard.length);
            },
          } satisfies Mode,
          {
            key: 'shard-floor',
            name: `floor: bare HTTP POST loop to one shard (${SHARD_SIZE}), concurrency 50`,
            fanoutPath: false,
            expected: SHARD_SIZE,
            async send(ctx: Ctx, seq: number) {
              const data = Buffer.from(transcriptMessage(ctx.meetingId, seq));
              const shard = ctx.connectionIds.slice(0, SHARD_SIZE);
              await loop(shard, 50, (id) => rawPost(ctx.stack.urls.wsManagement, id, data));
            },
          } satisfies Mode,
        ]
      : []),
    {
      key: 'sdk-floor',
      name: 'floor: management API client loop, concurrency 50',
      fanoutPath: false,
      async send(ctx, seq) {
        const client = managementApi(ctx.stack.urls.wsManagement);
        const data = Buffer.from(transcriptMessage(ctx.meetingId, seq));
        await loop(ctx.connectionIds, 50, (id) =>
          client.send(new PostToConnectionCommand({ ConnectionId: id, Data: data })),
        );
      },
    },
    {
      key: 'floor',
      name: 'floor: bare HTTP POST loop (no SDK), concurrency 50',
      fanoutPath: false,
      async send(ctx, seq) {
        const data = Buffer.from(transcriptMessage(ctx.meetingId, seq));
        await loop(ctx.connectionIds, 50, (id) => rawPost(ctx.stack.urls.wsManagement, id, data));
      },
    },
  ];
  return list.filter((m) => PATHS.includes(m.key));
}

async function runEvent(ctx: Ctx, mode: Mode, seq: number): Promise<EventResult> {
  const arrived = new Promise<Arrivals>((resolve) => ctx.completions.set(seq, resolve));
  currentSeq = seq;
  const sentAt = nowAbs();
  const sent = mode.send(ctx, seq);
  let got: Arrivals;
  const expected = mode.expected ?? SUBSCRIBERS;
  if (expected < SUBSCRIBERS) {
    ctx.completions.delete(seq);
    await withTimeout(sent, EVENT_TIMEOUT_MS, `sender of seq ${seq} (${mode.name})`);
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    while ((await ctx.clients.count(seq)) < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2));
    }
    got = await ctx.clients.partial(seq);
    currentSeq = undefined;
    return {
      seq,
      sentAt,
      latencies: got.times.map((t) => t - sentAt),
      who: got.who,
      missing: expected - got.times.length,
    };
  }
  try {
    got = await withTimeout(
      arrived,
      EVENT_TIMEOUT_MS,
      `all subscribers to receive seq ${seq} (${mode.name})`,
    );
  } catch {
    ctx.completions.delete(seq);
    got = await ctx.clients.partial(seq);
  }
  await withTimeout(sent, EVENT_TIMEOUT_MS, `sender of seq ${seq} (${mode.name})`);
  currentSeq = undefined;
  return {
    seq,
    sentAt,
    latencies: got.times.map((t) => t - sentAt),
    who: got.who,
    missing: SUBSCRIBERS - got.times.length,
  };
}

// ---- reporting -------------------------------------------------------------------------------

interface ModeStats {
  mode: Mode;
  events: EventResult[];
  cpuMs: number;
  wallMs: number;
}

const p = (s: Summary) => `${ms(s.p50)} / ${ms(s.p99)}`;

function stageSummary(events: EventResult[], from: Stage | 'sent', to: Stage): Summary {
  const values: number[] = [];
  for (const e of events) {
    const m = marks.get(e.seq);
    const a = from === 'sent' ? e.sentAt : m?.[from];
    const b = m?.[to];
    if (a !== undefined && b !== undefined) values.push(b - a);
  }
  return summarize(values);
}

function allHaveItRows(stats: ModeStats[]): (string | number)[][] {
  return stats.map(({ mode, events, cpuMs }) => {
    const last = summarize(events.map((e) => Math.max(...e.latencies)));
    const first = summarize(events.map((e) => Math.min(...e.latencies)));
    const all = summarize(events.flatMap((e) => e.latencies));
    return [
      mode.name,
      events.length,
      ms(last.p50),
      ms(last.p99),
      ms(last.max),
      ms(first.p50),
      p(all),
      events.reduce((n, e) => n + e.missing, 0),
      `${ms(cpuMs / Math.max(1, events.length))} ms`,
    ];
  });
}

const ALL_HAVE_IT_HEADERS = [
  'path',
  'events',
  'all have it p50',
  'all have it p99',
  'all have it max',
  'first has it p50',
  'per-subscriber p50 / p99',
  'missing',
  'main-thread CPU per event',
];

function report(
  stats: ModeStats[],
  rttStats: ModeStats[],
  connect: ConnectResult,
  skew: { skewMs: number; rttMs: number },
  clientProcesses: number,
  stray: unknown,
  loopP99: number,
  interims?: string,
): string {
  const out: string[] = [];
  out.push(`# Fan-out: one meeting, ${SUBSCRIBERS} subscribers`);
  out.push('');
  out.push(machineFacts());
  out.push(
    `- settings: ${EVENTS} final events per path, one at a time, paths interleaved round-robin; ` +
      `connections opened in waves of ${WAVE}; ` +
      `management API client cacheMiddleware ${CACHE_MIDDLEWARE ? 'ON' : 'off (Parley default)'}; ` +
      `concurrency sweep behind a +${RTT_MS} ms proxy: ${RTT_MS > 0 ? `${RTT_EVENTS} events per setting` : 'skipped'}`,
  );
  out.push(
    `- ${connect.connected} connections subscribed in ${(connect.wallMs / 1000).toFixed(1)} s ` +
      `(per connection open → replay_complete p50 ${ms(connect.p50)} ms, p99 ${ms(connect.p99)} ms, max ${ms(connect.max)} ms)`,
  );
  out.push(
    `- ${clientProcesses} client process(es); their clock vs this process's, worst ${skew.skewMs.toFixed(3)} ms ` +
      `(round trip ${skew.rttMs.toFixed(3)} ms); ` +
      `main-thread event-loop delay p99 during the events ${ms(loopP99)} ms; stray client messages ${JSON.stringify(stray)}`,
  );
  out.push('');
  out.push('## Time until all subscribers have the event (ms)');
  out.push('');
  out.push(markdownTable(ALL_HAVE_IT_HEADERS, allHaveItRows(stats)));
  out.push('');
  if (SUBSCRIBERS > SHARD_SIZE) out.push(...perShardReport(stats), '');
  const cpuPerEvent = (prefix: string) => {
    const s = stats.find((x) => x.mode.name.startsWith(prefix));
    return s ? s.cpuMs / Math.max(1, s.events.length) : Number.NaN;
  };
  const sdk = cpuPerEvent('floor: management API client');
  const bare = cpuPerEvent('floor: bare HTTP POST loop (no SDK)');
  out.push(
    `Main-thread CPU per PostToConnection: ${(sdk / SUBSCRIBERS).toFixed(3)} ms with the SDK client, ` +
      `${(bare / SUBSCRIBERS).toFixed(3)} ms as a bare HTTP POST (both include the emulator's side): the SDK ` +
      `client itself costs about ${((sdk - bare) / SUBSCRIBERS).toFixed(3)} ms of CPU per post. The posts are ` +
      'CPU-bound on loopback, so concurrency changes little here; see the next table for a network round trip.',
  );
  out.push('');
  if (rttStats.length > 0) {
    out.push(`## ConnectionFanout concurrency with a simulated ${RTT_MS} ms round trip per post (ms)`);
    out.push('');
    out.push(markdownTable(ALL_HAVE_IT_HEADERS, allHaveItRows(rttStats)));
    out.push('');
    out.push(
      'The management API client Parley builds (core/clients/management-api.ts) allows 64 sockets, so ' +
        'concurrency above 64 queues in its agent. The proxy adds no CPU to the stack’s thread.',
    );
    out.push('');
  }
  out.push('## Inside the fan-out paths (ms, p50 / p99 over events)');
  out.push('');
  const fanoutStats = stats.filter((s) => s.mode.fanoutPath);
  out.push(
    markdownTable(
      ['stage', ...fanoutStats.map((s) => s.mode.name)],
      [
        ['send → handler entry (SQS hop; ~0 when called directly)', 'sent', 'handler'],
        ['handler entry → Query subscribers starts (PutItem final)', 'handler', 'queryStart'],
        ['Query subscribers (DynamoDB)', 'queryStart', 'queryEnd'],
        ['Query end → first PostToConnection (GetItem keywords)', 'queryEnd', 'postStart'],
        ['broadcast: all PostToConnection calls', 'postStart', 'postEnd'],
        ['broadcast end → handler done (advanceLastSeq)', 'postEnd', 'handlerDone'],
        ['send → handler done', 'sent', 'handlerDone'],
      ].map(([label, from, to]) => [
        label as string,
        ...fanoutStats.map((s) => p(stageSummary(s.events, from as Stage | 'sent', to as Stage))),
      ]),
    ),
  );
  out.push('');
  const floor = stats.find((x) => x.mode.key === 'floor');
  const floorP99 = floor ? summarize(floor.events.map((e) => Math.max(...e.latencies))).p99 : Number.NaN;
  const target = TARGET_RATIO * floorP99;
  out.push(
    `## Verdict (target: all ${SUBSCRIBERS} subscribers have it within ${TARGET_RATIO} × the bare-HTTP floor's p99 ` +
      `of this run = ${ms(target)} ms)`,
  );
  out.push('');
  for (const s of stats) {
    const last = summarize(s.events.map((e) => Math.max(...e.latencies)));
    const missing = s.events.reduce((n, e) => n + e.missing, 0);
    const ok = last.p99 <= target && missing === 0;
    out.push(
      `- ${s.mode.name}: p99 ${ms(last.p99)} ms = ${(last.p99 / floorP99).toFixed(2)} × floor → **${ok ? 'PASS' : 'FAIL'}**`,
    );
  }
  if (interims) out.push('', interims);
  // Instant (virtual time, no stack): the recorded meetings' interim streams through the coalescer.
  out.push('', replayReport(REPLAY_CADENCES, [1000, 1500, INTERIM_WINDOW_MS, 3000], SUBSCRIBERS));
  out.push('', verdictLine(stats, floorP99, target, stray));
  return out.join('\n');
}

/**
 * The run's one-line verdict (last line of the report): the end-to-end path through SQS and the
 * poster alone against the goal, with the same-run floor, and the briefing updates the
 * subscribers received meanwhile (core/briefing/rolling-briefings.ts spaces them by audience).
 */
function verdictLine(stats: ModeStats[], floorP99: number, target: number, stray: unknown): string {
  const part = (key: string, label: string) => {
    const s = stats.find((x) => x.mode.key === key);
    if (!s) return undefined;
    const p99 = summarize(s.events.map((e) => Math.max(...e.latencies))).p99;
    const missing = s.events.reduce((n, e) => n + e.missing, 0);
    const ok = p99 <= target && missing === 0;
    return `${label} p99 ${ms(p99)} ms = ${(p99 / floorP99).toFixed(2)}× → ${ok ? 'PASS' : 'FAIL'}`;
  };
  const briefings = (stray as { otherTypes?: Record<string, number> }).otherTypes?.briefing_update ?? 0;
  const parts = [part('sqs', 'through SQS'), part('signed', 'poster alone')].filter(Boolean);
  return (
    `VERDICT fan-out to ${SUBSCRIBERS} (goal ≤ ${TARGET_RATIO}× the same-run bare-HTTP floor, ` +
    `p99 ${ms(floorP99)} ms → ≤ ${ms(target)} ms): ${parts.join('; ')}; ` +
    `briefing_update messages received meanwhile: ${briefings}`
  );
}

/** Per shard of the sharded paths: send → the last subscriber of that shard has it (ms). */
function perShardReport(stats: ModeStats[]): string[] {
  const out: string[] = [];
  const p99Of = (key: string) => {
    const s = stats.find((x) => x.mode.key === key);
    return s ? summarize(s.events.map((e) => Math.max(...e.latencies))).p99 : Number.NaN;
  };
  const floor = p99Of('floor');
  const shardFloor = p99Of('shard-floor');
  const shards = Math.ceil(SUBSCRIBERS / SHARD_SIZE);
  for (const s of stats.filter((x) => x.mode.fanoutPath)) {
    out.push(`## Per shard: ${s.mode.name} (ms; send → the last subscriber of the shard has it)`);
    out.push('');
    const rows: (string | number)[][] = [];
    for (let k = 0; k < shards; k++) {
      const lasts = s.events.map((e) => {
        let last = Number.NaN;
        e.who.forEach((who, i) => {
          if (Math.floor(who / SHARD_SIZE) === k)
            last = Number.isNaN(last) ? (e.latencies[i] as number) : Math.max(last, e.latencies[i] as number);
        });
        return last;
      });
      const sum = summarize(lasts.filter((x) => !Number.isNaN(x)));
      rows.push([
        k,
        Math.min(SHARD_SIZE, SUBSCRIBERS - k * SHARD_SIZE),
        k === 0 ? 'fan-out handler' : 'fanout-shard handler (via the shard queue)',
        ms(sum.p50),
        ms(sum.p99),
        (sum.p99 / shardFloor).toFixed(2),
      ]);
    }
    const all = summarize(s.events.map((e) => Math.max(...e.latencies)));
    rows.push([
      'end to end',
      SUBSCRIBERS,
      'all shards',
      ms(all.p50),
      ms(all.p99),
      `${(all.p99 / shardFloor).toFixed(2)} (× all-${SUBSCRIBERS} floor: ${(all.p99 / floor).toFixed(2)})`,
    ]);
    out.push(
      markdownTable(['shard', 'connections', 'posted by', 'p50', 'p99', '× one-shard bare floor p99'], rows),
    );
    out.push('');
  }
  out.push(
    `Floors, same run: bare HTTP POST loop to one shard (${SHARD_SIZE}) p99 ${ms(shardFloor)} ms; ` +
      `to all ${SUBSCRIBERS} p99 ${ms(floor)} ms. Locally the shards share this process and its 2 cores ` +
      'with the emulators, so they run one after another in effect; on AWS each is its own invocation.',
  );
  return out;
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  // This process holds the server end of each subscriber's socket (the API Gateway emulator)
  // plus ~500 for the emulators and agents; each client process one per connection it owns.
  const limit = openFileLimit();
  const needed = SUBSCRIBERS + 500;
  if (limit !== undefined && limit < needed) {
    throw new Error(
      `open-file limit ${limit} is below the ~${needed} this run needs: run \`ulimit -n ${needed}\` first`,
    );
  }
  const perProcess = limit === undefined ? SUBSCRIBERS : Math.max(1, limit - 200);
  const processes = CLIENT_PROCESSES ?? Math.max(1, Math.ceil(SUBSCRIBERS / perProcess));
  if (Math.ceil(SUBSCRIBERS / processes) > perProcess) {
    throw new Error(
      `--client-processes ${processes}: ${Math.ceil(SUBSCRIBERS / processes)} connections each is over the open-file limit ${limit}`,
    );
  }
  instrument();
  if (WAVE > 0 && SHARD_SIZE % WAVE !== 0)
    throw new Error('--wave must divide --shard-size (shards by opening order)');
  // ws-subscribe gives each subscription shard floor(slot / FANOUT_SHARD_SIZE).
  process.env.FANOUT_SHARD_SIZE = String(SHARD_SIZE);
  const stack = await startLocalStack({ httpRoutes: [], logLevel: 'ERROR' });
  if (CACHE_MIDDLEWARE) {
    // The one client the handlers, ConnectionFanout and the SDK floor loop all share.
    (managementApi(stack.urls.wsManagement).config as { cacheMiddleware?: boolean }).cacheMiddleware = true;
  }
  let clients: ClientFleet | undefined;
  try {
    const { meetingId } = await createBenchMeeting('alice', 'fan-out bench');
    const token = await stack.issuer.mintToken('alice', { expiresInSeconds: 3600 });
    clients = await ClientFleet.start({
      url: `${stack.urls.ws}?token=${encodeURIComponent(token)}`,
      meetingId,
      count: SUBSCRIBERS,
      wave: WAVE,
      processes,
    });
    const completions = new Map<number, (got: Arrivals) => void>();
    clients.onAllReceived((seq, got) => {
      completions.get(seq)?.(got);
      completions.delete(seq);
    });
    const skew = await clients.clockSkew();
    console.error(
      `[fanout] opening ${SUBSCRIBERS} connections from ${clients.processes} client process(es)…`,
    );
    let reported = 0;
    const connect = await clients.connect((n) => {
      if (n - reported >= 1000 || n === SUBSCRIBERS) {
        reported = n;
        console.error(`[fanout] ${n} subscribed`);
      }
    });
    const subscriptions = await new ConnectionRepository().subscribers(meetingTopic(meetingId));
    // Shard 0 first, so "one shard" paths post to the connections the fan-out handler posts to.
    subscriptions.sort((a, b) => (a.shard ?? 0) - (b.shard ?? 0));
    const connectionIds = subscriptions.map((s) => s.connectionId);
    const perShard = new Map<number, number>();
    for (const s of subscriptions) perShard.set(s.shard ?? 0, (perShard.get(s.shard ?? 0) ?? 0) + 1);
    for (const [shard, n] of perShard) {
      const expected = Math.min(SHARD_SIZE, SUBSCRIBERS - shard * SHARD_SIZE);
      if (n !== expected) throw new Error(`shard ${shard} holds ${n} subscriptions, expected ${expected}`);
    }
    if (connectionIds.length !== SUBSCRIBERS) {
      throw new Error(`${connectionIds.length} subscriptions stored for ${SUBSCRIBERS} connections`);
    }
    const ctx: Ctx = { stack, meetingId, connectionIds, clients, completions };
    const stats: ModeStats[] = modes().map((mode) => ({ mode, events: [], cpuMs: 0, wallMs: 0 }));
    // One untimed event per path first (module loading, JIT, sockets of the agents).
    let seq = 0;
    for (const s of stats) await runEvent(ctx, s.mode, ++seq);
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    for (let round = 0; round < EVENTS; round++) {
      for (const s of stats) {
        const cpu0 = mainThreadCpuMs();
        const wall0 = performance.now();
        s.events.push(await runEvent(ctx, s.mode, ++seq));
        s.cpuMs += mainThreadCpuMs() - cpu0;
        s.wallMs += performance.now() - wall0;
      }
      if ((round + 1) % 5 === 0) console.error(`[fanout] round ${round + 1} of ${EVENTS}`);
    }
    loopDelay.disable();
    const rttStats: ModeStats[] = [];
    if (RTT_MS > 0 && RTT_EVENTS > 0) {
      const target = new URL(stack.urls.wsManagement);
      const { endpoint } = await clients.startDelayProxy({
        target: target.origin,
        delayMs: RTT_MS,
      });
      ctx.delayedEndpoint = `${endpoint}${target.pathname}`;
      rttStats.push(
        ...RTT_SWEEP.map((c) => ({ mode: broadcastMode(c, true), events: [], cpuMs: 0, wallMs: 0 })),
      );
      for (const s of rttStats) await runEvent(ctx, s.mode, ++seq); // warm the proxy and the client's sockets
      for (let round = 0; round < RTT_EVENTS; round++) {
        for (const s of rttStats) {
          const cpu0 = mainThreadCpuMs();
          s.events.push(await runEvent(ctx, s.mode, ++seq));
          s.cpuMs += mainThreadCpuMs() - cpu0;
        }
      }
      await clients.stopDelayProxy();
      console.error(`[fanout] concurrency sweep with +${RTT_MS} ms RTT done`);
    }
    await withTimeout(stack.fanout.idle(), 30_000, 'the queue to drain').catch((e) =>
      console.error(String(e)),
    );
    const interims = INTERIM_RATE > 0 && INTERIM_SECONDS > 0 ? await interimPhase(ctx, ++seq) : undefined;
    seq++;
    const stray = await clients.stray();
    console.log(
      report(
        stats,
        rttStats,
        connect,
        skew,
        clients.processes,
        stray,
        loopDelay.percentile(99) / 1e6,
        interims,
      ),
    );
  } finally {
    await clients?.stop();
    httpAgent.destroy();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
