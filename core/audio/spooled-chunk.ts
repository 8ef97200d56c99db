/**
 * One open recording chunk, held in pooled 8 KB blocks (core/audio/pcm-blocks.ts) of which every
 * full one is appended to a file on local disk and then given back to the pool: the process
 * holds at most the block being filled and one write's worth, not the chunk (15 s, 480 KB —
 * external memory that V8 counts toward its next full collection; docs/benchmarks.md, "Issue
 * #15.1 with the archive spooled to disk"). Without a file (no spool, or after it failed) the
 * chunk stays in its blocks, as every chunk did before the spool.
 *
 * Writes are positional, WRITE_BLOCKS full blocks or more at a time, one at a time (the blocks
 * that filled meanwhile go together in the next writev), so the file always holds a prefix of the chunk and a slow disk cannot pile up
 * requests. If a write fails (disk full, I/O error), or the disk falls MAX_UNWRITTEN_BLOCKS
 * behind, the chunk stops writing and keeps the rest in memory, and `onError` gets a SpoolError
 * once: nothing is lost and the caller's appends never throw.
 *
 * `seal()` (the cut) stops writing and gives the body to store: the file's confirmed prefix and
 * the blocks not yet confirmed on disk. `release()` (once the PUT has settled) deletes the file
 * and gives the blocks back; a block still being written goes back when its write returns.
 */
import { close, openSync, unlink, writev } from 'node:fs';
import type { RecordingBody } from '../recordings/body';
import { SpoolError } from './chunk-spool';
import { appendToBlocks, giveBlock, PCM_BLOCK_BYTES } from './pcm-blocks';

/** Blocks (250 ms each) a chunk may hold unwritten while a write is pending: 10 s, 320 KB. */
export const MAX_UNWRITTEN_BLOCKS = 40;
/**
 * Full blocks written together (1 s of audio, 32 KB): fewer writes (thread-pool round trips and
 * system calls) for up to this many blocks more held per stream; measured against 1 and 8 in
 * docs/benchmarks.md.
 */
export const WRITE_BLOCKS = 4;

export interface ChunkFile {
  path: string;
  onError: (error: SpoolError) => void;
}

export class SpooledChunk {
  /** Blocks not confirmed on disk, in order; the first `writing` of them are being written. */
  private blocks: Buffer[] = [];
  private used = PCM_BLOCK_BYTES; // bytes used in the last block (full when there is none)
  private total = 0;
  /** Bytes of the chunk confirmed in the file: always a prefix. */
  private written = 0;
  private writing = 0;
  private fd: number | undefined;
  private created = false;
  private failed = false;
  private state: 'open' | 'sealed' | 'released' = 'open';

  constructor(private readonly file: ChunkFile | undefined) {}

  /** No write pending and none due (or no file any more): what is held stays until more audio comes. */
  get settled(): boolean {
    return (
      this.writing === 0 &&
      (this.file === undefined || this.failed || this.state !== 'open' || this.fullBlocks() < WRITE_BLOCKS)
    );
  }

  append(chunk: Uint8Array): void {
    this.used = appendToBlocks(this.blocks, this.used, chunk);
    this.total += chunk.length;
    if (this.file === undefined || this.failed || this.state !== 'open') return;
    if (this.writing === 0) {
      if (this.fullBlocks() >= WRITE_BLOCKS) this.pump();
    } else if (this.blocks.length > MAX_UNWRITTEN_BLOCKS) {
      this.fail(new Error(`the disk is ${MAX_UNWRITTEN_BLOCKS} blocks behind`));
    }
  }

  /** Stop writing; the chunk's bytes in order: the file's written prefix, then the rest. */
  seal(): RecordingBody {
    this.state = 'sealed';
    if (this.writing === 0) this.closeFile();
    const tail = this.tailParts();
    if (this.written === 0 || this.file === undefined) return tail;
    return { file: this.file.path, fileBytes: this.written, tail };
  }

  /** Delete the file and give the blocks back (the body from `seal()` is invalid afterwards). */
  release(): void {
    this.state = 'released';
    for (let i = this.writing; i < this.blocks.length; i++) giveBlock(this.blocks[i] as Buffer);
    this.blocks.length = this.writing;
    if (this.writing === 0) this.closeFile();
    if (this.created && this.file) {
      this.created = false;
      unlink(this.file.path, () => {}); // a file left behind is removed at the next start
    }
  }

  private fullBlocks(): number {
    return this.used === PCM_BLOCK_BYTES ? this.blocks.length : this.blocks.length - 1;
  }

  private pump(): void {
    const full = this.fullBlocks();
    if (full <= 0 || this.file === undefined) return;
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.file.path, 'w', 0o600);
        this.created = true;
      } catch (error) {
        this.fail(error);
        return;
      }
    }
    this.writing = full;
    const batch = full === this.blocks.length ? this.blocks.slice() : this.blocks.slice(0, full);
    writev(this.fd, batch, this.written, (error, bytes) => this.wrote(error, bytes, full));
  }

  private wrote(error: Error | null, bytes: number, count: number): void {
    this.writing = 0;
    if (this.state === 'released') {
      for (const block of this.blocks) giveBlock(block);
      this.blocks = [];
      this.closeFile();
      return;
    }
    if (this.state === 'sealed' || this.failed) {
      // The body already holds these blocks (or the chunk stopped writing): keep them.
      this.closeFile();
      return;
    }
    if (error || bytes !== count * PCM_BLOCK_BYTES) {
      this.fail(error ?? new Error(`short write: ${bytes} of ${count * PCM_BLOCK_BYTES} bytes`));
      return;
    }
    this.written += bytes;
    for (let i = 0; i < count; i++) giveBlock(this.blocks[i] as Buffer);
    this.blocks.splice(0, count);
    this.pump();
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    if (this.writing === 0) this.closeFile();
    this.file?.onError(
      new SpoolError(`recording spool write failed (${this.file.path}): ${String(error)}`, { cause: error }),
    );
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    close(this.fd, () => {});
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
