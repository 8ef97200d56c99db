/**
 * Browser microphone streams: CPU and memory per stream in the audio gateway against a plain
 * relay, in the same run, and the recording archive's S3 requests and bytes per meeting-hour.
 *
 *   npm run bench:mic -- [--streams 10,40] [--seconds 45] [--chunk-ms 15000]
 *
 * Processes (loopback only):
 * - this process: the dev token issuer, s3rver (the archive's bucket), a speech sink speaking the
 *   Deepgram protocol (counts audio, answers a final Result per 3 s of audio so the gateway
 *   releases its resend buffer), and N reference clients (core/audio/mic-client.ts, memory
 *   journal) each streaming fixtures/meeting-librivox.wav (looped) in 250 ms chunks at real time.
 * - one child per (mode, N) — this file with `--target MODE`:
 *   `gateway` = the real AudioGateway + BrowserIngress + RecordingArchiver (S3 on s3rver, 15 s
 *   chunks) + createDeepgramConnector, an in-memory meeting repository; `relay` = a ws server
 *   that reads each chunk's header, acknowledges it at once and forwards the PCM over one ws per
 *   stream to the sink: the floor any implementation pays.
 * CPU per stream = the child's CPU time (/proc/PID/stat) during the window / window / N;
 * memory per stream = (RSS at the end of the window − RSS idle before any stream) / N.
 * S3 per meeting-hour: the archive's PUTs and bytes counted during the window, scaled to an hour,
 * plus one assembly (LIST, GET per chunk, PUT of the WebM, DELETE) measured on one stream's chunks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import { CHUNK_HEADER_BYTES, decodeChunk, MIC_LIMITS } from '../core/audio/chunk-protocol';
import { MicClient, type WebSocketLike } from '../core/audio/mic-client';
import { MemoryJournal } from '../core/audio/mic-journal';
import { createLogger } from '../core/logger';
import type { Meeting } from '../core/meetings/model';
import { assembleRecording } from '../core/recordings/assemble';
import { bodyByteLength, type RecordingBody } from '../core/recordings/body';
import type { RecordingStore } from '../core/recordings/store';
import { S3RecordingStore } from '../core/recordings/store';
import { createLocalClients, startEmulators } from '../local/aws-emulators';
import { startDevIssuer } from '../local/dev-issuer';
import { parseWav } from '../local/recall-simulator/fixture';
import { SAMPLE_FIXTURE } from '../local/stack';
import { listArg, machineFacts, markdownTable, numArg, sleep } from './lib-bench';

const PCM = parseWav(readFileSync(SAMPLE_FIXTURE.wavPath));
const OWNER = 'bench-owner';

/** Counts every request and byte the archive sends to S3. */
class CountingStore implements RecordingStore {
  readonly counts = { put: 0, putBytes: 0, get: 0, getBytes: 0, list: 0, head: 0, delete: 0 };
  constructor(private readonly inner: RecordingStore) {}
  async put(key: string, body: RecordingBody, type: string) {
    this.counts.put++;
    this.counts.putBytes += bodyByteLength(body);
    await this.inner.put(key, body, type);
  }
  async get(key: string) {
    const body = await this.inner.get(key);
    this.counts.get++;
    this.counts.getBytes += body.length;
    return body;
  }
  async list(prefix: string) {
    this.counts.list++;
    return this.inner.list(prefix);
  }
  async head(key: string) {
    this.counts.head++;
    return this.inner.head(key);
  }
  async delete(keys: readonly string[]) {
    this.counts.delete++;
    await this.inner.delete(keys);
  }
  presignGet(key: string, s: number) {
    return this.inner.presignGet(key, s);
  }
}

// ---------------------------------------------------------------- target (child process)

