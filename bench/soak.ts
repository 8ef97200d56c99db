/**
 * Soak: 20 meetings × 10 clients for 10 minutes through the whole local pipeline, with a fast
 * fake speech peer speaking Deepgram's live protocol. Reports the stack's memory over time,
 * missed and duplicated finals (per client), and latency percentiles (first and last client).
 *
 *   npm run bench:soak -- [--minutes 10] [--meetings 20] [--clients 10] [--interval-ms 250]
 *                         [--sample-seconds 30] [--drain-seconds 60] [--heap-snapshots DIR]
 *
 * Harness (loopback only, bounded, stops by itself): the main thread runs `startLocalStack()`
 * (dynalite, local SQS, the API Gateway emulator, the fan-out handler) and an AudioGateway wired
 * as containers/audio-gateway/main.ts wires it, its Deepgram connector pointed at the fake peer;
 * a worker thread (bench/lib-pipeline-world.ts) runs the peer (per meeting an interim every
 * `interval-ms`, every fourth result a final), one fake Recall bot per meeting streaming silent
 * PCM in real time, and `clients` subscribed realtime clients per meeting. The first sample of
 * memory, taken after setup and warm-up, is the baseline the later ones are compared with; heaps
 * are sampled after a forced full GC (the stack's main thread, and the harness worker apart).
 * After the drain it also reports finals per client and per meeting, finals sent by the peer vs
 * stored, client sockets the server closed, the transcript DLQ's depth, and what the emulated AWS
 * stored between the baseline and the end (items and bytes, bench/lib-soak-store.ts) next to the
 * stack's memory growth over the same span. With `--heap-snapshots DIR` it writes the stack
 * process's heap snapshot at the baseline and at the end; `bench/heap-diff.ts` attributes the
 * growth between them to the objects that retain it.
 */
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { performance as nodePerformance } from 'node:perf_hooks';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { AudioGateway } from '../core/audio/audio-gateway';
import { createDeepgramConnector } from '../core/audio/deepgram-connector';
import { dynamo } from '../core/clients/dynamodb';
import { sqs } from '../core/clients/sqs';
import { dlqUrl, queueUrl, tableName } from '../core/config';
import { createLogger } from '../core/logger';
import { MeetingRepository } from '../core/meetings/repository';
import { recallEndpointUrl } from '../core/meetings/service';
import { EventPublisher } from '../core/pipeline/publisher';
import { startLocalStack } from '../local/stack';
import {
  createBenchMeeting,
  machineFacts,
  markdownTable,
  ms,
  numArg,
  startTsWorker,
  strArg,
  summarize,
  until,
  withTimeout,
} from './lib-bench';
import type { RunRequest, RunResult, SetupRequest, WorldMeeting } from './lib-pipeline-world';
import { type MemoryAndStore, storedData, storeGrowthLines } from './lib-soak-store';

const MINUTES = numArg('minutes', 10);
const MEETINGS = numArg('meetings', 20);
const CLIENTS = numArg('clients', 10);
const INTERVAL_MS = numArg('interval-ms', 250);
const SAMPLE_S = numArg('sample-seconds', 30);
const DRAIN_S = numArg('drain-seconds', 60);
/** Opt-in: write the stack process's heap snapshot at the baseline sample and at the end (bench/heap-diff.ts reads them). */
const SNAPSHOT_DIR = strArg('heap-snapshots');
const MB = 1024 * 1024;

// Heap figures are taken after a full collection, so they show live memory, not garbage not yet
// collected ("memory flat" is about what is kept). Costs a few ms per sample.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface MemorySample {
  atS: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  /** The harness worker thread's heap (peer, bots, clients: its own V8 isolate). */
  worldHeapMb: number;
  /** Share of the interval the stack's event loop was busy (1 = saturated). */
  loopBusy: number;
  /** CPU time of the stack process (all threads) per wall second over the interval. */
  cpu: number;
  /** Messages waiting in the transcript-events queue (visible + in flight). */
  queued: number;
  load1: number;
}

let lastLoop = nodePerformance.eventLoopUtilization();
let lastCpu = { usage: process.cpuUsage(), at: performance.now() };

type World = ReturnType<typeof startTsWorker>['rpc'];

