/**
 * The world outside Parley for bench/pipeline.ts, in a worker thread of its own (so its CPU use
 * does not slow Parley's event loop, as on AWS where these are other machines):
 *
 * - a fake Deepgram live server (`/v1/listen`, Results JSON as in /work/shared/PROTOCOLS.md) that
 *   EMITS results on a schedule, per meeting an interim every `intervalMs` and every fourth
 *   result a final, each with a unique transcript text (the key) and its emit time recorded here;
 * - fake Recall bots: one WebSocket per meeting into the audio gateway, streaming silent 16 kHz
 *   PCM in real time (`audioFrameMs` frames; 0 = a single frame);
 * - realtime clients: one raw `ws` per meeting, subscribed, recording when each key arrives.
 *
 * Emit and receive times are taken in this thread, so latency = receive − emit needs no clock
 * agreement; the main thread's breakdown marks use the shared absolute clock (`nowAbs`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import WebSocket, { WebSocketServer } from 'ws';
import { PING_INTERVAL_MS } from '../core/realtime/ping-route';
import { type MessageContext, mixedAudioMessage } from '../local/recall-simulator/messages';
import { nowAbs, serveRpc, sleep, until } from './lib-bench';

export interface WorldMeeting {
  meetingId: string;
  /** Audio gateway URL with the Recall token; absent for the relay baseline. */
  recallUrl?: string;
  /** Where the client connects: Parley's realtime API (with ?token=) or the relay. */
  clientUrl: string;
  /** Send `{action:'subscribe'}` and wait for `replay_complete` (Parley), or just open (relay). */
  subscribe: boolean;
  /** Clients of this meeting (default 1; bench/soak.ts uses 10). */
  clients?: number;
}

export interface SetupRequest {
  meetings: WorldMeeting[];
  audioFrameMs: number;
}

export interface RunRequest {
  /** Distinguishes keys between runs. */
  phase: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
  intervalMs: number;
}

export interface Sample {
  key: string;
  final: boolean;
  emit: number;
  /** NaN when the client never received it within the drain time. */
  recv: number;
  /** When the last of the meeting's clients received it (NaN if one never did). */
  recvLast: number;
  /** How many of the meeting's clients received it (duplicates counted apart). */
  clients: number;
  expectedClients: number;
  duplicates: number;
  /** Indices (in the meeting) of the clients that never received it; absent when all did. */
  missing?: number[];
  /** The first client's copy's hop stamps (docs/protocol.md "Latency"), when it carried them. */
  hops?: Hops;
}

/** Epoch ms stamped by the gateway (publishedAt) and the fan-out (fanoutAt, sentAt). */
export interface Hops {
  publishedAt?: number;
  fanoutAt?: number;
  sentAt?: number;
}

export interface RunResult {
  samples: Sample[];
  /** Results emitted before the speech socket of their meeting was open (not measured). */
  skipped: number;
  measureStart: number;
  measureEnd: number;
  /** Results (of any emit time) that reached a client inside the window: the throughput. */
  receivedInWindow: number;
  audioFramesSent: number;
  /** meetingId → finals sent to its open speech socket in this run, inside the window or not. */
  finalsSent: Record<string, number>;
  /** Client sockets the server closed during the run (a closed client would reconnect and replay). */
  clientsClosed: number;
}

const PEER_REQUEST_ID = '00000000-0000-4000-8000-00000000beef';
const SILENCE = new Map<number, Buffer>();

interface MeetingState {
  index: number;
  meeting: WorldMeeting;
  recall?: WebSocket;
  client?: WebSocket;
  extraClients: WebSocket[];
  audioTimer?: NodeJS.Timeout;
  audioMs: number;
}

// ---- fake Deepgram ---------------------------------------------------------------------------

let peerServer: Server | undefined;
/** meetingId → the newest open speech socket for it (from the `tag=meeting:<id>` query). */
const peerSockets = new Map<string, WebSocket>();
let peerAudioBytes = 0;

