/**
 * One open recording chunk, held in pooled 8 KB blocks (core/audio/pcm-blocks.ts) of which the
 * full ones are written to a file on local disk as soon as WRITE_BLOCKS have filled and then
 * given back to the pool: the process holds a few blocks, not the chunk (15 s, 480 KB — external memory
 * that V8 counts toward its next full collection; docs/benchmarks.md, "Issue #15.1 with the
 * archive spooled to disk"). Without a file (no spool, or after it failed) the chunk stays in
 * its blocks, as every chunk did before the spool.
 *
 * Writes are synchronous and positional (`writevSync` into the page cache: 10–20 µs,
 * against a thread-pool round trip per asynchronous write and the blocks it held meanwhile;
 * docs/benchmarks.md, "synchronous spool writes"), so the file always holds a prefix of the
 * chunk and nothing is in flight. Each write is timed against the spool's WriteBudget
 * (core/audio/chunk-spool.ts): a disk slow enough to exhaust it stops every chunk of the spool.
 * If a write fails (disk full, I/O error) or the spool stopped (too slow), the chunk stops writing and
 * keeps the rest in memory, and `onError` gets a SpoolError once: nothing is lost and the
 * caller's appends never throw.
 *
 * `seal()` (the cut) stops writing and gives the body to store: the file's prefix and the blocks
 * not written to it. `release()` (once the PUT has settled) deletes the file and gives the
 * blocks back.
 */
import { closeSync, openSync, unlink, writeSync, writevSync } from 'node:fs';
import type { RecordingBody } from '../recordings/body';
import { SpoolError, type WriteBudget } from './chunk-spool';
import { appendToBlocks, giveBlock, PCM_BLOCK_BYTES } from './pcm-blocks';

/**
 * Full blocks written together (500 ms of audio, 16 KB): a chunk holds at most this many and the
 * block being filled. Against 1: the same memory, 3–5 % less gateway CPU (half the system calls);
 * against 4: 20–33 KB less RSS per stream, measured with 1 (docs/benchmarks.md, "synchronous
 * spool writes").
 */
export const WRITE_BLOCKS = 2;

/**
 * The array a write of WRITE_BLOCKS blocks hands to `writevSync` (which does not keep it): one
 * for the process rather than one per write. It may still point at the last write's blocks.
 */
const writeBatch: Buffer[] = [];

export interface ChunkFile {
  path: string;
  /** Times every write of the spool (shared by its chunks); once it stops, nothing more is written. */
  budget: WriteBudget;
  onError: (error: SpoolError) => void;
}

export class SpooledChunk {
  /** Blocks not written to the file, in order. */
  private blocks: Buffer[] = [];
  private used = PCM_BLOCK_BYTES; // bytes used in the last block (full when there is none)
  private total = 0;
  /** Bytes of the chunk written to the file: always a prefix. */
  private written = 0;
  private fd: number | undefined;
  private created = false;
  private failed = false;
  private state: 'open' | 'sealed' | 'released' = 'open';

  constructor(private readonly file: ChunkFile | undefined) {}

  append(chunk: Uint8Array): void {
    this.used = appendToBlocks(this.blocks, this.used, chunk);
    this.total += chunk.length;
    if (this.file === undefined || this.failed || this.state !== 'open') return;
    const full = this.used === PCM_BLOCK_BYTES ? this.blocks.length : this.blocks.length - 1;
    if (full >= WRITE_BLOCKS) this.write(this.file, full);
  }

  /** Stop writing; the chunk's bytes in order: the file's written prefix, then the rest. */
  seal(): RecordingBody {
    this.state = 'sealed';
    this.closeFile();
    const tail = this.tailParts();
    if (this.written === 0 || this.file === undefined) return tail;
    return { file: this.file.path, fileBytes: this.written, tail };
  }

  /** Delete the file and give the blocks back (the body from `seal()` is invalid afterwards). */
  release(): void {
    this.state = 'released';
    for (const block of this.blocks) giveBlock(block);
    this.blocks = [];
    this.closeFile();
    if (this.created && this.file) {
      this.created = false;
      // Asynchronous: an unlink may wait on the file system's journal, and nothing waits for it.
      unlink(this.file.path, () => {}); // a file left behind is removed at the next start
    }
  }

  /** Write the first `count` blocks at the file's end and give them back. */
  private write(file: ChunkFile, count: number): void {
    if (file.budget.stopped) {
      this.fail(file.budget.stopped);
      return;
    }
    const blocks = this.blocks;
    const startedAt = performance.now();
    let bytes: number;
    try {
      if (this.fd === undefined) {
        this.fd = openSync(file.path, 'w', 0o600);
        this.created = true;
      }
      if (count === 1) bytes = writeSync(this.fd, blocks[0] as Buffer, 0, PCM_BLOCK_BYTES, this.written);
      else if (count === WRITE_BLOCKS) {
        for (let i = 0; i < count; i++) writeBatch[i] = blocks[i] as Buffer;
        bytes = writevSync(this.fd, writeBatch, this.written);
      } else bytes = writevSync(this.fd, blocks.slice(0, count), this.written);
    } catch (error) {
      this.fail(error);
      return;
    }
    const inBudget = file.budget.spend(startedAt);
    if (bytes !== count * PCM_BLOCK_BYTES) {
      // Nothing after a short write is trusted: the file's prefix stays what it was.
      this.fail(new Error(`short write: ${bytes} of ${count * PCM_BLOCK_BYTES} bytes`));
      return;
    }
    this.written += bytes;
    for (let i = 0; i < count; i++) giveBlock(blocks[i] as Buffer);
    // Move the blocks not written (the one being filled) to the front, in place.
    const left = blocks.length - count;
    for (let i = 0; i < left; i++) blocks[i] = blocks[i + count] as Buffer;
    blocks.length = left;
    // This write is in the file; the next ones are held in memory.
    if (!inBudget) this.fail(file.budget.stopped);
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.closeFile();
    this.file?.onError(
      error instanceof SpoolError
        ? error
        : new SpoolError(`recording spool write failed (${this.file.path}): ${String(error)}`, {
            cause: error,
          }),
    );
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd); // a regular file's close does no I/O
    } catch {
      // EBADF or EIO: the descriptor is gone either way, and what was written stays readable
    }
    this.fd = undefined;
  }

  private tailParts(): Buffer[] {
    const out: Buffer[] = [];
    let left = this.total - this.written;
    for (const block of this.blocks) {
      out.push(left >= PCM_BLOCK_BYTES ? block : block.subarray(0, left));
      left -= PCM_BLOCK_BYTES;
    }
    return out;
  }
}
