/**
 * The process under test for bench/audio-gateway.ts (started by it; not run by hand).
 *
 *   node --expose-gc --import tsx bench/audio-gateway-target.ts <gateway|relay> <sinkUrl> [experiments]
 *
 * `gateway`: the real AudioGateway (core/audio/audio-gateway.ts) with the real Deepgram
 * connector (createDeepgramConnector → @deepgram/sdk) pointed at the bench's sink. The meeting
 * repository is an in-memory stand-in and publish/flush are counting no-ops: this measures the
 * gateway, not DynamoDB or SQS.
 *
 * `relay`: the baseline — a plain `ws` server that JSON-parses each Recall frame, base64-decodes
 * the PCM and forwards it on a plain `ws` client to the sink. No validation, no session logic.
 *
 * `experiments` (comma-separated, see audio-gateway-experiments.ts) patch candidate optimisations
 * in before the gateway's modules load, which is why those are required lazily below.
 *
 * Talks to the parent over IPC: `ready` (with idle memory) → `mark` (start of the measured
 * window) → `report` (window stats) → `exit`. Exits by itself when the parent goes away.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
  performance,
  type RecordableHistogram,
} from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { WebSocket, WebSocketServer } from 'ws';
import type { AudioGatewayOptions } from '../core/audio/audio-gateway';
import { parseSpeechEncoding } from '../core/audio/speech-encoding';
import { hashEndpointToken } from '../core/meetings/endpoint-token';
import type { Meeting } from '../core/meetings/model';
import {
  BENCH_API_KEY,
  benchMeetingId,
  benchToken,
  type ChildReport,
  type DelaySummary,
  type ParentMessage,
  parseBenchMeetingId,
  summarize,
} from './audio-gateway-shared';

const mode = process.argv[2];
const sinkUrl = process.argv[3];
const experiments = (process.argv[4] ?? '').split(',').filter(Boolean);
if ((mode !== 'gateway' && mode !== 'relay') || !sinkUrl) {
  console.error('usage: audio-gateway-target.ts <gateway|relay> <ws://sink>');
  process.exit(2);
}
if (!process.send) {
  console.error('audio-gateway-target.ts is started by bench/audio-gateway.ts (needs an IPC channel)');
  process.exit(2);
}

function send(message: unknown): void {
  process.send?.(message);
}

// -- measurements --------------------------------------------------------------------------------

/** performance.now() at frame arrival → after the frame was handed to the speech socket, in ns. */
let forwardDelay: RecordableHistogram = createHistogram();
let forwarded = 0;
let measuring = false;
const counters = { published: 0, transcriptEvents: 0, statusEvents: 0 };

function onAudioForwarded(receivedAt: number): void {
  forwarded++;
  if (measuring) forwardDelay.record(Math.max(1, Math.round((performance.now() - receivedAt) * 1e6)));
}

// -- gateway mode ------------------------------------------------------------------------------

function inMemoryRepo(): AudioGatewayOptions['repo'] {
  const seqs = new Map<string, number>();
  const epochs = new Map<string, number>();
  const now = new Date().toISOString();
  const meeting = (meetingId: string): Meeting | undefined => {
    const index = parseBenchMeetingId(meetingId);
    if (index === undefined) return undefined;
    return {
      meetingId,
      ownerId: 'bench-owner',
      title: `Bench meeting ${index}`,
      meetingUrl: 'https://meet.example.com/bench',
      status: 'live',
      desiredState: 'run',
      keywords: ['parley', 'benchmark'],
      language: 'en',
      sharedWith: [],
      endpointTokenHash: hashEndpointToken(benchToken(index)),
      seqCounter: 0,
      statusEpoch: 0,
      lastSeq: 0,
      createdAt: now,
      updatedAt: now,
    };
  };
  type ControlState = Pick<Meeting, 'meetingId' | 'commandLog' | 'status' | 'keywords' | 'language'>;
  // Not a literal typed as the option: the option's Pick has grown methods before (setStatusIf).
  const repo = {
    get: async (meetingId: string) => meeting(meetingId),
    reserveSeqs: async (meetingId: string, count = 1) => {
      const next = (seqs.get(meetingId) ?? 0) + count;
      seqs.set(meetingId, next);
      return next - count + 1;
    },
    setStatus: async (meetingId: string) => bumpEpoch(meetingId),
    setStatusIf: async (meetingId: string) => bumpEpoch(meetingId),
    ackCommands: async () => undefined,
    releaseSeq: async () => false,
    setHandover: async () => undefined,
    clearHandover: async () => undefined,
    getControlStates: async (meetingIds: readonly string[]) => {
      const states = new Map<string, ControlState>();
      for (const meetingId of meetingIds) {
        states.set(meetingId, {
          meetingId,
          commandLog: [],
          status: 'live',
          keywords: ['parley', 'benchmark'],
          language: 'en',
        });
      }
      return states;
    },
  };
  function bumpEpoch(meetingId: string): number {
    const epoch = (epochs.get(meetingId) ?? 0) + 1;
    epochs.set(meetingId, epoch);
    return epoch;
  }
  return repo;
}

