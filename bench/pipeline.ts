/**
 * Pipeline overhead: from the speech server emitting a result to the client receiving it,
 * p50/p99 at 1, 10 and 100 concurrent meetings. Targets (issue #15.3), locally: end to end p50 ≤ 15 ms,
 * p99 ≤ 40 ms at 1 and 10 meetings; Parley's own share (everything but the queue hop) p50 ≤ 5 ms,
 * p99 ≤ 20 ms; 100 meetings sustained (no backlog).
 *
 *   npx tsx bench/pipeline.ts [--meetings 1,10,100] [--seconds 15] [--warmup 3]
 *                             [--interval-ms 250] [--audio-frame-ms 100] [--baseline-seconds 10]
 *                             [--no-breakdown] [--in-process] [--before]
 *   --in-process: the AWS emulators on the main thread with the handlers (the layout before issue
 *   #15.3's second pass), the same-run baseline for the default layout (emulators on a worker thread).
 *   experiments (in memory only; the report header lists which are on):
 *                             [--publisher-window-ms 0]
 *                             [--event-source-wait-seconds 0] [--event-source-concurrency 10]
 *                             [--event-source-buffer 100]
 *
 * Harness (all on loopback, bounded, cleans up):
 * - main thread: `startLocalStack()` (the API Gateway emulator, the Lambda handlers, the SQS event
 *   source feeding the fan-out handler; dynalite, s3rver and local-aws-sqs on their own worker
 *   thread, local/emulator-thread.ts, unless `--in-process`) plus, per meeting count,
 *   an AudioGateway wired exactly as containers/audio-gateway/main.ts wires it, but with its
 *   Deepgram connector pointed at a fake speech peer;
 * - worker thread (bench/lib-pipeline-world.ts): the fake Deepgram peer emitting results (an
 *   interim every `interval-ms`, every fourth a final), one fake Recall bot per meeting streaming
 *   silent PCM in real time, and one subscribed realtime client per meeting. Latency = client
 *   receive − peer emit, both taken in the worker.
 * - breakdown: the main thread wraps a few prototypes in memory (SegmentAssembler.push, the
 *   publisher's SQS client, SQSClient ReceiveMessage, TranscriptFanout.handle,
 *   ConnectionFanout.broadcast) to stamp each result as it passes; nothing on disk is changed.
 *   `--no-breakdown` skips the wrapping (to check its cost).
 * - baseline, same meeting count and result rate: the peer's results forwarded to the same
 *   clients by a trivial WebSocket relay in a child process (bench/lib-relay.ts).
 */
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ReceiveMessageCommand, type SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AudioGateway } from '../core/audio/audio-gateway';
import { createDeepgramConnector } from '../core/audio/deepgram-connector';
import { SegmentAssembler } from '../core/audio/segment-assembler';
import type { SttResult } from '../core/audio/stt-stream';
import { sqs } from '../core/clients/sqs';
import { dlqUrl, queueUrl } from '../core/config';
import { createLogger } from '../core/logger';
import { MeetingRepository } from '../core/meetings/repository';
import { recallEndpointUrl } from '../core/meetings/service';
import { deduplicationId, type PipelineEvent } from '../core/pipeline/events';
import { EventPublisher } from '../core/pipeline/publisher';
import { TranscriptFanout } from '../core/pipeline/transcript-fanout';
import { ConnectionFanout } from '../core/realtime/connection-fanout';
import type { ServerMessage } from '../core/realtime/protocol';
import { QUEUES } from '../core/resources';
import { createLocalClients } from '../local/aws-emulators';
import { fanoutHandler } from '../local/lambda-routes';
import { type SqsEventSource, startSqsEventSource } from '../local/sqs-event-source';
import { type LocalStack, startLocalStack } from '../local/stack';
import {
  clockSkew,
  createBenchMeeting,
  flagArg,
  listArg,
  machineFacts,
  mainThreadCpuMs,
  markdownTable,
  ms,
  nowAbs,
  numArg,
  type RpcPeer,
  type Summary,
  startTsChild,
  startTsWorker,
  summarize,
  until,
  withTimeout,
} from './lib-bench';
import type { RunResult, Sample, SetupRequest, WorldMeeting } from './lib-pipeline-world';

