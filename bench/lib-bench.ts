/**
 * Helpers shared by the realtime benchmarks (bench/pipeline.ts, bench/fanout.ts): argument
 * parsing, percentiles, markdown tables, machine facts, an absolute clock that agrees across
 * worker threads, a TypeScript worker/child-process launcher with a tiny request/response
 * protocol, and the meeting rows the benchmarks drive.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MeetingRepository } from '../core/meetings/repository';
import { newMeetingRecord } from '../core/meetings/service';

// ---- arguments -------------------------------------------------------------------------------

function rawArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const prefixed = process.argv.find((a) => a.startsWith(`--${name}=`));
  return prefixed?.slice(name.length + 3);
}

/** `--name 12` (or `--name=12`): a non-negative number, else `fallback`. */
export function numArg(name: string, fallback: number): number {
  const raw = rawArg(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new TypeError(`--${name} must be a non-negative number, got "${raw}"`);
  return value;
}

/** `--name 1,10,100`: positive integers. */
export function listArg(name: string, fallback: number[]): number[] {
  const raw = rawArg(name);
  if (raw === undefined) return fallback;
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new TypeError(`--${name} must be a comma-separated list of positive integers, got "${raw}"`);
  }
  return values;
}

/** `--name value` (or `--name=value`): the string given, else undefined. */
export function strArg(name: string): string | undefined {
  return rawArg(name);
}

export function flagArg(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

// ---- time and statistics ---------------------------------------------------------------------

/**
 * Milliseconds since the epoch with sub-millisecond resolution. Each thread has its own
 * `performance.timeOrigin`, but origin + now() is the same clock in all of them (checked by
 * `clockSkew`), so marks taken in a worker and in the main thread can be subtracted.
 */
export function nowAbs(): number {
  return performance.timeOrigin + performance.now();
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** Milliseconds with one decimal (whole numbers from 100 up). */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

export function markdownTable(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  const align = headers.map((_, i) => (i === 0 ? '---' : '---:'));
  return [line(headers), line(align), ...rows.map(line)].join('\n');
}

export function sleep(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}

/** Polls `check` every 10 ms until it is true; false when `timeoutMs` passes first. */
export async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** Races `promise` against a timer; rejects with `what` when the timer wins. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- machine facts ---------------------------------------------------------------------------

export function machineFacts(): string {
  let cpuModel = 'unknown';
  let openFiles = 'unknown';
  try {
    cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
    openFiles = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? openFiles;
  } catch {
    // not Linux: leave unknown
  }
  const gb = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
  return [
    `- CPU: ${cpuModel}, ${availableParallelism()} cores available to Node`,
    `- memory: ${gb(totalmem())} GB total, ${gb(freemem())} GB free at start`,
    `- load average at start (1/5/15 min): ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
    `- Node ${process.version}, open-file limit ${openFiles}`,
  ].join('\n');
}

/** The soft open-file limit of this process (Linux), or undefined. */
export function openFileLimit(): number | undefined {
  try {
    const value = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return value ? Number(value) : undefined;
  } catch {
    return undefined;
  }
}

// ---- workers and child processes -------------------------------------------------------------

interface RpcRequest {
  rpc: number;
  cmd: string;
  payload: unknown;
}
interface RpcResponse {
  rpc: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}
/** A message a worker sends on its own (not a response). */
export interface RpcEvent {
  event: string;
  payload: unknown;
}

type Handlers = Record<string, (payload: never) => unknown>;

/** The calling side of a worker thread or child process running `serveRpc`. */
export class RpcPeer {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, (payload: never) => void>();

  constructor(
    private readonly post: (message: RpcRequest) => void,
    subscribe: (fn: (message: unknown) => void) => void,
  ) {
    subscribe((message) => {
      const m = message as Partial<RpcResponse & RpcEvent>;
      if (typeof m.event === 'string') {
        this.listeners.get(m.event)?.(m.payload as never);
        return;
      }
      if (typeof m.rpc !== 'number') return;
      const waiter = this.pending.get(m.rpc);
      this.pending.delete(m.rpc);
      if (m.ok) waiter?.resolve(m.value);
      else waiter?.reject(new Error(m.error ?? 'remote call failed'));
    });
  }

  call<T>(cmd: string, payload: unknown = {}): Promise<T> {
    const rpc = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(rpc, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ rpc, cmd, payload });
    });
  }

  on<T>(event: string, fn: (payload: T) => void): void {
    this.listeners.set(event, fn as (payload: never) => void);
  }

  failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

/** The serving side: answers `RpcPeer.call`s with `handlers`; `emit` sends an event. */
export function serveRpc(
  handlers: Handlers,
  post: (message: RpcResponse | RpcEvent) => void,
  subscribe: (fn: (message: unknown) => void) => void,
): { emit: (event: string, payload: unknown) => void } {
  subscribe((message) => {
    const { rpc, cmd, payload } = message as RpcRequest;
    const handler = handlers[cmd];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${cmd}`);
        return handler(payload as never);
      })
      .then(
        (value) => post({ rpc, ok: true, value }),
        (error: unknown) =>
          post({ rpc, ok: false, error: error instanceof Error ? error.stack : String(error) }),
      );
  });
  return { emit: (event, payload) => post({ event, payload }) };
}

/**
 * Runs a TypeScript file in a worker thread (tsx's require hook is registered inside it; the
 * loader flags of `npx tsx` do not reach workers).
 */
export function startTsWorker(file: string, workerData: unknown): { worker: Worker; rpc: RpcPeer } {
  const tsx = require.resolve('tsx/cjs/api');
  const worker = new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(file)});`, {
    eval: true,
    workerData,
  });
  const rpc = new RpcPeer(
    (m) => worker.postMessage(m),
    (fn) => worker.on('message', fn),
  );
  worker.on('error', (error) => rpc.failAll(error));
  worker.on('exit', (code) => rpc.failAll(new Error(`worker exited with code ${code}`)));
  return { worker, rpc };
}

/** Runs a TypeScript file in a child Node process (same tsx flags as this one), IPC attached. */
export function startTsChild(file: string): { child: ChildProcess; rpc: RpcPeer } {
  const child = spawn(process.execPath, [...process.execArgv, file], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const rpc = new RpcPeer(
    (m) => child.send(m),
    (fn) => child.on('message', fn),
  );
  child.on('exit', (code) => rpc.failAll(new Error(`child exited with code ${code}`)));
  return { child, rpc };
}

/** Measures how far apart a worker's absolute clock is from ours (should be ~0). */
export async function clockSkew(rpc: RpcPeer): Promise<{ skewMs: number; rttMs: number }> {
  let best = { skewMs: Number.NaN, rttMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 20; i++) {
    const sent = nowAbs();
    const remote = await rpc.call<number>('now');
    const back = nowAbs();
    if (back - sent < best.rttMs) best = { skewMs: remote - (sent + back) / 2, rttMs: back - sent };
  }
  return best;
}

// ---- meetings --------------------------------------------------------------------------------

/** A stored meeting row ready for a Recall connection (joining, desired run); returns its Recall token. */
export async function createBenchMeeting(
  ownerId: string,
  title: string,
): Promise<{ meetingId: string; token: string }> {
  const { meeting, token } = newMeetingRecord({ ownerId, title, meetingUrl: 'local://bench' });
  await new MeetingRepository().create(meeting);
  return { meetingId: meeting.meetingId, token };
}

/** CPU time (ms) of the main thread so far, from /proc (Linux); NaN elsewhere. */
export function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime), counted from after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}