const archived = { chunks: 0, bytes: 0, spooledChunks: 0 };

/**
 * The recording archiver as the container wires it (core/audio/live-audio.ts), with a store that
 * counts and drops each chunk: the archiver's CPU and memory without S3. A chunk spooled to disk
 * is read back from its file, as the S3 store's PUT would (BENCH_ARCHIVE_SPOOL=memory: the open
 * chunks are held in memory instead, as before the spool).
 */
function archiveExtensions(logger: Logger): import('../core/audio/gateway-extensions').LiveAudioExtensions {
  const { RecordingArchiver } =
    require('../core/audio/recording-archiver') as typeof import('../core/audio/recording-archiver');
  const { LiveAudioExtensions } =
    require('../core/audio/gateway-extensions') as typeof import('../core/audio/gateway-extensions');
  const { bodyByteLength, isSpooledBody } =
    require('../core/recordings/body') as typeof import('../core/recordings/body');
  const { bodyStream } =
    require('../core/recordings/body-stream') as typeof import('../core/recordings/body-stream');
  const store = {
    put: async (_key: string, body: import('../core/recordings/body').RecordingBody) => {
      archived.chunks++;
      if (!isSpooledBody(body)) {
        archived.bytes += bodyByteLength(body);
        return;
      }
      archived.spooledChunks++;
      // Diagnosis only (BENCH_ARCHIVE_NO_READ=1): count a spooled chunk without reading it back,
      // to attribute what the PUT's read costs; every judged run reads it, as the S3 PUT does.
      if (process.env.BENCH_ARCHIVE_NO_READ === '1') {
        archived.bytes += bodyByteLength(body);
        return;
      }
      for await (const piece of bodyStream(body)) archived.bytes += (piece as Buffer).length;
    },
    get: async () => Buffer.alloc(0),
    list: async () => [],
    head: async () => undefined,
    delete: async () => undefined,
    presignGet: async () => 'http://bench.invalid/',
  };
  const archiver = new RecordingArchiver({
    store,
    repo: inMemoryRepo(),
    format: 'wav',
    logger,
    // The worst case by default: every stream started within a second cuts in the same second.
    staggerCuts: process.env.BENCH_ARCHIVE_STAGGER === '1',
    ...(process.env.BENCH_ARCHIVE_CHUNK_MS ? { chunkMs: Number(process.env.BENCH_ARCHIVE_CHUNK_MS) } : {}),
    // As the container does by default (RECORDING_SPOOL_DIR), under a directory of the bench's own.
    ...(process.env.BENCH_ARCHIVE_SPOOL === 'memory'
      ? {}
      : { spoolDir: path.join(tmpdir(), 'parley-bench-spool') }),
  });
  return new LiveAudioExtensions(archiver, undefined);
}

type Target = { port: number; stats: (streams: number) => Record<string, unknown> };