const TARGET = { p50: 15, p99: 40 };
/** Parley's own share: end to end minus the queue hop (send → handler). */
const OWN_TARGET = { p50: 5, p99: 20 };
/** The latency goals hold at 1 and 10 meetings; more meetings must only be sustained. */
const LATENCY_GOAL_MAX_MEETINGS = 10;
const MEETINGS = listArg('meetings', [1, 10, 100]);
const SECONDS = numArg('seconds', 15);
const WARMUP_S = numArg('warmup', 3);
const INTERVAL_MS = numArg('interval-ms', 250);
const AUDIO_FRAME_MS = numArg('audio-frame-ms', 100);
const BASELINE_S = numArg('baseline-seconds', 10);
const BREAKDOWN = !flagArg('no-breakdown');
/** Experiment: the publisher's batching window while a batch is in flight (default 2 ms; none when idle). */
const PUBLISHER_WINDOW_MS = process.argv.some((a) => a.startsWith('--publisher-window-ms'))
  ? numArg('publisher-window-ms', 2)
  : undefined;
/** Experiment: replace the stack's SQS event source by one with this many concurrent batches (stack: 1,000). */
const EVENT_SOURCE_CONCURRENCY = process.argv.some((a) => a.startsWith('--event-source-concurrency'))
  ? numArg('event-source-concurrency', 10)
  : flagArg('before')
    ? 10
    : undefined;
/** Experiment: the replacement event source's buffer of received messages waiting for their group (stack: 100). */
const EVENT_SOURCE_BUFFER = process.argv.some((a) => a.startsWith('--event-source-buffer'))
  ? numArg('event-source-buffer', 100)
  : undefined;
/** Experiment: the replacement event source long-polls this long (stack: 1 s). */
const EVENT_SOURCE_WAIT_S = process.argv.some((a) => a.startsWith('--event-source-wait-seconds'))
  ? numArg('event-source-wait-seconds', 0)
  : flagArg('before')
    ? 0
    : undefined;
/**
 * Baseline: local mode as it was before issue #15.3 (local-aws-sqs's own receive timing, short
 * polls with a 25 ms pause, 10 concurrent batches). Run it back to back with a default run.
 */
const BEFORE = flagArg('before');
/** Baseline layout: the emulators on the main thread with every handler, as before. */
const IN_PROCESS = flagArg('in-process');
const DRAIN_MS = 10_000;

// ---- in-process stamps (main thread) ---------------------------------------------------------

type Stage =
  | 'stt'
  | 'publish'
  | 'sendStart'
  | 'sendAck'
  | 'received'
  | 'handler'
  | 'postStart'
  | 'handlerDone';
const marks = new Map<string, Partial<Record<Stage, number>>>();
/** SQS deduplication id → result key, so SQS-level stamps need no body parsing. */
const dedupToKey = new Map<string, string>();

function mark(key: string | undefined, stage: Stage): void {
  if (!BREAKDOWN || key === undefined) return;
  let m = marks.get(key);
  if (!m) {
    m = {};
    marks.set(key, m);
  }
  m[stage] ??= nowAbs();
}

/** Wraps prototypes in memory only; the modules on disk are untouched. */
function instrument(): void {
  if (!BREAKDOWN) return;
  const push = SegmentAssembler.prototype.push;
  SegmentAssembler.prototype.push = function (this: SegmentAssembler, result: SttResult) {
    mark(result.text, 'stt');
    return push.call(this, result);
  };
  const handle = TranscriptFanout.prototype.handle;
  TranscriptFanout.prototype.handle = function (this: TranscriptFanout, event: PipelineEvent) {
    if (event.type !== 'transcript') return handle.call(this, event);
    const key = event.segment.text;
    mark(key, 'handler');
    const done = handle.call(this, event);
    void done.then(
      () => mark(key, 'handlerDone'),
      () => undefined,
    );
    return done;
  };
  const broadcast = ConnectionFanout.prototype.broadcast;
  ConnectionFanout.prototype.broadcast = function (
    this: ConnectionFanout,
    ids: readonly string[],
    message: ServerMessage | string,
  ) {
    if (typeof message === 'object' && message.type === 'transcript')
      mark(message.transcript.text, 'postStart');
    return broadcast.call(this, ids, message);
  };
  type Send = (this: SQSClient, command: unknown, ...rest: unknown[]) => Promise<unknown>;
  const proto = SQSClient.prototype as unknown as { send: Send };
  const send = proto.send;
  proto.send = function (this: SQSClient, command: unknown, ...rest: unknown[]) {
    const out = send.call(this, command, ...rest);
    if (command instanceof ReceiveMessageCommand) {
      void out.then(
        (result) => {
          for (const m of (result as { Messages?: { Attributes?: Record<string, string> }[] }).Messages ??
            []) {
            mark(dedupToKey.get(m.Attributes?.MessageDeduplicationId ?? ''), 'received');
          }
        },
        () => undefined,
      );
    }
    return out;
  };
}