async function startPeer(): Promise<{ url: string }> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  peerServer = createServer((_req, res) => res.writeHead(404).end());
  peerServer.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://peer');
    if (url.pathname !== '/v1/listen') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const meetingId = (url.searchParams.get('tag') ?? '').replace(/^meeting:/, '');
    wss.handleUpgrade(req, socket, head, (ws) => {
      peerSockets.set(meetingId, ws);
      ws.on('message', (data, isBinary) => {
        if (isBinary) {
          peerAudioBytes += (data as Buffer).length;
          return;
        }
        let type: unknown;
        try {
          type = (JSON.parse(String(data)) as { type?: unknown }).type;
        } catch {
          return;
        }
        // KeepAlive and Finalize need no answer here; CloseStream ends the stream as Deepgram does.
        if (type === 'CloseStream') ws.close(1000);
      });
      ws.on('error', () => undefined);
      ws.on('close', () => {
        if (peerSockets.get(meetingId) === ws) peerSockets.delete(meetingId);
      });
    });
  });
  wss.on('headers', (headers) => headers.push(`dg-request-id: ${PEER_REQUEST_ID}`));
  await new Promise<void>((resolve) => peerServer?.listen(0, '127.0.0.1', resolve));
  const { port } = peerServer.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}` };
}

/** A Deepgram `Results` message whose transcript is `key`, covering [startS, endS). */
function results(key: string, startS: number, endS: number, isFinal: boolean): string {
  return JSON.stringify({
    type: 'Results',
    channel_index: [0, 1],
    duration: endS - startS,
    start: startS,
    is_final: isFinal,
    speech_final: isFinal,
    channel: {
      alternatives: [
        {
          transcript: key,
          confidence: 0.9,
          words: [
            {
              word: 'bench',
              start: startS,
              end: endS,
              confidence: 0.9,
              punctuated_word: 'Bench',
              speaker: 0,
            },
          ],
        },
      ],
    },
    metadata: {
      request_id: PEER_REQUEST_ID,
      model_info: { name: 'bench-peer', version: '1', arch: 'bench' },
      model_uuid: PEER_REQUEST_ID,
    },
    from_finalize: false,
  });
}

// ---- Recall and clients ----------------------------------------------------------------------

let states: MeetingState[] = [];
/** key → first receive time at a client. */
const received = new Map<string, number>();
/** key → the hop stamps of its first copy received. */
const hopsOf = new Map<string, Hops>();
/** key → receive time per client (index in the meeting), for meetings with several clients. */
const arrivals = new Map<string, Map<number, number>>();
let duplicateArrivals = new Map<string, number>();
let audioFramesSent = 0;
let clientsClosed = 0;
let running = false;

function keyOf(raw: string): { key: string; hops?: Hops } | undefined {
  let msg: {
    type?: string;
    transcript?: { text?: string; timing?: Hops };
    channel?: { alternatives?: { transcript?: string }[] };
  };
  try {
    msg = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (msg.type === 'transcript') {
    const key = msg.transcript?.text;
    return key === undefined ? undefined : { key, hops: msg.transcript?.timing };
  }
  const key = msg.type === 'Results' ? msg.channel?.alternatives?.[0]?.transcript : undefined; // relay baseline
  return key === undefined ? undefined : { key };
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`HTTP ${res.statusCode} from ${url.split('?')[0]}`)),
    );
    ws.once('error', reject);
  });
}

async function connectClient(state: MeetingState): Promise<void> {
  const count = state.meeting.clients ?? 1;
  for (let i = 0; i < count; i++) {
    const ws = await connectOneClient(state, i);
    if (i === 0) state.client = ws;
    else state.extraClients.push(ws);
  }
}

async function connectOneClient(state: MeetingState, clientIndex: number): Promise<WebSocket> {
  const ws = await open(state.meeting.clientUrl);
  let subscribed = !state.meeting.subscribe;
  ws.on('message', (data) => {
    const at = nowAbs();
    const text = String(data);
    const found = keyOf(text);
    if (found !== undefined) {
      const { key } = found;
      if (!received.has(key)) {
        received.set(key, at);
        if (found.hops) hopsOf.set(key, found.hops);
      }
      let byClient = arrivals.get(key);
      if (!byClient) {
        byClient = new Map();
        arrivals.set(key, byClient);
      }
      if (byClient.has(clientIndex)) duplicateArrivals.set(key, (duplicateArrivals.get(key) ?? 0) + 1);
      else byClient.set(clientIndex, at);
      return;
    }
    if (text.includes('"replay_complete"')) subscribed = true;
  });
  ws.on('error', () => undefined);
  // As the reference client (core/realtime/client.ts): API Gateway closes a socket idle for 10 min.
  const ping = setInterval(() => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ action: 'ping', timestamp: Date.now() }));
  }, PING_INTERVAL_MS);
  ping.unref();
  ws.on('close', () => {
    clearInterval(ping);
    if (running) clientsClosed++;
  });
  if (state.meeting.subscribe) {
    ws.send(JSON.stringify({ action: 'subscribe', meetingId: state.meeting.meetingId }));
    if (!(await until(() => subscribed, 30_000)))
      throw new Error(`no replay_complete for ${state.meeting.meetingId}`);
  }
  return ws;
}

function sendAudio(state: MeetingState, ctx: MessageContext, frameMs: number): void {
  const ws = state.recall;
  if (ws?.readyState !== WebSocket.OPEN) return;
  let pcm = SILENCE.get(frameMs);
  if (!pcm) {
    pcm = Buffer.alloc(frameMs * 32);
    SILENCE.set(frameMs, pcm);
  }
  ws.send(JSON.stringify(mixedAudioMessage(ctx, state.audioMs, pcm)));
  state.audioMs += frameMs;
  audioFramesSent++;
}

async function connectRecall(state: MeetingState, audioFrameMs: number): Promise<void> {
  if (!state.meeting.recallUrl) return;
  const ws = await open(state.meeting.recallUrl);
  state.recall = ws;
  ws.on('error', () => undefined);
  const ctx: MessageContext = {
    botId: `bench-bot-${state.index}`,
    botMetadata: {},
    recordingId: `bench-rec-${state.index}`,
    realtimeEndpointId: `bench-re-${state.index}`,
    audioMixedId: `bench-am-${state.index}`,
    audioSeparateId: `bench-as-${state.index}`,
    participantEventsId: `bench-pe-${state.index}`,
    meetingStartEpochMs: Date.now(),
  };
  if (audioFrameMs <= 0) {
    sendAudio(state, ctx, 100); // "a little audio"
    return;
  }
  // Real time, each meeting at its own phase (Recall bots are not synchronised).
  const start = () => {
    state.audioTimer = setInterval(() => sendAudio(state, ctx, audioFrameMs), audioFrameMs);
  };
  setTimeout(start, Math.random() * audioFrameMs);
}

async function setup(req: SetupRequest): Promise<{ setupMs: number; speechSockets: number }> {
  const started = performance.now();
  states = req.meetings.map((meeting, index) => ({ index, meeting, audioMs: 0, extraClients: [] }));
  // Clients first (so nothing is missed), then Recall; in waves of 50 to stay gentle on the stack.
  for (let i = 0; i < states.length; i += 50) await Promise.all(states.slice(i, i + 50).map(connectClient));
  for (let i = 0; i < states.length; i += 50) {
    await Promise.all(states.slice(i, i + 50).map((s) => connectRecall(s, req.audioFrameMs)));
  }
  return { setupMs: performance.now() - started, speechSockets: peerSockets.size };
}

async function run(req: RunRequest): Promise<RunResult> {
  const emitted = new Map<string, { emit: number; final: boolean; measured: boolean; clients: number }>();
  let skipped = 0;
  const finalsSent: Record<string, number> = {};
  clientsClosed = 0;
  running = true;
  const t0 = nowAbs();
  const measureStart = t0 + req.warmupMs;
  const measureEnd = measureStart + req.measureMs;
  const timers: NodeJS.Timeout[] = [];
  for (const state of states) {
    let step = 0;
    let utterance = 0;
    const tick = () => {
      const socket = peerSockets.get(state.meeting.meetingId);
      const rev = step % 4; // 0,1,2 interims; 3 final
      const final = rev === 3;
      const key = `b${req.phase}.${state.index}.${utterance}.${final ? 'f' : rev}`;
      step++;
      if (final) utterance++;
      if (socket?.readyState !== WebSocket.OPEN) {
        skipped++;
        return;
      }
      const startS = (utterance - (final ? 1 : 0)) * 1.0;
      const message = results(key, startS, startS + (rev + 1) * 0.25, final);
      const emit = nowAbs();
      socket.send(message);
      if (final) finalsSent[state.meeting.meetingId] = (finalsSent[state.meeting.meetingId] ?? 0) + 1;
      emitted.set(key, {
        emit,
        final,
        measured: emit >= measureStart && emit < measureEnd,
        clients: state.meeting.clients ?? 1,
      });
    };
    // Each meeting at its own phase; the ticker runs until the measurement window closes.
    const offset = Math.random() * req.intervalMs;
    timers.push(
      setTimeout(() => {
        tick();
        timers.push(setInterval(tick, req.intervalMs));
      }, offset),
    );
  }
  await sleep(measureEnd - nowAbs());
  for (const t of timers) clearTimeout(t);
  const measured = [...emitted].filter(([, e]) => e.measured);
  await until(
    () => measured.every(([key, e]) => received.has(key) && (arrivals.get(key)?.size ?? 0) >= e.clients),
    req.drainMs,
  );
  const samples: Sample[] = measured.map(([key, e]) => {
    const byClient = arrivals.get(key);
    const complete = (byClient?.size ?? 0) >= e.clients;
    const missing = complete
      ? []
      : Array.from({ length: e.clients }, (_, i) => i).filter((i) => !byClient?.has(i));
    return {
      key,
      final: e.final,
      emit: e.emit,
      recv: received.get(key) ?? Number.NaN,
      recvLast: complete && byClient ? Math.max(...byClient.values()) : Number.NaN,
      clients: byClient?.size ?? 0,
      expectedClients: e.clients,
      duplicates: duplicateArrivals.get(key) ?? 0,
      ...(missing.length > 0 ? { missing } : {}),
      ...(hopsOf.has(key) ? { hops: hopsOf.get(key) } : {}),
    };
  });
  arrivals.clear();
  hopsOf.clear();
  duplicateArrivals = new Map();
  let receivedInWindow = 0;
  for (const at of received.values()) if (at >= measureStart && at < measureEnd) receivedInWindow++;
  received.clear();
  running = false;
  return {
    samples,
    skipped,
    measureStart,
    measureEnd,
    receivedInWindow,
    audioFramesSent,
    finalsSent,
    clientsClosed,
  };
}

function stopAudio(): void {
  for (const s of states) clearInterval(s.audioTimer);
}

async function teardown(): Promise<void> {
  stopAudio();
  for (const s of states) {
    s.recall?.close(1000);
    s.client?.close(1000);
    for (const c of s.extraClients) c.close(1000);
  }
  await until(
    () => states.every((s) => (s.recall?.readyState ?? 3) === 3 && (s.client?.readyState ?? 3) === 3),
    10_000,
  );
  states = [];
  audioFramesSent = 0;
}

if (parentPort) {
  const port = parentPort;
  serveRpc(
    {
      now: () => nowAbs(),
      /** This thread's heap (its own V8 isolate); RSS is the whole process's. */
      memory: () => {
        try {
          // After a full collection when the process exposes gc (bench/soak.ts does).
          (runInNewContext('gc') as () => void)();
        } catch {
          // not exposed: the figure includes garbage not yet collected
        }
        const m = process.memoryUsage();
        return { heapUsed: m.heapUsed, external: m.external };
      },
      startPeer,
      speechSockets: () => peerSockets.size,
      peerAudioBytes: () => peerAudioBytes,
      setup: (req: SetupRequest) => setup(req),
      run: (req: RunRequest) => run(req),
      stopAudio: () => stopAudio(),
      teardown: () => teardown(),
      stopPeer: async () => {
        for (const ws of peerSockets.values()) ws.terminate();
        await new Promise<void>((resolve) => (peerServer ? peerServer.close(() => resolve()) : resolve()));
        peerServer?.closeAllConnections();
      },
    },
    (m) => port.postMessage(m),
    (fn) => port.on('message', fn),
  );
}
