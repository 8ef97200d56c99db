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
 * event loop: every write is timed against this spool's WriteBudget, and once the writes of one
 * second have taken more than SPOOL_WRITE_BUDGET_MS the spool stops for good (every meeting's
 * archive goes on in memory, as after a failed write).
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
 * Event-loop time (ms) the spool's synchronous writes may take within one second (5 %) before
 * the spool stops. A write of a full block into the page cache takes 10–20 µs (docs/benchmarks.md,
 * "synchronous spool writes"): 400 streams spend ~3 ms a second. A disk that throttles or stalls
 * writes (dirty-page throttling pauses a writer up to 200 ms) reaches the budget within one
 * second, or with its first write over 50 ms; a thread descheduled during one write (a busy
 * host, CPU quota throttling) rarely does.
 */
export const SPOOL_WRITE_BUDGET_MS = 50;
const BUDGET_WINDOW_MS = 1_000;

/**
 * The event-loop time a spool's writes may take: each write's duration is spent from the budget
 * of the current one-second window; once a window's writes reach `budgetMs` the budget is
 * exhausted for good (`stopped`), and every chunk spooled under it stops writing.
 */
export class WriteBudget {
  private windowStart = Number.NEGATIVE_INFINITY;
  private spentMs = 0;
  private stoppedBy: SpoolError | undefined;

  constructor(readonly budgetMs = SPOOL_WRITE_BUDGET_MS) {}

  /** Why the spool stopped writing, or undefined while it may write. */
  get stopped(): SpoolError | undefined {
    return this.stoppedBy;
  }

  /** A write started at `startedAt` (performance.now()) just returned; false once over budget. */
  spend(startedAt: number, now = performance.now()): boolean {
    if (this.stoppedBy) return false;
    if (now - this.windowStart >= BUDGET_WINDOW_MS || now < this.windowStart) {
      this.windowStart = startedAt;
      this.spentMs = 0;
    }
    this.spentMs += now - startedAt;
    if (this.spentMs < this.budgetMs) return true;
    this.stoppedBy = new SpoolError(
      `recording spool too slow: its writes blocked the event loop ${this.spentMs.toFixed(1)} ms within ${BUDGET_WINDOW_MS} ms (budget ${this.budgetMs} ms); open chunks are held in memory from now on`,
    );
    return false;
  }
}

/** Hands out the files the open chunks are spooled to. */
export interface SpoolFiles {
  /** A fresh path (the file does not exist yet). */
  nextPath(): string;
  /** Shared by every chunk spooled here: once it is exhausted, nothing more is written. */
  readonly budget: WriteBudget;
}

export interface ChunkSpoolOptions {
  /** SPOOL_WRITE_BUDGET_MS unless set (tests make it 0, so that any write exhausts it). */
  writeBudgetMs?: number;
}

export class ChunkSpool implements SpoolFiles {
  private seq = 0;
  readonly budget: WriteBudget;
  private constructor(
    readonly dir: string,
    options: ChunkSpoolOptions,
  ) {
    this.budget = new WriteBudget(options.writeBudgetMs);
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