async function startGateway(): Promise<Target> {
  // Required here, after applyExperiments, so patched modules are the ones the gateway gets.
  const { AudioGateway } =
    require('../core/audio/audio-gateway') as typeof import('../core/audio/audio-gateway');
  const { createDeepgramConnector } =
    require('../core/audio/deepgram-connector') as typeof import('../core/audio/deepgram-connector');
  const logger = new Logger({ serviceName: 'audio-gateway-bench' });
  const extensions = process.env.BENCH_ARCHIVE === '1' ? archiveExtensions(logger) : undefined;
  const gateway = new AudioGateway({
    ...(extensions ? { extensions } : {}),
    host: '127.0.0.1',
    port: 0,
    repo: inMemoryRepo(),
    // DEEPGRAM_ENCODING as the container reads it (bench/audio-gateway.ts --encoding sets it).
    connector: createDeepgramConnector({
      apiKey: BENCH_API_KEY,
      wsUrl: sinkUrl,
      encoding: parseSpeechEncoding(process.env.DEEPGRAM_ENCODING),
    }),
    publish: (event) => {
      counters.published++;
      if (event.type === 'transcript') counters.transcriptEvents++;
      else counters.statusEvents++;
    },
    flush: async () => undefined,
    logger,
    maxSessions: 10_000,
    onAudioForwarded,
  });
  const { inUseBlockCount, spareBlockCount } =
    require('../core/audio/pcm-blocks') as typeof import('../core/audio/pcm-blocks');
  const { port } = await gateway.listen();
  return {
    port,
    stats: (streams) => {
      let connects = 0;
      let reconnects = 0;
      let results = 0;
      for (let i = 0; i < streams; i++) {
        const session = gateway.session(benchMeetingId(i));
        if (!session) continue;
        connects += session.sttStats.connects;
        reconnects += session.sttStats.reconnects;
        results += session.sttStats.results;
      }
      return {
        sessions: gateway.stats.sessions,
        acceptedFrames: gateway.stats.acceptedFrames,
        templatedFrames: gateway.stats.templatedFrames,
        rejectedFrames: gateway.stats.rejectedFrames,
        refusedUpgrades: gateway.stats.refusedUpgrades,
        sttConnects: connects,
        sttReconnects: reconnects,
        sttResults: results,
        ...counters,
        spareAudioBlocks: spareBlockCount(),
        inUseAudioBlocks: inUseBlockCount(),
        ...(extensions
          ? {
              archivedChunks: archived.chunks,
              archivedBytes: archived.bytes,
              archivedFromSpool: archived.spooledChunks,
            }
          : {}),
      };
    },
  };
}

// -- relay mode --------------------------------------------------------------------------------

async function startRelay(): Promise<Target> {
  const stats = { sessions: 0, acceptedFrames: 0, badFrames: 0, queuedFrames: 0 };
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const match = /^\/recall\/([A-Za-z0-9_-]{1,64})/.exec(req.url ?? '');
    if (!match) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const meetingId = match[1] as string;
    wss.handleUpgrade(req, socket, head, (recall) => {
      stats.sessions++;
      const query = new URLSearchParams({
        encoding: 'linear16',
        sample_rate: '16000',
        channels: '1',
        tag: `meeting:${meetingId}`,
      });
      const speech = new WebSocket(`${sinkUrl}/v1/listen?${query}`, {
        headers: { Authorization: `Token ${BENCH_API_KEY}` },
        perMessageDeflate: false,
      });
      const pending: Buffer[] = [];
      speech.on('open', () => {
        for (const pcm of pending) speech.send(pcm);
        pending.length = 0;
      });
      speech.on('error', () => undefined);
      recall.on('message', (data, isBinary) => {
        const receivedAt = performance.now();
        if (isBinary) return;
        let pcm: Buffer;
        try {
          const message = JSON.parse(data.toString()) as { data: { data: { buffer: string } } };
          pcm = Buffer.from(message.data.data.buffer, 'base64');
        } catch {
          stats.badFrames++;
          return;
        }
        stats.acceptedFrames++;
        if (speech.readyState === WebSocket.OPEN) speech.send(pcm);
        else {
          stats.queuedFrames++;
          pending.push(pcm);
        }
        onAudioForwarded(receivedAt);
      });
      recall.on('close', () => speech.close());
      recall.on('error', () => undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { port, stats: () => ({ ...stats }) };
}

// -- lifecycle ---------------------------------------------------------------------------------

const ELD_RESOLUTION_MS = 10;

/** monitorEventLoopDelay records whole timer intervals: what counts is how much later than planned. */
function beyondInterval(s: DelaySummary, intervalMs: number): DelaySummary {
  const late = (ms: number) => Math.max(0, ms - intervalMs);
  return {
    ...s,
    p50: late(s.p50),
    p90: late(s.p90),
    p99: late(s.p99),
    p999: late(s.p999),
    max: late(s.max),
    mean: late(s.mean),
  };
}

/**
 * BENCH_MEM_DETAIL=1 (diagnosis; read with BENCH_CHILD_LOG): what the RSS is made of
 * (/proc/self/status), V8's view of it, and the audio blocks held and spare.
 */
function logMemoryDetail(label: string, stats: Record<string, unknown>): void {
  if (process.env.BENCH_MEM_DETAIL !== '1') return;
  const m = process.memoryUsage();
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // not Linux
  }
  const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1]) / 1e3;
  console.log(
    JSON.stringify({
      memDetail: label,
      rssMB: m.rss / 1e6,
      rssAnonMB: mb('RssAnon'),
      rssFileMB: mb('RssFile'),
      heapTotalMB: m.heapTotal / 1e6,
      heapUsedMB: m.heapUsed / 1e6,
      externalMB: m.external / 1e6,
      arrayBuffersMB: m.arrayBuffers / 1e6,
      spareBlocks: stats.spareAudioBlocks,
      inUseBlocks: stats.inUseAudioBlocks,
      ...anonymousMappings(),
    }),
  );
}