/** The publisher's SQS client: the process-wide one, with SendMessageBatch stamped. */
function publisherSqs(): SQSClient {
  const real = sqs();
  return {
    async send(command: SendMessageBatchCommand) {
      const keys = (command.input.Entries ?? []).map((e) => dedupToKey.get(e.MessageDeduplicationId ?? ''));
      for (const k of keys) mark(k, 'sendStart');
      const out = await real.send(command);
      for (const k of keys) mark(k, 'sendAck');
      return out;
    },
  } as unknown as SQSClient;
}

// ---- one measured configuration --------------------------------------------------------------

interface PhaseResult {
  meetings: number;
  kind: 'parley' | 'relay';
  run: RunResult;
  setupMs: number;
  cpuPercent: number;
  /** Every thread of this process (the emulator thread and the bench's world worker included). */
  processCpuPercent: number;
  loopDelayP99: number;
  publisherStats?: EventPublisher['stats'];
}

let phaseCounter = 0;

async function parleyPhase(
  stack: LocalStack,
  fanout: SqsEventSource,
  world: RpcPeer,
  peerUrl: string,
  n: number,
): Promise<PhaseResult> {
  const logger = createLogger('bench-audio-gateway');
  const publisher = new EventPublisher({
    sqs: publisherSqs(),
    queueUrl: queueUrl('transcriptEvents'),
    logger,
    ...(PUBLISHER_WINDOW_MS === undefined ? {} : { windowMs: PUBLISHER_WINDOW_MS }),
  });
  const gateway = new AudioGateway({
    host: '127.0.0.1',
    port: 0,
    repo: new MeetingRepository(),
    connector: createDeepgramConnector({ apiKey: 'bench-key', wsUrl: peerUrl }),
    publish: (event) => {
      if (BREAKDOWN && event.type === 'transcript') {
        dedupToKey.set(deduplicationId(event), event.segment.text);
        mark(event.segment.text, 'publish');
      }
      publisher.publish(event);
    },
    flush: () => publisher.flush(),
    logger,
    maxSessions: Math.max(500, n),
  });
  const { url: audioUrl } = await gateway.listen();
  try {
    const token = await stack.issuer.mintToken('alice');
    const meetings: WorldMeeting[] = [];
    for (let i = 0; i < n; i++) {
      const m = await createBenchMeeting('alice', `pipeline bench ${n}/${i}`);
      meetings.push({
        meetingId: m.meetingId,
        recallUrl: recallEndpointUrl(audioUrl, m.meetingId, m.token),
        clientUrl: `${stack.urls.ws}?token=${encodeURIComponent(token)}`,
        subscribe: true,
      });
    }
    const setup = await world.call<{ setupMs: number }>('setup', {
      meetings,
      audioFrameMs: AUDIO_FRAME_MS,
    } satisfies SetupRequest);
    const ready = await until(() => gateway.stats.sessions === n, 30_000);
    if (!ready) throw new Error(`only ${gateway.stats.sessions} of ${n} sessions started`);
    if (!(await pollUntil(world, 'speechSockets', n, 30_000)))
      throw new Error('speech sockets did not all open');
    // Let the `live` status events of the new sessions pass before measuring.
    await withTimeout(fanout.idle(), 30_000, 'status events to drain');
    marks.clear();
    const measured = await measure(world);
    await world.call('stopAudio');
    return {
      meetings: n,
      kind: 'parley',
      setupMs: setup.setupMs,
      ...measured,
      publisherStats: { ...publisher.stats },
    };
  } finally {
    await withTimeout(gateway.shutdown('bench phase done'), 30_000, 'audio gateway shutdown').catch((e) =>
      console.error(String(e)),
    );
    await world.call('teardown');
    await withTimeout(fanout.idle(), 30_000, 'fan-out to drain').catch((e) => console.error(String(e)));
    dedupToKey.clear();
  }
}