async function runTarget(mode: string): Promise<void> {
  const logger = createLogger('bench-target');
  const out = (m: unknown) => process.stdout.write(`${JSON.stringify(m)}\n`);
  if (mode === 'relay') {
    const sinkUrl = process.env.SINK_URL as string;
    const server = createServer();
    const wss = new WebSocketServer({ server, maxPayload: CHUNK_HEADER_BYTES + MIC_LIMITS.maxChunkBytes });
    wss.on('connection', (ws) => {
      const upstream = new WebSocket(`${sinkUrl}/v1/listen?encoding=linear16&sample_rate=16000`);
      const queued: Buffer[] = [];
      upstream.on('open', () => {
        for (const q of queued.splice(0)) upstream.send(q);
      });
      upstream.on('error', () => undefined);
      ws.send(
        JSON.stringify({ type: 'ready', sessionId: '', lastSeq: 0, state: 'live', limits: MIC_LIMITS }),
      );
      ws.on('message', (data: Buffer, isBinary) => {
        if (!isBinary) return;
        const decoded = decodeChunk(data);
        if (!decoded.ok) return ws.close(4400);
        const pcm = data.subarray(CHUNK_HEADER_BYTES);
        if (upstream.readyState === upstream.OPEN) upstream.send(pcm);
        else queued.push(pcm);
        ws.send(JSON.stringify({ type: 'ack', seq: decoded.chunk.seq }));
      });
      ws.on('close', () => upstream.close());
    });
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      out({ port: typeof a === 'object' && a ? a.port : 0 });
    });
  } else {
    const { AudioGateway } = await import('../core/audio/audio-gateway');
    const { createDeepgramConnector } = await import('../core/audio/deepgram-connector');
    const { BrowserIngress } = await import('../core/audio/browser-ingress');
    const { RecordingArchiver } = await import('../core/audio/recording-archiver');
    const { LiveAudioExtensions } = await import('../core/audio/gateway-extensions');
    const { createJwtVerifier } = await import('../core/auth/jwt-verifier');
    const { S3Client } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: process.env.S3_URL,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const store = new CountingStore(new S3RecordingStore(s3, process.env.BUCKET as string));
    const now = new Date().toISOString();
    const meeting = (meetingId: string): Meeting => ({
      meetingId,
      ownerId: OWNER,
      title: 'bench',
      meetingUrl: '',
      source: 'microphone',
      status: 'live',
      desiredState: 'run',
      keywords: [],
      language: 'en',
      sharedWith: [],
      endpointTokenHash: '',
      seqCounter: 0,
      statusEpoch: 0,
      lastSeq: 0,
      createdAt: now,
      updatedAt: now,
    });
    let seq = 0;
    const repo = {
      get: async (id: string) => meeting(id),
      reserveSeqs: async () => ++seq,
      setStatus: async () => 1,
      setStatusIf: async () => 1,
      releaseSeq: async () => true,
      ackCommands: async () => undefined,
      setHandover: async () => undefined,
      clearHandover: async () => undefined,
      getControlStates: async (ids: readonly string[]) =>
        new Map(ids.map((id) => [id, { ...meeting(id) }] as const)),
    };
    const archiver = new RecordingArchiver({
      store,
      repo,
      format: 'webm',
      chunkMs: Number(process.env.CHUNK_MS),
      keepChunks: true,
      logger,
    });
    const browser = new BrowserIngress({
      verifier: createJwtVerifier({
        issuer: process.env.OIDC_ISSUER as string,
        audience: process.env.OIDC_AUDIENCE as string,
        jwksUri: process.env.OIDC_JWKS_URI,
      }),
      repo,
      archiver,
      store,
      logger,
    });
    const gateway = new AudioGateway({
      repo: repo as never,
      connector: createDeepgramConnector({ apiKey: 'bench', wsUrl: process.env.SINK_URL as string }),
      publish: () => undefined,
      flush: async () => undefined,
      logger,
      extensions: new LiveAudioExtensions(archiver, browser),
    });
    const { port } = await gateway.listen();
    process.stdin.on('data', () => out({ s3: store.counts, ingress: browser.stats }));
    out({ port });
  }
}