/**
 * Where the anonymous RSS lies (/proc/self/smaps), in MB: `brkMB` the main thread's malloc heap
 * ([heap]); `arenaMB` glibc's per-thread malloc arenas (a 64 MB-aligned reservation, its used
 * part read-write, the rest `---p`); `otherAnonMB` every other anonymous mapping (V8's heap pages,
 * malloc's mmapped chunks, stacks).
 */
function anonymousMappings(): Record<string, number> {
  let smaps = '';
  try {
    smaps = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return {};
  }
  const ARENA = 64 * 1024 * 1024;
  const maps: { start: number; end: number; perms: string; name: string; rssKB: number }[] = [];
  for (const line of smaps.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      maps.push({
        start: Number.parseInt(head[1] as string, 16),
        end: Number.parseInt(head[2] as string, 16),
        perms: head[3] as string,
        name: head[5] ?? '',
        rssKB: 0,
      });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    const last = maps[maps.length - 1];
    if (rss && last) last.rssKB = Number(rss[1]);
  }
  let brk = 0;
  let arena = 0;
  let other = 0;
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i] as (typeof maps)[number];
    if (m.name === '[heap]') brk += m.rssKB;
    else if (m.name !== '') continue;
    else {
      const next = maps[i + 1];
      const isArena =
        m.start % ARENA === 0 &&
        (m.end - m.start === ARENA ||
          (next !== undefined &&
            next.start === m.end &&
            next.perms === '---p' &&
            next.end - m.start === ARENA));
      if (isArena) arena += m.rssKB;
      else other += m.rssKB;
    }
  }
  return { brkMB: brk / 1e3, arenaMB: arena / 1e3, otherAnonMB: other / 1e3 };
}

let probe: Promise<void> = Promise.resolve();

/**
 * BENCH_MALLOC_PROBE=<dir> (diagnosis, with LD_PRELOAD of bench/malloc-probe/malloc-probe.c built):
 * after the report, asks the library for glibc's statistics and a malloc_trim(0), then logs the
 * memory again.
 */
