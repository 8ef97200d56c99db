/**
 * The subscribers of bench/fanout.ts, in a worker thread of their own (clients are other
 * machines on AWS; here they get the second core instead of slowing the stack's event loop).
 * Opens `count` realtime connections in waves, subscribes each to one meeting, then reports,
 * per transcript seq, when every connection has received it (absolute times, see `nowAbs`).
 */
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { nowAbs, serveRpc, summarize, until } from './lib-bench';

export interface ClientsConfig {
  /** Realtime API URL with `?token=`. */
  url: string;
  meetingId: string;
  count: number;
  wave: number;
}

export interface ConnectResult {
  connected: number;
  wallMs: number;
  /** Per connection: open + subscribe + replay_complete, ms. */
  p50: number;
  p99: number;
  max: number;
}

const config = workerData as ClientsConfig;
const sockets: WebSocket[] = [];
/** seq → receive times so far, and which connection (index in opening order) each one is. */
const arrivals = new Map<number, { times: number[]; who: number[] }>();
const stray = { errors: 0, other: 0, duplicates: 0 };

function connectOne(emit: (event: string, payload: unknown) => void, index: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(config.url, { perMessageDeflate: false });
    let subscribed = false;
    ws.on('message', (data) => {
      const at = nowAbs();
      let msg: { type?: string; transcript?: { seq?: number } };
      try {
        msg = JSON.parse(String(data));
      } catch {
        stray.other++;
        return;
      }
      if (msg.type === 'transcript' && typeof msg.transcript?.seq === 'number') {
        const seq = msg.transcript.seq;
        let got = arrivals.get(seq);
        if (!got) {
          got = { times: [], who: [] };
          arrivals.set(seq, got);
        }
        got.times.push(at);
        got.who.push(index);
        if (got.times.length === config.count) {
          arrivals.delete(seq);
          emit('complete', { seq, times: got.times, who: got.who });
        } else if (got.times.length > config.count) stray.duplicates++;
        return;
      }
      if (msg.type === 'replay_complete' && !subscribed) {
        subscribed = true;
        resolve(performance.now() - started);
        return;
      }
      if (msg.type === 'error') stray.errors++;
      else if (msg.type !== 'subscribed') stray.other++;
    });
    ws.once('open', () => ws.send(JSON.stringify({ action: 'subscribe', meetingId: config.meetingId })));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} on connect`)));
    ws.on('error', (error) => {
      if (!subscribed) reject(error);
    });
    sockets.push(ws);
  });
}

async function connectAll(emit: (event: string, payload: unknown) => void): Promise<ConnectResult> {
  const started = performance.now();
  const times: number[] = [];
  for (let i = 0; i < config.count; i += config.wave) {
    const wave = Math.min(config.wave, config.count - i);
    times.push(...(await Promise.all(Array.from({ length: wave }, (_, k) => connectOne(emit, i + k)))));
  }
  const s = summarize(times);
  return { connected: times.length, wallMs: performance.now() - started, p50: s.p50, p99: s.p99, max: s.max };
}

/** Times received so far for a seq that never completed (for a timeout report). */
function partial(seq: number): { times: number[]; who: number[] } {
  const got = arrivals.get(seq) ?? { times: [], who: [] };
  arrivals.delete(seq);
  return got;
}

async function closeAll(): Promise<void> {
  for (const ws of sockets) ws.close(1000);
  await until(() => sockets.every((ws) => ws.readyState === WebSocket.CLOSED), 30_000);
  sockets.length = 0;
}

let proxy: { server: Server; agent: Agent } | undefined;

/**
 * A forwarding HTTP proxy that holds every request `delayMs` before passing it to `target`
 * (the management API): a stand-in for the network round trip between a Lambda and API
 * Gateway, which loopback does not have. It runs in this thread, off the stack's event loop.
 */
async function startDelayProxy(req: { target: string; delayMs: number }): Promise<{ endpoint: string }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const server = createServer((inbound, outbound) => {
    const chunks: Buffer[] = [];
    inbound.on('data', (c: Buffer) => chunks.push(c));
    inbound.on('end', () => {
      setTimeout(() => {
        const forward = request(
          new URL(inbound.url ?? '/', req.target),
          { method: inbound.method, headers: inbound.headers, agent },
          (response) => {
            outbound.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(outbound);
          },
        );
        forward.on('error', () => outbound.writeHead(502).end());
        forward.end(Buffer.concat(chunks));
      }, req.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy = { server, agent };
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stopDelayProxy(): Promise<void> {
  if (!proxy) return;
  const { server, agent } = proxy;
  proxy = undefined;
  agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

if (parentPort) {
  const port = parentPort;
  const { emit } = serveRpc(
    {
      now: () => nowAbs(),
      connect: () => connectAll((event, payload) => emit(event, payload)),
      partial: (seq: number) => partial(seq),
      count: (seq: number) => arrivals.get(seq)?.times.length ?? 0,
      stray: () => ({ ...stray }),
      close: () => closeAll(),
      startDelayProxy: (req: { target: string; delayMs: number }) => startDelayProxy(req),
      stopDelayProxy: () => stopDelayProxy(),
    },
    (m) => port.postMessage(m),
    (fn) => port.on('message', fn),
  );
}
