/**
 * Where the recording archive spools its open chunks (core/audio/spooled-chunk.ts): one
 * directory per process under RECORDING_SPOOL_DIR (default `<tmpdir>/parley-spool`), named
 * `<pid>-<random>`. Opening it removes what earlier processes left there: a directory whose
 * process is gone (a crash or a kill leaves its open chunks behind; they were never stored and
 * are not recovered, as an in-memory chunk is not) or whose pid is this process's (a restarted
 * container reuses its pids). A directory of a live process is left alone, so tests and local
 * gateways sharing the root do not remove each other's chunks.
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

/** Hands out the files the open chunks are spooled to. */
export interface SpoolFiles {
  /** A fresh path (the file does not exist yet). */
  nextPath(): string;
}

export class ChunkSpool implements SpoolFiles {
  private seq = 0;
  private constructor(readonly dir: string) {}

  /**
   * This process's spool under `root` (the same one on every call), created on first use after
   * removing stale directories. Throws SpoolError if the directory cannot be created.
   */
  static open(root: string): ChunkSpool {
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
      spool = new ChunkSpool(dir);
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
