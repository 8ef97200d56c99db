/**
 * The subscribers of bench/fanout.ts as a fleet of child processes (bench/lib-fanout-clients.ts).
 *
 * Why processes: the stack (API Gateway emulator, emulators, handlers) holds the server end of
 * every WebSocket; with the clients in the same process (as a worker thread, as before) each
 * subscriber cost two descriptors of one table, and 10,000 subscribers did not fit under a
 * 20,000 open-file limit that cannot be raised without CAP_SYS_RESOURCE. Each child has its own
 * table, so the parent needs one descriptor per subscriber and each child one per connection it
 * owns.
 *
 * Connection `i` (global index, opening order) lives in child `i % processes`. Waves are global:
 * the parent opens wave k (indices k·wave … k·wave + wave − 1, spread over the children) and waits
 * for all of it before wave k + 1, so subscription slots — and with them shards — follow the
 * index order exactly as with one process.
 *
 * Clock: the children stamp receive times on the system-wide monotonic clock plus the offset the
 * parent measured between that clock and its `nowAbs()` (see `monotonicMs`), so a child's time
 * minus the parent's send time is a duration on one clock; `clockSkew` checks it per child.
 */
import { type ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import { nowAbs, RpcPeer, type Summary, summarize, withTimeout } from './lib-bench';
import { type Arrivals, CHILD_FLAG, type ConnectResult, monotonicMs } from './lib-fanout-clients';

export interface FleetOptions {
  /** Realtime API URL with `?token=`. */
  url: string;
  meetingId: string;
  /** Subscribers in all. */
  count: number;
  /** Connections opened at once (a wave), across all children. */
  wave: number;
  /** Child processes (each holds count / processes connections). */
  processes: number;
}

export interface Stray {
  errors: number;
  other: number;
  duplicates: number;
  otherTypes: Record<string, number>;
}

interface Child {
  process: ChildProcess;
  rpc: RpcPeer;
  /** Connections this child owns. */
  count: number;
  exited: Promise<number | null>;
}

/** Per seq: the arrivals of the children that completed it, until the last one does. */
interface Pending {
  parts: Arrivals[];
  done: Set<number>;
}

export class ClientFleet {
  private readonly children: Child[];
  private readonly pending = new Map<number, Pending>();
  private onComplete: (seq: number, got: Arrivals) => void = () => undefined;

  private constructor(
    private readonly options: FleetOptions,
    children: Child[],
  ) {
    this.children = children;
    children.forEach((child, c) => {
      child.rpc.on<{ seq: number } & Arrivals>('complete', ({ seq, times, who }) => {
        const p = this.entry(seq);
        p.parts.push({ times, who });
        p.done.add(c);
        if (p.done.size === this.children.length) {
          this.pending.delete(seq);
          this.onComplete(seq, merge(p.parts));
        }
      });
    });
  }

  /** Starts the children (nothing connects yet). */
  static async start(options: FleetOptions): Promise<ClientFleet> {
    if (!Number.isInteger(options.processes) || options.processes < 1) {
      throw new RangeError(`client processes must be a positive integer, got ${options.processes}`);
    }
    const processes = Math.min(options.processes, Math.max(1, options.count));
    const file = path.join(__dirname, 'lib-fanout-clients.ts');
    const offset = nowAbs() - monotonicMs();
    const children: Child[] = [];
    for (let c = 0; c < processes; c++) {
      // The parent's loader flags (tsx) so the child can run TypeScript; 'advanced' IPC
      // (structured clone) for the 10,000-number arrays of receive times.
      const child = fork(file, [CHILD_FLAG], {
        execArgv: process.execArgv,
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const rpc = new RpcPeer(
        (m) => child.send(m),
        (fn) => child.on('message', fn),
      );
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => {
          rpc.failAll(new Error(`fan-out client process ${c} exited with code ${code}`));
          resolve(code);
        }),
      );
      // Connections c, c + processes, c + 2·processes, … (count − 1 − c) / processes + 1 of them.
      const count = Math.floor((options.count - 1 - c) / processes) + 1;
      children.push({ process: child, rpc, count, exited });
    }
    const fleet = new ClientFleet(options, children);
    await Promise.all(
      children.map((child) =>
        child.rpc.call('init', {
          url: options.url,
          meetingId: options.meetingId,
          count: child.count,
          clockOffsetMs: offset,
        }),
      ),
    );
    return fleet;
  }

  get processes(): number {
    return this.children.length;
  }

  /** Called once per seq when every subscriber has it (all children complete). */
  onAllReceived(fn: (seq: number, got: Arrivals) => void): void {
    this.onComplete = fn;
  }

  /** Opens and subscribes every connection, wave by wave, in index order. */
  async connect(progress?: (connected: number) => void): Promise<ConnectResult> {
    const { count, wave } = this.options;
    const step = wave > 0 ? wave : count;
    const started = performance.now();
    const times: number[] = [];
    for (let first = 0; first < count; first += step) {
      const last = Math.min(count, first + step);
      const parts = await Promise.all(
        this.children.map((child, c) => {
          const indices: number[] = [];
          for (let i = first; i < last; i++) if (i % this.children.length === c) indices.push(i);
          return indices.length > 0 ? child.rpc.call<number[]>('connect', indices) : Promise.resolve([]);
        }),
      );
      for (const part of parts) times.push(...part);
      progress?.(last);
    }
    const s: Summary = summarize(times);
    return {
      connected: times.length,
      wallMs: performance.now() - started,
      p50: s.p50,
      p99: s.p99,
      max: s.max,
    };
  }

  /** Subscribers that have `seq` so far. */
  async count(seq: number): Promise<number> {
    const p = this.pending.get(seq);
    const counts = await Promise.all(
      this.children.map((child, c) => (p?.done.has(c) ? 0 : child.rpc.call<number>('count', seq))),
    );
    return counts.reduce((n, x) => n + x, 0) + (p?.parts.reduce((n, a) => n + a.times.length, 0) ?? 0);
  }

  /** Everything received for `seq` so far (for paths that post to some subscribers, and timeouts). */
  async partial(seq: number): Promise<Arrivals> {
    const done = this.pending.get(seq)?.done ?? new Set<number>();
    const rest = await Promise.all(
      this.children.filter((_, c) => !done.has(c)).map((child) => child.rpc.call<Arrivals>('partial', seq)),
    );
    // Read after the answers: a child that completed `seq` meanwhile sent its 'complete' before
    // its (then empty) answer, on the same ordered channel, so its arrivals are in `pending` now.
    const parts = this.pending.get(seq)?.parts ?? [];
    this.pending.delete(seq);
    return merge([...parts, ...rest]);
  }

  /** Clock agreement with each child: the worst |skew| and its round trip (ms). */
  async clockSkew(): Promise<{ skewMs: number; rttMs: number }> {
    let worst = { skewMs: 0, rttMs: 0 };
    for (const child of this.children) {
      let best = { skewMs: Number.NaN, rttMs: Number.POSITIVE_INFINITY };
      for (let i = 0; i < 20; i++) {
        const sent = nowAbs();
        const remote = await child.rpc.call<number>('now');
        const back = nowAbs();
        if (back - sent < best.rttMs) best = { skewMs: remote - (sent + back) / 2, rttMs: back - sent };
      }
      if (Math.abs(best.skewMs) >= Math.abs(worst.skewMs)) worst = best;
    }
    return worst;
  }

  /** Messages the children did not expect: errors, duplicates, other types (by type). */
  async stray(): Promise<Stray> {
    const all = await Promise.all(this.children.map((child) => child.rpc.call<Stray>('stray')));
    const otherTypes: Record<string, number> = {};
    for (const s of all) {
      for (const [type, n] of Object.entries(s.otherTypes)) otherTypes[type] = (otherTypes[type] ?? 0) + n;
    }
    return {
      errors: all.reduce((n, s) => n + s.errors, 0),
      other: all.reduce((n, s) => n + s.other, 0),
      duplicates: all.reduce((n, s) => n + s.duplicates, 0),
      otherTypes,
    };
  }

  /** The delay proxy of the concurrency sweep runs in the first child. */
  startDelayProxy(req: { target: string; delayMs: number }): Promise<{ endpoint: string }> {
    return (this.children[0] as Child).rpc.call('startDelayProxy', req);
  }

  stopDelayProxy(): Promise<void> {
    return (this.children[0] as Child).rpc.call('stopDelayProxy');
  }

  /** Closes every connection, then ends the children (killed if they do not leave in 10 s). */
  async stop(): Promise<void> {
    await Promise.all(
      this.children.map((child) =>
        withTimeout(child.rpc.call('close'), 60_000, 'fan-out clients to close').catch((e) =>
          console.error(String(e)),
        ),
      ),
    );
    for (const child of this.children) {
      if (child.process.connected) child.process.disconnect();
    }
    await Promise.all(
      this.children.map((child) =>
        withTimeout(child.exited, 10_000, 'a fan-out client process to exit').catch(() => {
          child.process.kill('SIGKILL');
        }),
      ),
    );
  }

  private entry(seq: number): Pending {
    let p = this.pending.get(seq);
    if (!p) {
      p = { parts: [], done: new Set() };
      this.pending.set(seq, p);
    }
    return p;
  }
}

function merge(parts: Arrivals[]): Arrivals {
  const out: Arrivals = { times: [], who: [] };
  for (const part of parts) {
    for (let i = 0; i < part.times.length; i++) {
      out.times.push(part.times[i] as number);
      out.who.push(part.who[i] as number);
    }
  }
  return out;
}