async function relayPhase(world: RpcPeer, relay: RpcPeer, peerUrl: string, n: number): Promise<PhaseResult> {
  const meetingIds = Array.from({ length: n }, (_, i) => `relay-${n}-${i}`);
  const { url } = await relay.call<{ url: string }>('connect', { peerUrl, meetingIds });
  try {
    const setup = await world.call<{ setupMs: number }>('setup', {
      meetings: meetingIds.map((meetingId) => ({
        meetingId,
        clientUrl: `${url}/?meeting=${meetingId}`,
        subscribe: false,
      })),
      audioFrameMs: 0,
    } satisfies SetupRequest);
    const measured = await measure(world, BASELINE_S);
    return { meetings: n, kind: 'relay', setupMs: setup.setupMs, ...measured };
  } finally {
    await world.call('teardown');
    await relay.call('disconnect');
  }
}

async function pollUntil(world: RpcPeer, cmd: string, want: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await world.call<number>(cmd)) >= want) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function measure(
  world: RpcPeer,
  seconds = SECONDS,
): Promise<{ run: RunResult; cpuPercent: number; processCpuPercent: number; loopDelayP99: number }> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const cpu0 = mainThreadCpuMs();
  const processCpu0 = process.cpuUsage();
  const wall0 = performance.now();
  loop.enable();
  const run = await world.call<RunResult>('run', {
    phase: ++phaseCounter,
    warmupMs: WARMUP_S * 1000,
    measureMs: seconds * 1000,
    drainMs: DRAIN_MS,
    intervalMs: INTERVAL_MS,
  });
  loop.disable();
  const cpu = mainThreadCpuMs() - cpu0;
  const processCpu = process.cpuUsage(processCpu0);
  const wall = performance.now() - wall0;
  return {
    run,
    // The main thread (the whole local stack): 100 % = its one core saturated.
    cpuPercent: (cpu / wall) * 100,
    processCpuPercent: ((processCpu.user + processCpu.system) / 1000 / wall) * 100,
    loopDelayP99: loop.percentile(99) / 1e6,
  };
}

// ---- reporting -------------------------------------------------------------------------------

const latencies = (samples: Sample[]) =>
  samples.filter((s) => Number.isFinite(s.recv)).map((s) => s.recv - s.emit);

interface StageDef {
  label: string;
  from: Stage | 'emit';
  to: Stage | 'recv';
  only?: 'interim' | 'final';
}

const STAGES: StageDef[] = [
  { label: 'peer → gateway: ws + Deepgram SDK parse', from: 'emit', to: 'stt' },
  { label: 'segment assembly (seq reservation)', from: 'stt', to: 'publish' },
  {
    label: 'publisher: batch window (none when idle, else 2 ms) + a free batch slot',
    from: 'publish',
    to: 'sendStart',
  },
  { label: 'SendMessageBatch round trip', from: 'sendStart', to: 'sendAck' },
  { label: 'SQS send → ReceiveMessage (emulator + idle poll)', from: 'sendStart', to: 'received' },
  { label: 'received → handler (FIFO group / batch slots)', from: 'received', to: 'handler' },
  {
    label: 'handler → PostToConnection, interims (Query subscribers)',
    from: 'handler',
    to: 'postStart',
    only: 'interim',
  },
  {
    label: 'handler → PostToConnection, finals (PutItem + Query + GetItem)',
    from: 'handler',
    to: 'postStart',
    only: 'final',
  },
  { label: 'PostToConnection → client (mgmt API + ws)', from: 'postStart', to: 'recv' },
  {
    label: 'handler busy per final (+ advanceLastSeq)',
    from: 'handler',
    to: 'handlerDone',
    only: 'final',
  },
];
const COARSE: StageDef[] = [
  { label: '**A. speech peer → SQS publish**', from: 'emit', to: 'sendStart' },
  { label: '**B. SQS hop (send → fan-out handler)**', from: 'sendStart', to: 'handler' },
  { label: '**C. fan-out handler → client**', from: 'handler', to: 'recv' },
];

function stageValues(samples: Sample[], def: StageDef): number[] {
  const out: number[] = [];
  for (const s of samples) {
    if (!Number.isFinite(s.recv) || (def.only && (def.only === 'final') !== s.final)) continue;
    const m = marks.get(s.key);
    if (!m) continue;
    const from = def.from === 'emit' ? s.emit : m[def.from];
    const to = def.to === 'recv' ? s.recv : m[def.to];
    if (from !== undefined && to !== undefined) out.push(to - from);
  }
  return out;
}