async function memory(startedAt: number, world: World): Promise<MemorySample> {
  collectGarbage();
  const m = process.memoryUsage();
  const worldMemory = await world
    .call<{ heapUsed: number }>('memory')
    .catch(() => ({ heapUsed: Number.NaN }));
  const loop = nodePerformance.eventLoopUtilization(lastLoop);
  lastLoop = nodePerformance.eventLoopUtilization();
  const usage = process.cpuUsage(lastCpu.usage);
  const now = performance.now();
  const cpu = (usage.user + usage.system) / 1000 / Math.max(1, now - lastCpu.at);
  lastCpu = { usage: process.cpuUsage(), at: now };
  const { Attributes } = await sqs()
    .send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl('transcriptEvents'),
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    )
    .catch(() => ({ Attributes: undefined }));
  return {
    atS: Math.round((now - startedAt) / 1000),
    rssMb: m.rss / MB,
    heapUsedMb: m.heapUsed / MB,
    externalMb: m.external / MB,
    worldHeapMb: worldMemory.heapUsed / MB,
    loopBusy: loop.utilization,
    cpu,
    queued:
      Number(Attributes?.ApproximateNumberOfMessages ?? Number.NaN) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
    load1: loadavg()[0] ?? 0,
  };
}

async function main(): Promise<void> {
  // In process: the memory verdict weighs the stack's heap against the emulated AWS's stored data,
  // so both must live in the isolate that is sampled (the default layout puts the emulators on a
  // thread of their own, whose heap process.memoryUsage() does not show).
  const stack = await startLocalStack({ httpRoutes: [], logLevel: 'ERROR', emulatorLayout: 'in-process' });
  const { worker, rpc: world } = startTsWorker(path.join(__dirname, 'lib-pipeline-world.ts'), {});
  const logger = createLogger('bench-soak');
  const publisher = new EventPublisher({ sqs: sqs(), queueUrl: queueUrl('transcriptEvents'), logger });
  let gateway: AudioGateway | undefined;
  try {
    const { url: peerUrl } = await world.call<{ url: string }>('startPeer');
    gateway = new AudioGateway({
      host: '127.0.0.1',
      port: 0,
      repo: new MeetingRepository(),
      connector: createDeepgramConnector({ apiKey: 'bench-key', wsUrl: peerUrl }),
      publish: (event) => publisher.publish(event),
      flush: () => publisher.flush(),
      logger,
      maxSessions: Math.max(150, MEETINGS),
    });
    const { url: audioUrl } = await gateway.listen();
    const token = await stack.issuer.mintToken('alice');
    const meetings: WorldMeeting[] = [];
    for (let i = 0; i < MEETINGS; i++) {
      const m = await createBenchMeeting('alice', `soak ${i}`);
      meetings.push({
        meetingId: m.meetingId,
        recallUrl: recallEndpointUrl(audioUrl, m.meetingId, m.token),
        clientUrl: `${stack.urls.ws}?token=${encodeURIComponent(token)}`,
        subscribe: true,
        clients: CLIENTS,
      });
    }
    console.error(`[soak] ${MEETINGS} meetings × ${CLIENTS} clients: setting up…`);
    await world.call('setup', { meetings, audioFrameMs: 100 } satisfies SetupRequest);
    const live = gateway;
    if (!(await until(() => live.stats.sessions === MEETINGS, 60_000))) {
      throw new Error(`only ${live.stats.sessions} of ${MEETINGS} sessions started`);
    }
    await withTimeout(stack.fanout.idle(), 60_000, 'status events to drain');

    const startedAt = performance.now();
    const samples: MemorySample[] = [];
    const warmupMs = 10_000;
    let atBase: MemoryAndStore | undefined;
    lastLoop = nodePerformance.eventLoopUtilization();
    lastCpu = { usage: process.cpuUsage(), at: performance.now() };
    const timer = setInterval(async () => {
      const sample = await memory(startedAt, world);
      samples.push(sample);
      if (samples.length === 1) {
        snapshot(sample.atS);
        atBase = { ...sample, store: await storedData() };
      }
      console.error(
        `[soak] ${sample.atS}s rss ${sample.rssMb.toFixed(0)} MB heap ${sample.heapUsedMb.toFixed(0)} MB external ${sample.externalMb.toFixed(0)} MB (harness ${sample.worldHeapMb.toFixed(0)} MB) loop ${(sample.loopBusy * 100).toFixed(0)}% cpu ${sample.cpu.toFixed(2)} queued ${sample.queued} load ${sample.load1.toFixed(1)}`,
      );
    }, SAMPLE_S * 1000);
    // The harness's results stay in this function: they are ~15 MB at the full size in this
    // thread, not the stack's memory, so they are summarized and let go before the last sample.
    const deliveries = await (async () => {
      const run = await world.call<RunResult>('run', {
        phase: 1,
        warmupMs,
        measureMs: MINUTES * 60_000,
        drainMs: DRAIN_S * 1000,
        intervalMs: INTERVAL_MS,
      } satisfies RunRequest);
      clearInterval(timer);
      const meetingIds = meetings.map((m) => m.meetingId);
      const stored = await storedFinals(meetingIds);
      return deliveryReport(run, meetingIds, stored, await queueDepth(dlqUrl('transcriptEvents')));
    })();
    const last = await memory(startedAt, world);
    samples.push(last);
    snapshot(last.atS);
    const atEnd: MemoryAndStore = { ...last, store: await storedData() };
    await world.call('stopAudio');
    console.log(`${deliveries}\n\n${memoryReport(samples, atBase && storeGrowthLines(atBase, atEnd))}`);
  } finally {
    if (gateway) await withTimeout(gateway.shutdown('soak done'), 30_000, 'gateway shutdown').catch(() => {});
    await world.call('teardown').catch(() => undefined);
    await world.call('stopPeer').catch(() => undefined);
    await worker.terminate();
    await stack.stop();
  }
}