async function mallocProbe(label: string, stats: Record<string, unknown>): Promise<void> {
  const dir = process.env.BENCH_MALLOC_PROBE;
  if (!dir) return;
  const go = path.join(dir, `${process.pid}.go`);
  writeFileSync(go, '');
  for (let i = 0; i < 100 && existsSync(go); i++) await new Promise((r) => setTimeout(r, 20));
  logMemoryDetail(`${label} after malloc_trim`, stats);
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  if (experiments.length > 0) {
    const { applyExperiments } =
      require('./audio-gateway-experiments') as typeof import('./audio-gateway-experiments');
    applyExperiments(experiments);
  }
  const target = mode === 'gateway' ? await startGateway() : await startRelay();
  // Idle memory: everything loaded and listening, no streams yet.
  await new Promise((r) => setTimeout(r, 300));
  gc();
  await new Promise((r) => setTimeout(r, 200));
  const idle = process.memoryUsage();
  logMemoryDetail(`${mode} idle`, target.stats(0));
  send({ type: 'ready', port: target.port, idle: { rss: idle.rss, heapUsed: idle.heapUsed } });

  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  let window:
    | {
        cpu: NodeJS.CpuUsage;
        t0: number;
        elu: ReturnType<typeof performance.eventLoopUtilization>;
        forwarded: number;
        accepted: number;
      }
    | undefined;
  let rssPeak = 0;
  let heapPeak = 0;
  let heapTotalPeak = 0;
  let externalPeak = 0;
  const samplePeaks = () => {
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
    heapTotalPeak = Math.max(heapTotalPeak, m.heapTotal);
    externalPeak = Math.max(externalPeak, m.external);
  };
  const sampler = setInterval(() => {
    if (window) samplePeaks();
  }, 250);
  sampler.unref();
  const gcStats = { minorCount: 0, minorMs: 0, majorCount: 0, majorMs: 0, maxPauseMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    if (!measuring) return;
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      // kind 1 = scavenge (minor); 2, 4 = mark-compact / incremental marking; 8 = weak callbacks
      if (kind === 1) {
        gcStats.minorCount++;
        gcStats.minorMs += entry.duration;
      } else {
        gcStats.majorCount++;
        gcStats.majorMs += entry.duration;
      }
      gcStats.maxPauseMs = Math.max(gcStats.maxPauseMs, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  process.on('message', (raw: ParentMessage) => {
    if (raw.type === 'mark') {
      forwardDelay = createHistogram();
      measuring = true;
      eld.reset();
      eld.enable();
      rssPeak = 0;
      heapPeak = 0;
      heapTotalPeak = 0;
      externalPeak = 0;
      samplePeaks();
      Object.assign(gcStats, { minorCount: 0, minorMs: 0, majorCount: 0, majorMs: 0, maxPauseMs: 0 });
      window = {
        cpu: process.cpuUsage(),
        t0: performance.now(),
        elu: performance.eventLoopUtilization(),
        forwarded,
        accepted: Number(target.stats(raw.streams).acceptedFrames ?? 0),
      };
      send({ type: 'marked' });
    } else if (raw.type === 'report' && window) {
      const cpu = process.cpuUsage(window.cpu);
      const wallMs = performance.now() - window.t0;
      const elu = performance.eventLoopUtilization(window.elu);
      measuring = false;
      eld.disable();
      samplePeaks();
      const end = process.memoryUsage();
      const stats = target.stats(raw.streams);
      // Steady state after GC: every stream still connected, its session holding what it holds.
      gc();
      gc();
      const afterGc = process.memoryUsage();
      logMemoryDetail(`${mode} N=${raw.streams} after GC`, stats);
      const report: ChildReport = {
        type: 'report',
        wallMs,
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        elu: elu.utilization,
        rssEnd: end.rss,
        rssPeak,
        heapPeak,
        heapTotalPeak,
        externalPeak,
        gc: { ...gcStats },
        rssAfterGc: afterGc.rss,
        heapAfterGc: afterGc.heapUsed,
        forwardedInWindow: forwarded - window.forwarded,
        acceptedInWindow: Number(stats.acceptedFrames ?? 0) - window.accepted,
        forwardDelayMs: summarize(forwardDelay),
        eventLoopDelayMs: beyondInterval(summarize(eld), ELD_RESOLUTION_MS),
        stats,
      };
      send(report);
      probe = mallocProbe(`${mode} N=${raw.streams}`, stats);
    } else if (raw.type === 'exit') {
      void probe.then(() => process.exit(0));
    }
  });
}

// The parent owns this process: if it goes away, so do we.
process.on('disconnect', () => process.exit(1));
const lifetime = setTimeout(() => process.exit(3), Number(process.env.BENCH_CHILD_MAX_MS ?? 600_000));
lifetime.unref();

main().catch((error: unknown) => {
  console.error('audio-gateway-target failed:', error);
  process.exit(1);
});
