/**
 * Where the recording archive spools its open chunks (core/audio/spooled-chunk.ts): one
 * directory per process under RECORDING_SPOOL_DIR (default `<tmpdir>/parley-spool`), named
 * `<pid>-<random>`. Opening it removes what earlier processes left there: a directory whose
 * process is gone (a crash or a kill leaves its open chunks behind; they were never stored and
 * are not recovered, as an in-memory chunk is not) or whose pid is this process's (a restarted
 * container reuses its pids). A directory of a live process is left alone, so tests and local
 * gateways sharing the root do not remove each other's chunks.
 *
 * The chunks write synchronously (core/audio/spooled-chunk.ts), so a slow disk would block the
 * event loop: every write is timed against this spool's WriteBudget, and once the writes are
 * slow (a few in a row over SLOW_WRITE_MS, or one over STALLED_WRITE_MS) the spool stops for
 * good: every meeting's archive goes on in memory, as after a failed write.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ParleyError } from '../errors';

/** The spool could not be created or written (disk full, unwritable, too slow). */
export class SpoolError extends ParleyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SPOOL_FAILED', message, 500, options);
    this.name = 'SpoolError';
  }
}

/**
 * A spool write is slow past this many ms (a block into the page cache takes 10–20 µs; a thread
 * descheduled mid-write on a busy host or under a CPU quota takes a few ms now and then).
 */
export const SLOW_WRITE_MS = 10;
/**
 * Slow writes in a row that stop the spool: a disk that slows every write, not a thread that
 * was descheduled during one (on a host busy enough to deschedule 1 write in 100, three in a row
 * happen once in a million writes; a write that is not slow starts the count again).
 */
export const SLOW_WRITES_IN_A_ROW = 3;
/**
 * One write this long stops the spool at once: longer than the kernel's longest dirty-page
 * throttling pause (200 ms), so the device itself is stalled.
 */
export const STALLED_WRITE_MS = 200;

export interface WriteBudgetOptions {
  /** STALLED_WRITE_MS unless set (tests make it 0, so that the first write stops the spool). */
  stalledWriteMs?: number;
}

/**
 * How long a spool's synchronous writes may block the event loop: every write is timed, and the
 * spool stops for good (`stopped`) after SLOW_WRITES_IN_A_ROW writes over SLOW_WRITE_MS, or one
 * over STALLED_WRITE_MS. Every chunk spooled under it then stops writing.
 */
export class WriteBudget {
  private readonly stalledMs: number;
  private slowInARow = 0;
  private stoppedBy: SpoolError | undefined;

  constructor(options: WriteBudgetOptions = {}) {
    this.stalledMs = options.stalledWriteMs ?? STALLED_WRITE_MS;
  }

  /** Why the spool stopped writing, or undefined while it may write. */
  get stopped(): SpoolError | undefined {
    return this.stoppedBy;
  }

  /** A write started at `startedAt` (performance.now()) just returned; false once the spool stopped. */
  spend(startedAt: number, now = performance.now()): boolean {
    if (this.stoppedBy) return false;
    const ms = now - startedAt;
    if (ms >= this.stalledMs) {
      this.stop(`one write took ${ms.toFixed(1)} ms (limit ${this.stalledMs} ms)`);
      return false;
    }
    if (ms <= SLOW_WRITE_MS) {
      this.slowInARow = 0;
      return true;
    }
    if (++this.slowInARow < SLOW_WRITES_IN_A_ROW) return true;
    this.stop(
      `${this.slowInARow} writes in a row took over ${SLOW_WRITE_MS} ms each (the last ${ms.toFixed(1)} ms)`,
    );
    return false;
  }

  private stop(why: string): void {
    this.stoppedBy = new SpoolError(
      `recording spool too slow: ${why}; open chunks are held in memory from now on`,
    );
  }
}

/** Hands out the files the open chunks are spooled to. */
export interface SpoolFiles {
  /** A fresh path (the file does not exist yet). */
  nextPath(): string;
  /** Times the writes of every chunk spooled here: once it has stopped, nothing more is written. */
  readonly budget: WriteBudget;
}

export type ChunkSpoolOptions = WriteBudgetOptions;

export class ChunkSpool implements SpoolFiles {
  private seq = 0;
  readonly budget: WriteBudget;
  private constructor(
    readonly dir: string,
    options: ChunkSpoolOptions,
  ) {
    this.budget = new WriteBudget(options);
  }

  /**
   * This process's spool under `root` (the same one on every call; `options` apply when it is
   * created), created on first use after removing stale directories. Throws SpoolError if the
   * directory cannot be created.
   */
  static open(root: string, options: ChunkSpoolOptions = {}): ChunkSpool {
    const resolved = path.resolve(root);
    let spool = spools.get(resolved);
    if (!spool) {
      const dir = path.join(resolved, `${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        mkdirSync(resolved, { recursive: true });
        removeStale(resolved);
        mkdirSync(dir, { mode: 0o700 });
      } catch (error) {
        throw new SpoolError(`cannot create the recording spool ${dir}: ${String(error)}`, { cause: error });
      }
      spool = new ChunkSpool(dir, options);
      spools.set(resolved, spool);
    }
    return spool;
  }

  nextPath(): string {
    this.seq++;
    return path.join(this.dir, `${this.seq}.pcm`);
  }
}

const spools = new Map<string, ChunkSpool>();

function removeStale(root: string): void {
  for (const name of readdirSync(root)) {
    const pid = Number(/^(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || (pid !== process.pid && alive(pid))) continue;
    rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