// ---------------------------------------------------------------- driver

function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return (ticks * 1000) / 100;
}

function procRssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

function startChild(
  mode: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; lines: unknown[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--target', mode], {
    env: { ...process.env, ...env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: unknown[] = [];
  let buffer = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = JSON.parse(buffer.slice(0, i)) as { port?: number };
        buffer = buffer.slice(i + 1);
        lines.push(line);
        if (line.port) resolve({ child, port: line.port, lines });
      }
    });
    child.once('exit', (code) => reject(new Error(`target exited ${code}`)));
  });
}

async function main(): Promise<void> {
  const target = process.argv.indexOf('--target');
  if (target >= 0) return runTarget(process.argv[target + 1] as string);

  const streamsList = listArg('streams', [10, 40]);
  const seconds = numArg('seconds', 45);
  const chunkMs = numArg('chunk-ms', 15_000);
  const logger = createLogger('bench');
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  const emulators = await startEmulators({ logger });
  const issuer = await startDevIssuer({});
  const sinkServer = createServer();
  const sink = new WebSocketServer({ server: sinkServer });
  let sinkBytes = 0;
  sink.on('connection', (ws) => {
    let audioMs = 0;
    let finalAt = 3_000;
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      sinkBytes += data.length;
      audioMs += data.length / 32;
      if (audioMs >= finalAt) {
        ws.send(
          JSON.stringify({
            type: 'Results',
            channel_index: [0, 1],
            start: (finalAt - 3_000) / 1000,
            duration: 3,
            is_final: true,
            speech_final: true,
            from_finalize: false,
            channel: { alternatives: [{ transcript: '', confidence: 0, words: [] }] },
            metadata: { request_id: 'bench', model_info: { name: 'bench', version: '1', arch: 'x' } },
          }),
        );
        finalAt += 3_000;
      }
    });
  });
  await new Promise<void>((r) => sinkServer.listen(0, '127.0.0.1', () => r()));
  const sinkAddress = sinkServer.address();
  const sinkUrl = `ws://127.0.0.1:${typeof sinkAddress === 'object' && sinkAddress ? sinkAddress.port : 0}`;
  const env = {
    SINK_URL: sinkUrl,
    S3_URL: emulators.endpoints.s3,
    BUCKET: emulators.env.MEDIA_BUCKET as string,
    CHUNK_MS: String(chunkMs),
    OIDC_ISSUER: issuer.issuer,
    OIDC_AUDIENCE: issuer.audience,
    OIDC_JWKS_URI: issuer.jwksUri,
  };

  const rows: (string | number)[][] = [];
  let s3Figures: { puts: number; putBytes: number; streamSeconds: number } | undefined;
  for (const n of streamsList) {
    for (const mode of ['relay', 'gateway']) {
      const { child, port, lines } = await startChild(mode, env);
      const pid = child.pid as number;
      await sleep(1_000);
      const idleRss = procRssMb(pid);
      const clients: MicClient[] = [];
      const token = await issuer.mintToken(OWNER);
      for (let i = 0; i < n; i++) {
        const meetingId = `bench-${mode}-${n}-${i}`;
        const client = new MicClient({
          streamUrl: `ws://127.0.0.1:${port}/browser/${meetingId}`,
          meetingId,
          token: () => token,
          journal: new MemoryJournal(),
          connect: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
        });
        await client.start();
        clients.push(client);
      }
      // Real time: every stream pushes 250 ms every 250 ms (starts staggered).
      const started = performance.now();
      const cpu0 = procCpuMs(pid);
      let sent = 0;
      const tick = async () => {
        for (let k = 0; ; k++) {
          const due = started + k * 250;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          if (performance.now() - started >= seconds * 1000) return;
          const offset = ((k * 8_000) % (PCM.length - 8_000)) & ~1;
          const piece = new Uint8Array(PCM.subarray(offset, offset + 8_000));
          await Promise.all(clients.map((c) => c.push(piece)));
          sent += clients.length;
        }
      };
      await tick();
      const elapsed = performance.now() - started;
      const cpuMs = procCpuMs(pid) - cpu0;
      const rss = procRssMb(pid);
      const buffered = Math.max(...clients.map((c) => c.status.bufferedMs));
      // Closing the sockets stores every stream's open chunk; then read the S3 counts.
      for (const c of clients) c.close();
      await sleep(2_000);
      child.stdin?.write('stats\n');
      await sleep(500);
      const stats = lines.find((l) => (l as { s3?: unknown }).s3) as
        | { s3: CountingStore['counts']; ingress: unknown }
        | undefined;
      if (mode === 'gateway' && stats) {
        s3Figures = { puts: stats.s3.put, putBytes: stats.s3.putBytes, streamSeconds: (n * elapsed) / 1000 };
      }
      rows.push([
        mode,
        n,
        `${((cpuMs / elapsed) * 100).toFixed(1)} %`,
        `${((cpuMs / elapsed / n) * 100).toFixed(2)} %`,
        `${((rss - idleRss) / n).toFixed(2)} MB`,
        `${Math.round(idleRss)} MB`,
        sent,
        `${Math.round(buffered)} ms`,
      ]);
      child.kill();
      await sleep(500);
    }
  }

  // One assembly of one stream's chunks, counted.
  const s3 = createLocalClients(emulators.endpoints).s3;
  const store = new CountingStore(new S3RecordingStore(s3, emulators.env.MEDIA_BUCKET as string));
  const lastN = streamsList[streamsList.length - 1] as number;
  const assembled = await assembleRecording(`bench-gateway-${lastN}-0`, { store, format: 'webm', logger });

  console.log(`# Microphone streams (${new Date().toISOString()})\n`);
  console.log(`${machineFacts()}\n`);
  console.log(`Window ${seconds} s per run, 250 ms chunks at real time, archive chunks ${chunkMs} ms.\n`);
  console.log(
    markdownTable(
      [
        'mode',
        'streams',
        'CPU (of one core)',
        'CPU per stream',
        'RSS per stream',
        'idle RSS',
        'chunks sent',
        'max unacked',
      ],
      rows,
    ),
  );
  if (s3Figures && assembled) {
    const hourScale = 3_600_000 / assembled.durationMs;
    const putsHour = (s3Figures.puts / lastN) * (3600 / (s3Figures.streamSeconds / lastN));
    const bytesHour = (s3Figures.putBytes / lastN) * (3600 / (s3Figures.streamSeconds / lastN));
    const assembledPerHour = (assembled.bytes / assembled.durationMs) * 3_600_000;
    console.log('\nArchive S3 traffic per meeting-hour (measured, scaled to one hour):\n');
    console.log(
      markdownTable(
        ['what', 'requests', 'bytes'],
        [
          ['chunk PUTs while live', Math.round(putsHour), `${(bytesHour / 1e6).toFixed(1)} MB`],
          [
            'assembly (LIST, GET per chunk, PUT, DELETE)',
            `${store.counts.list} + ${Math.round(store.counts.get * hourScale)} + ${store.counts.put} + ${store.counts.delete}`,
            `read ${((store.counts.getBytes * hourScale) / 1e6).toFixed(1)} MB, write ${(assembledPerHour / 1e6).toFixed(1)} MB`,
          ],
          ['stored after the meeting (Opus 24 kb/s WebM)', 1, `${(assembledPerHour / 1e6).toFixed(1)} MB`],
        ],
      ),
    );
  }
  console.log(`\nsink received ${(sinkBytes / 1e6).toFixed(1)} MB of audio`);
  s3.destroy();
  sink.close();
  sinkServer.close();
  await issuer.stop();
  await emulators.stop();
  process.exit(0);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