/** Total minus the SQS hop, per sample (what Parley's own code and the other emulators add). */
function withoutSqsHop(samples: Sample[]): number[] {
  const out: number[] = [];
  for (const s of samples) {
    const m = marks.get(s.key);
    if (!Number.isFinite(s.recv) || m?.sendStart === undefined || m.handler === undefined) continue;
    out.push(s.recv - s.emit - (m.handler - m.sendStart));
  }
  return out;
}

const p = (s: Summary) => `${ms(s.p50)} / ${ms(s.p99)}`;
const offeredRate = (meetings: number) => (meetings * 1000) / INTERVAL_MS;
const throughput = (run: RunResult) => run.receivedInWindow / ((run.measureEnd - run.measureStart) / 1000);

/** Median latency of results emitted in the first and in the last third of the window. */
function thirds(run: RunResult): { first: number; last: number } {
  const third = (run.measureEnd - run.measureStart) / 3;
  const firstCut = run.measureStart + third;
  const lastCut = run.measureEnd - third;
  return {
    first: summarize(latencies(run.samples.filter((s) => s.emit < firstCut))).p50,
    last: summarize(latencies(run.samples.filter((s) => s.emit >= lastCut))).p50,
  };
}

interface Row {
  n: number;
  parley: PhaseResult;
  relay: PhaseResult;
  breakdown: { stages: Summary[]; coarse: Summary[]; noHop: Summary };
}

