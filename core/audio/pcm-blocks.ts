/**
 * Fixed 8 KB blocks of audio storage, recycled through one process-wide spare list: the
 * speech stream's AudioRing (audio not yet final) and the recording archive's open chunk copy
 * each frame into them instead of keeping the frame's own buffer. A decoded frame then dies
 * young, rather than surviving into the old generation (and pinning its allocation slab) for
 * as long as the audio is kept: measured in docs/benchmarks.md ("Audio gateway").
 */

/** Bytes per block: 250 ms of 16 kHz S16LE. */
export const PCM_BLOCK_BYTES = 8_000;
/**
 * Released blocks kept for reuse: at least this many (8 MB), and up to as many as were in use at
 * the recent peak (the last one to two PEAK_WINDOW_MS) less those in use now. Blocks
 * come back in bursts — a recording chunk's 60 at its cut, and in a task whose meetings cut in
 * the same second, all of them at once — and are taken again over the next seconds: kept, they
 * are reused instead of freed and allocated again (8 KB each, outside the V8 heap, whose growth
 * triggers full collections). The pool never holds more than the recent peak of audio storage,
 * and shrinks back to 8 MB within two windows of that peak passing.
 */
const MAX_SPARE_BLOCKS = 1_024;
export const PEAK_WINDOW_MS = 30_000;
const spareBlocks: Buffer[] = [];
/** Blocks taken and not given back. */
let inUse = 0;
let windowStart = Number.NEGATIVE_INFINITY;
let windowPeak = 0;
let previousPeak = 0;

function notePeak(): void {
  const now = performance.now();
  const elapsed = now - windowStart;
  // A clock that went back (a test's fake clock starts at 0) starts a new window too.
  if (elapsed >= PEAK_WINDOW_MS || elapsed < 0) {
    // The window that ended, or none (0) if a whole window passed with no block taken or given.
    previousPeak = elapsed < 2 * PEAK_WINDOW_MS ? windowPeak : 0;
    windowPeak = inUse;
    windowStart = now;
  } else if (inUse > windowPeak) windowPeak = inUse;
}

export function takeBlock(): Buffer {
  inUse++;
  notePeak();
  return spareBlocks.pop() ?? Buffer.allocUnsafeSlow(PCM_BLOCK_BYTES);
}

/** Give a block back once nothing reads it any more (its bytes will be overwritten). */
export function giveBlock(block: Buffer): void {
  if (block.length !== PCM_BLOCK_BYTES) return;
  inUse = Math.max(0, inUse - 1);
  notePeak();
  const keep = Math.max(MAX_SPARE_BLOCKS, Math.max(windowPeak, previousPeak) - inUse);
  if (spareBlocks.length < keep) spareBlocks.push(block);
  else if (spareBlocks.length > keep) spareBlocks.length = keep; // past the peak: let the rest go
}

/** Blocks waiting for reuse now (tests). */
export function spareBlockCount(): number {
  return spareBlocks.length;
}

/** Blocks taken and not given back now (benchmarks). */
export function inUseBlockCount(): number {
  return inUse;
}

/**
 * Copies `chunk` after the last block's first `used` bytes, taking blocks from the pool as they
 * fill; returns the bytes used in the (new) last block. `used` = PCM_BLOCK_BYTES when the last
 * block is full or there is none.
 */
export function appendToBlocks(blocks: Buffer[], used: number, chunk: Uint8Array): number {
  let at = 0;
  let filled = used;
  while (at < chunk.length) {
    if (filled === PCM_BLOCK_BYTES) {
      blocks.push(takeBlock());
      filled = 0;
    }
    const n = Math.min(PCM_BLOCK_BYTES - filled, chunk.length - at);
    (blocks[blocks.length - 1] as Buffer).set(
      at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n),
      filled,
    );
    filled += n;
    at += n;
  }
  return filled;
}

/**
 * Audio appended in order into pooled blocks; `parts()` shows everything as the blocks themselves
 * (no copy), `concat()` copies it into one buffer, and `release()` gives the blocks back.
 */
export class PcmBlocks {
  private blocks: Buffer[] = [];
  private used = PCM_BLOCK_BYTES; // bytes used in the last block (full when there is none)
  private total = 0;

  get byteLength(): number {
    return this.total;
  }

  append(chunk: Uint8Array): void {
    this.used = appendToBlocks(this.blocks, this.used, chunk);
    this.total += chunk.length;
  }

  /**
   * Everything appended, as views of the blocks in order (the last one cut to its used bytes):
   * valid until `release()`, after which the blocks hold other audio.
   */
  parts(): Buffer[] {
    const out: Buffer[] = [];
    let left = this.total;
    for (const block of this.blocks) {
      out.push(left >= PCM_BLOCK_BYTES ? block : block.subarray(0, left));
      left -= PCM_BLOCK_BYTES;
    }
    return out;
  }

  /** A copy of everything appended, as one buffer. */
  concat(): Buffer {
    const out = Buffer.allocUnsafe(this.total);
    let at = 0;
    for (const block of this.blocks) {
      const n = Math.min(PCM_BLOCK_BYTES, this.total - at);
      block.copy(out, at, 0, n);
      at += n;
    }
    return out;
  }

  /** Give the blocks back; this object is empty afterwards. */
  release(): void {
    for (const block of this.blocks) giveBlock(block);
    this.blocks = [];
    this.used = PCM_BLOCK_BYTES;
    this.total = 0;
  }
}
