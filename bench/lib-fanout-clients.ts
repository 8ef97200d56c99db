/**
 * The subscribers of bench/fanout.ts, in a child process of their own (clients are other
 * machines on AWS). A child process, not a worker thread: it has its own file-descriptor
 * table, so the stack's process holds only the server end of each socket and 10,000
 * subscribers fit under a 20,000 open-file limit (bench/lib-fanout-fleet.ts starts one or
 * more of these and spreads the connections over them).
 *
 * Opens the realtime connections it is given (by global index, in the waves the parent
 * drives), subscribes each to one meeting, then reports, per transcript seq, when every one of
 * its connections has received it. Receive times are on the parent's clock: the system-wide
 * monotonic clock (`process.hrtime`, CLOCK_MONOTONIC on Linux, the same in every process) plus
 * the offset the parent measured between that clock and its own `nowAbs()` — no wall clock and
 * no per-process `performance.timeOrigin` is involved.
 */
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { serveRpc, until } from './lib-bench';

export interface ClientsInit {
  /** Realtime API URL with `?token=`. */
  url: string;
  meetingId: string;
  /** Connections this child will open in all (its share of the subscribers). */
  count: number;
  /** The parent's `nowAbs()` minus its monotonic clock in ms (see `monotonicMs`). */
  clockOffsetMs: number;
}

export interface ConnectResult {
  connected: number;
  wallMs: number;
  /** Per connection: open + subscribe + replay_complete, ms. */
  p50: number;
  p99: number;
  max: number;
}

/** Receive times of one seq and which connection (global index in opening order) got each. */
export interface Arrivals {
  times: number[];
  who: number[];
}

/** The system-wide monotonic clock in ms (CLOCK_MONOTONIC on Linux: one clock for all processes). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

let config: ClientsInit | undefined;
const sockets: WebSocket[] = [];
/** seq → receive times so far. */
const arrivals = new Map<number, Arrivals>();
const stray = { errors: 0, other: 0, duplicates: 0 };
/** Messages other than transcripts and the subscribe handshake, by type. */
const otherTypes: Record<string, number> = {};

function now(): number {
  return monotonicMs() + (config?.clockOffsetMs ?? 0);
}

function connectOne(
  cfg: ClientsInit,
  emit: (event: string, payload: unknown) => void,
  index: number,
): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(cfg.url, { perMessageDeflate: false });
    let subscribed = false;
    ws.on('message', (data) => {
      const at = now();
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
        if (got.times.length === cfg.count) {
          arrivals.delete(seq);
          emit('complete', { seq, times: got.times, who: got.who });
        } else if (got.times.length > cfg.count) stray.duplicates++;
        return;
      }
      if (msg.type === 'replay_complete' && !subscribed) {
        subscribed = true;
        resolve(performance.now() - started);
        return;
      }
      if (msg.type === 'error') stray.errors++;
      else if (msg.type !== 'subscribed') {
        stray.other++;
        const type = String(msg.type);
        otherTypes[type] = (otherTypes[type] ?? 0) + 1;
      }
    });
    ws.once('open', () => ws.send(JSON.stringify({ action: 'subscribe', meetingId: cfg.meetingId })));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} on connect`)));
    ws.on('error', (error) => {
      if (!subscribed) reject(error);
    });
    sockets.push(ws);
  });
}

/** Opens and subscribes the connections `indices` at once (one wave); their times in ms. */
function connectWave(emit: (event: string, payload: unknown) => void, indices: number[]): Promise<number[]> {
  const cfg = config;
  if (!cfg) throw new Error('init first');
  if (sockets.length + indices.length > cfg.count) {
    throw new RangeError(`asked for ${sockets.length + indices.length} connections, set up for ${cfg.count}`);
  }
  return Promise.all(indices.map((i) => connectOne(cfg, emit, i)));
}

/** Times received so far for a seq this child has not completed (for short paths and timeouts). */
function partial(seq: number): Arrivals {
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
 * Gateway, which loopback does not have. It runs in this process, off the stack's event loop.
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

/** The argument bench/lib-fanout-fleet.ts starts this file with (importing it does nothing). */
export const CHILD_FLAG = '--fanout-clients-child';

if (process.send && process.argv.includes(CHILD_FLAG)) {
  const send = process.send.bind(process);
  const { emit } = serveRpc(
    {
      init: (init: ClientsInit) => {
        config = init;
      },
      now: () => now(),
      connect: (indices: number[]) => connectWave(emit, indices),
      partial: (seq: number) => partial(seq),
      count: (seq: number) => arrivals.get(seq)?.times.length ?? 0,
      stray: () => ({ ...stray, otherTypes }),
      close: () => closeAll(),
      startDelayProxy: (req: { target: string; delayMs: number }) => startDelayProxy(req),
      stopDelayProxy: () => stopDelayProxy(),
    },
    (m) => send(m),
    (fn) => process.on('message', fn),
  );
  // The parent went away (crash, Ctrl-C): leave with it rather than hold 10,000 sockets.
  process.on('disconnect', () => process.exit(0));
}
