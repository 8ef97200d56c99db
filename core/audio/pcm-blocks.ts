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
 * Released blocks kept for reuse, at most 8 MB. Blocks are released and filled at the same
 * rate (finals release the ring's, stored chunks the archive's), so this covers any number
 * of streams; beyond it released blocks are left to the garbage collector.
 */
const MAX_SPARE_BLOCKS = 1_024;
const spareBlocks: Buffer[] = [];

export function takeBlock(): Buffer {
  return spareBlocks.pop() ?? Buffer.allocUnsafeSlow(PCM_BLOCK_BYTES);
}

/** Give a block back once nothing reads it any more (its bytes will be overwritten). */
export function giveBlock(block: Buffer): void {
  if (spareBlocks.length < MAX_SPARE_BLOCKS && block.length === PCM_BLOCK_BYTES) spareBlocks.push(block);
}

/** Blocks waiting for reuse now (tests). */
export function spareBlockCount(): number {
  return spareBlocks.length;
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
    let at = 0;
    while (at < chunk.length) {
      if (this.used === PCM_BLOCK_BYTES) {
        this.blocks.push(takeBlock());
        this.used = 0;
      }
      const n = Math.min(PCM_BLOCK_BYTES - this.used, chunk.length - at);
      (this.blocks[this.blocks.length - 1] as Buffer).set(
        at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n),
        this.used,
      );
      this.used += n;
      at += n;
    }
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