function report(rows: Row[], skew: { skewMs: number; rttMs: number }, startupMs: number): string {
  const out: string[] = [];
  out.push('# Pipeline overhead: speech result emitted → realtime client');
  out.push('');
  out.push(machineFacts());
  out.push(
    `- settings: ${SECONDS} s measured after ${WARMUP_S} s warm-up per meeting count; per meeting an interim every ` +
      `${INTERVAL_MS} ms, every 4th result a final (${(1000 / INTERVAL_MS / 4).toFixed(1)} finals/s, ` +
      `${(1000 / INTERVAL_MS).toFixed(1)} results/s); Recall audio ` +
      `${AUDIO_FRAME_MS > 0 ? `${AUDIO_FRAME_MS} ms frames in real time` : 'one frame only'}; relay baseline ${BASELINE_S} s`,
  );
  out.push(
    `- layout: ${IN_PROCESS ? '**--in-process**: the AWS emulators on the main thread with the handlers (baseline)' : 'the AWS emulators on their own worker thread (local/emulator-thread.ts, the default)'}\n` +
      `- ${BEFORE ? '**--before**: local-aws-sqs receive timing as before issue #15.3 (fix off); ' : ''}experiments: publisher window ${PUBLISHER_WINDOW_MS === undefined ? 'Parley default (none when idle, 2 ms while a batch is in flight)' : `${PUBLISHER_WINDOW_MS} ms`}; ` +
      `SQS event source concurrent batches ` +
      `${EVENT_SOURCE_CONCURRENCY ?? '1,000 (stack default)'}, ReceiveMessage wait ` +
      `${EVENT_SOURCE_WAIT_S === undefined ? '1 s (stack default)' : `${EVENT_SOURCE_WAIT_S} s`}, buffer ` +
      `${EVENT_SOURCE_BUFFER === undefined ? '100 messages (stack default)' : `${EVENT_SOURCE_BUFFER} messages`}; ` +
      `breakdown stamps ${BREAKDOWN ? 'on' : 'off'}`,
  );
  out.push(
    `- worker clock vs main clock: ${skew.skewMs.toFixed(3)} ms (round trip ${skew.rttMs.toFixed(3)} ms); local stack start ${(startupMs / 1000).toFixed(1)} s`,
  );
  out.push('');
  out.push('## End to end (ms): peer emit → client receive');
  out.push('');
  out.push(
    markdownTable(
      [
        'meetings',
        'results/s received (offered)',
        'delivered',
        'lost',
        'p50',
        'p50 1st → last third',
        'p90',
        'p99',
        'max',
        'interim p50 / p99',
        'final p50 / p99',
        'excl. SQS hop p50 / p99',
        'relay baseline p50 / p99 / max',
        'main-thread CPU',
        'process CPU (all threads)',
        'SendMessageBatch calls',
        'loop delay p99',
      ],
      rows.map(({ n, parley, relay, breakdown }) => {
        const all = summarize(latencies(parley.run.samples));
        const interim = summarize(latencies(parley.run.samples.filter((s) => !s.final)));
        const final = summarize(latencies(parley.run.samples.filter((s) => s.final)));
        const base = summarize(latencies(relay.run.samples));
        const lost = parley.run.samples.length - all.n;
        const rate = throughput(parley.run);
        return [
          n,
          `${rate.toFixed(0)} (${offeredRate(n).toFixed(0)})`,
          all.n,
          lost,
          ms(all.p50),
          `${ms(thirds(parley.run).first)} → ${Number.isNaN(thirds(parley.run).last) ? 'none arrived' : ms(thirds(parley.run).last)}`,
          ms(all.p90),
          ms(all.p99),
          ms(all.max),
          p(interim),
          p(final),
          BREAKDOWN ? p(breakdown.noHop) : 'n/a',
          `${ms(base.p50)} / ${ms(base.p99)} / ${ms(base.max)}`,
          `${parley.cpuPercent.toFixed(0)} %`,
          `${parley.processCpuPercent.toFixed(0)} %`,
          parley.publisherStats?.batches ?? '–',
          `${ms(parley.loopDelayP99)} ms`,
        ];
      }),
    ),
  );
  out.push('');
  if (BREAKDOWN) {
    out.push('## Where the time goes (ms, p50 / p99 per stage; stages overlap where noted)');
    out.push('');
    out.push(
      markdownTable(
        ['stage', ...rows.map((r) => `${r.n} meeting${r.n === 1 ? '' : 's'}`)],
        [
          ...COARSE.map((def, i) => [def.label, ...rows.map((r) => p(r.breakdown.coarse[i] as Summary))]),
          ...STAGES.map((def, i) => [def.label, ...rows.map((r) => p(r.breakdown.stages[i] as Summary))]),
        ],
      ),
    );
    out.push('');
    out.push(
      'A + B + C = end to end (medians do not add up exactly). "SQS send → ReceiveMessage" contains the ' +
        'SendMessageBatch round trip and the long-polling ReceiveMessage answering (local-aws-sqs, with ' +
        'local/aws-emulators.ts `fixLocalSqsReceiveWait`, answers as soon as a message arrives). SQS FIFO on AWS ' +
        'takes longer (PROTOCOLS.md: send → handler p50 28 ms): do not read this hop as an AWS number.',
    );
    out.push('');
  }
  out.push('## Verdict, one line per goal (issue #15.3)');
  out.push('');
  const verdict = (pass: boolean) => (pass ? '**PASS**' : '**FAIL**');
  for (const { n, parley, breakdown } of rows) {
    const all = summarize(latencies(parley.run.samples));
    const lost = parley.run.samples.length - all.n;
    const rate = throughput(parley.run);
    const { first, last } = thirds(parley.run);
    const saturated = lost > 0 || rate < 0.95 * offeredRate(n) || !(last <= 2 * first + 50);
    const label = `${n} meeting${n === 1 ? '' : 's'}`;
    // The latency goals are set at 1 and 10 meetings; at other counts they are reported only.
    const latencyGoal = n <= LATENCY_GOAL_MAX_MEETINGS ? '' : ' (no latency goal at this count)';
    const e2eOk = all.p50 <= TARGET.p50 && all.p99 <= TARGET.p99 && !saturated;
    out.push(
      `- VERDICT ${label}, end to end p50 ≤ ${TARGET.p50} ms and p99 ≤ ${TARGET.p99} ms: ` +
        `${latencyGoal ? 'info' : verdict(e2eOk)} (p50 ${ms(all.p50)}, p99 ${ms(all.p99)}${saturated ? ', saturated' : ''})${latencyGoal}`,
    );
    if (BREAKDOWN) {
      const noHop = breakdown.noHop;
      const noHopOk = noHop.p50 <= OWN_TARGET.p50 && noHop.p99 <= OWN_TARGET.p99 && !saturated;
      out.push(
        `- VERDICT ${label}, Parley's share (end to end minus the SQS hop) p50 ≤ ${OWN_TARGET.p50} ms and ` +
          `p99 ≤ ${OWN_TARGET.p99} ms: ${latencyGoal ? 'info' : verdict(noHopOk)} (p50 ${ms(noHop.p50)}, p99 ${ms(noHop.p99)})${latencyGoal}`,
      );
    }
    out.push(
      `- VERDICT ${label}, sustained (≥ 95 % of the offered results/s received, nothing lost, no growing backlog): ` +
        `${verdict(!saturated)} (received ${rate.toFixed(0)} of ${offeredRate(n).toFixed(0)} results/s; ` +
        `p50 ${ms(first)} ms in the window's first third, ` +
        `${Number.isNaN(last) ? 'none of its last third arrived' : `${ms(last)} ms in its last`}; ${lost} not delivered ` +
        `within ${DRAIN_MS / 1000} s after the window)`,
    );
  }
  return out.join('\n');
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  instrument();
  const t0 = performance.now();
  const stack = await startLocalStack({
    httpRoutes: [],
    logLevel: 'ERROR',
    emulatorLayout: IN_PROCESS ? 'in-process' : 'thread',
    ...(BEFORE ? { sqsReceiveWaitFix: false } : {}),
  });
  const startupMs = performance.now() - t0;
  let fanout: SqsEventSource = stack.fanout;
  let eventSourceSqs: { destroy(): void } | undefined;
  if (
    EVENT_SOURCE_CONCURRENCY !== undefined ||
    EVENT_SOURCE_WAIT_S !== undefined ||
    EVENT_SOURCE_BUFFER !== undefined
  ) {
    // Same options as local/stack.ts, except maxConcurrentBatches and waitTimeSeconds.
    await stack.fanout.stop();
    const clients = createLocalClients(stack.emulators.endpoints);
    eventSourceSqs = clients;
    const def = QUEUES.transcriptEvents;
    fanout = startSqsEventSource({
      sqs: clients.sqs,
      queueUrl: queueUrl('transcriptEvents'),
      queueArn: stack.emulators.queueArns.transcriptEvents.queue,
      dlqUrl: dlqUrl('transcriptEvents'),
      maxReceiveCount: def.maxReceiveCount,
      batchSize: def.batchSize,
      visibilityTimeoutSeconds: def.visibilityTimeoutSeconds,
      functionTimeoutSeconds: def.visibilityTimeoutSeconds,
      fifo: def.fifo,
      handler: fanoutHandler,
      logger: createLogger('bench-event-source'),
      ...(EVENT_SOURCE_CONCURRENCY === undefined ? {} : { maxConcurrentBatches: EVENT_SOURCE_CONCURRENCY }),
      ...(EVENT_SOURCE_WAIT_S === undefined ? {} : { waitTimeSeconds: EVENT_SOURCE_WAIT_S }),
      ...(EVENT_SOURCE_BUFFER === undefined ? {} : { maxBufferedMessages: EVENT_SOURCE_BUFFER }),
    });
  }
  const { worker, rpc: world } = startTsWorker(path.join(__dirname, 'lib-pipeline-world.ts'), {});
  const { child, rpc: relay } = startTsChild(path.join(__dirname, 'lib-relay.ts'));
  const rows: Row[] = [];
  try {
    const skew = await clockSkew(world);
    const { url: peerUrl } = await world.call<{ url: string }>('startPeer');
    for (const n of MEETINGS) {
      console.error(`[pipeline] ${n} meeting(s): Parley…`);
      const parley = await parleyPhase(stack, fanout, world, peerUrl, n);
      const breakdown = {
        stages: STAGES.map((def) => summarize(stageValues(parley.run.samples, def))),
        coarse: COARSE.map((def) => summarize(stageValues(parley.run.samples, def))),
        noHop: summarize(withoutSqsHop(parley.run.samples)),
      };
      console.error(`[pipeline] ${n} meeting(s): relay baseline…`);
      const base = await relayPhase(world, relay, peerUrl, n);
      rows.push({ n, parley, relay: base, breakdown });
      const all = summarize(latencies(parley.run.samples));
      console.error(
        `[pipeline] ${n}: p50 ${ms(all.p50)} p99 ${ms(all.p99)} max ${ms(all.max)} (${all.n} of ${parley.run.samples.length}); ` +
          `relay p50 ${ms(summarize(latencies(base.run.samples)).p50)}`,
      );
      marks.clear();
    }
    console.log(report(rows, skew, startupMs));
  } finally {
    await world.call('stopPeer').catch(() => undefined);
    await relay.call('exit').catch(() => undefined);
    child.kill();
    await worker.terminate();
    if (fanout !== stack.fanout) await fanout.stop();
    eventSourceSqs?.destroy();
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