/** With `--heap-snapshots DIR`: the stack process's heap now (blocks its event loop a few seconds). */
function snapshot(atS: number): void {
  if (!SNAPSHOT_DIR) return;
  mkdirSync(SNAPSHOT_DIR, { recursive: true });
  const file = writeHeapSnapshot(
    path.join(SNAPSHOT_DIR, `soak-${String(atS).padStart(4, '0')}s.heapsnapshot`),
  );
  console.error(`[soak] heap snapshot ${file}`);
}

/** Finals stored per meeting (the segments table holds finals only). */
async function storedFinals(meetingIds: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const meetingId of meetingIds) {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamo().send(
        new QueryCommand({
          TableName: tableName('segments'),
          KeyConditionExpression: 'meetingId = :m',
          ExpressionAttributeValues: { ':m': meetingId },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    out.set(meetingId, count);
  }
  return out;
}

async function queueDepth(url: string): Promise<number> {
  const { Attributes } = await sqs().send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? Number.NaN);
}

/** Per meeting: finals in the window, and the fewest / most of them any of its clients received. */
function perClient(run: RunResult, meetingIds: string[]) {
  const rows = meetingIds.map((meetingId, index) => {
    const finals = run.samples.filter((s) => s.final && s.key.split('.')[1] === String(index));
    const missed = new Map<number, number>();
    for (const s of finals) for (const c of s.missing ?? []) missed.set(c, (missed.get(c) ?? 0) + 1);
    const received = Array.from({ length: CLIENTS }, (_, c) => finals.length - (missed.get(c) ?? 0));
    return {
      index,
      meetingId,
      sent: finals.length,
      min: Math.min(...received),
      max: Math.max(...received),
      short: received.filter((r) => r < finals.length).length,
      duplicates: finals.reduce((n, s) => n + s.duplicates, 0),
    };
  });
  return rows;
}

function deliveryReport(
  run: RunResult,
  meetingIds: string[],
  stored: Map<string, number>,
  parked: number,
): string {
  const clients = perClient(run, meetingIds);
  const storeRows = meetingIds.map((id) => ({
    id,
    sent: run.finalsSent[id] ?? 0,
    stored: stored.get(id) ?? 0,
  }));
  const storeMismatch = storeRows.filter((r) => r.sent !== r.stored);
  const finals = run.samples.filter((s) => s.final);
  const expected = finals.reduce((n, s) => n + s.expectedClients, 0);
  const delivered = finals.reduce((n, s) => n + Math.min(s.clients, s.expectedClients), 0);
  const duplicates = finals.reduce((n, s) => n + s.duplicates, 0);
  const first = summarize(run.samples.filter((s) => !Number.isNaN(s.recv)).map((s) => s.recv - s.emit));
  const last = summarize(
    run.samples.filter((s) => !Number.isNaN(s.recvLast)).map((s) => s.recvLast - s.emit),
  );
  const finalLast = summarize(
    finals.filter((s) => !Number.isNaN(s.recvLast)).map((s) => s.recvLast - s.emit),
  );
  // Where the time goes (the first client's copy): stamps of the gateway and the fan-out.
  const hop = (f: (s: (typeof run.samples)[number]) => number | undefined) =>
    summarize(
      run.samples.flatMap((s) => {
        const v = f(s);
        return v === undefined || Number.isNaN(v) ? [] : [v];
      }),
    );
  const hops = [
    ['peer emit → gateway published', hop((s) => s.hops?.publishedAt && s.hops.publishedAt - s.emit)],
    [
      'published → fan-out took it (publisher, SQS, poller)',
      hop((s) => s.hops?.fanoutAt && s.hops.publishedAt && s.hops.fanoutAt - s.hops.publishedAt),
    ],
    [
      'fan-out took → posted (store, subscribers, posts)',
      hop((s) => s.hops?.sentAt && s.hops.fanoutAt && s.hops.sentAt - s.hops.fanoutAt),
    ],
    ['posted → first client (API Gateway emulator)', hop((s) => s.hops?.sentAt && s.recv - s.hops.sentAt)],
  ] as const;
  const lines = [
    `## Soak: ${MEETINGS} meetings × ${CLIENTS} clients, ${MINUTES} min, a result every ${INTERVAL_MS} ms per meeting`,
    '',
    machineFacts(),
    '',
    `- results emitted in the window: ${run.samples.length} (${finals.length} finals); skipped before the speech socket opened: ${run.skipped}`,
    `- final deliveries: ${delivered} of ${expected} expected (missed: not received within ${DRAIN_S} s of the window's end: ${expected - delivered}), duplicates ${duplicates}`,
    `- clients that received every final of the window: ${clients.reduce((n, r) => n + CLIENTS - r.short, 0)} of ${clients.length * CLIENTS}; client sockets closed by the server during the run: ${run.clientsClosed}`,
    `- finals sent by the peer in the whole run (warm-up included) ${storeRows.reduce((n, r) => n + r.sent, 0)}, stored ${storeRows.reduce((n, r) => n + r.stored, 0)}; meetings where they differ: ${storeMismatch.length === 0 ? 'none' : storeMismatch.map((r) => `${r.id} sent ${r.sent} stored ${r.stored}`).join(', ')}`,
    `- transcript-events DLQ after the run: ${parked} message(s)`,
    '',
    markdownTable(
      [
        'meeting',
        'finals sent (window)',
        'fewest received by a client',
        'most',
        'clients short',
        'duplicates',
      ],
      clients.map((r) => [r.index, r.sent, r.min, r.max, r.short, r.duplicates]),
    ),
    '',
    markdownTable(
      ['latency (peer emit → client receive)', 'n', 'p50', 'p90', 'p99', 'max'],
      [
        ['first client, every result', first.n, ms(first.p50), ms(first.p90), ms(first.p99), ms(first.max)],
        [
          `last of ${CLIENTS} clients, every result`,
          last.n,
          ms(last.p50),
          ms(last.p90),
          ms(last.p99),
          ms(last.max),
        ],
        [
          `last of ${CLIENTS} clients, finals`,
          finalLast.n,
          ms(finalLast.p50),
          ms(finalLast.p90),
          ms(finalLast.p99),
          ms(finalLast.max),
        ],
      ],
    ),
    '',
    markdownTable(
      ['hop (first client, every result)', 'n', 'p50', 'p90', 'p99', 'max'],
      hops.map(([name, h]) => [name, h.n, ms(h.p50), ms(h.p90), ms(h.p99), ms(h.max)]),
    ),
  ];
  return lines.join('\n');
}

/** Memory per sample, then what the emulated AWS stored over the same span and the verdict. */
function memoryReport(samples: MemorySample[], storeGrowth: string[] | undefined): string {
  // Baseline: the first sample after warm-up; later ones are compared with it.
  const base = samples.find((s) => s.atS * 1000 >= 10_000) ?? samples[0];
  const lines = [
    markdownTable(
      [
        't (s)',
        'rss MB',
        'heap used MB (after GC)',
        'external MB',
        'heap vs baseline',
        'harness heap MB',
        'loop busy',
        'CPU s/s',
        'queued',
        'load 1 min',
      ],
      samples.map((s) => [
        s.atS,
        s.rssMb.toFixed(0),
        s.heapUsedMb.toFixed(1),
        s.externalMb.toFixed(1),
        base
          ? `${(s.heapUsedMb - base.heapUsedMb >= 0 ? '+' : '') + (s.heapUsedMb - base.heapUsedMb).toFixed(1)} MB`
          : '',
        s.worldHeapMb.toFixed(1),
        `${(s.loopBusy * 100).toFixed(0)}%`,
        s.cpu.toFixed(2),
        s.queued,
        s.load1.toFixed(1),
      ]),
    ),
    '',
    ...(storeGrowth ?? ['- stored data: no sample was taken during the run']),
  ];
  return lines.join('\n');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
