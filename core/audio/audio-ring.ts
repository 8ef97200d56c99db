import { bytesToMs, msToBytes } from './pcm';
import { giveBlock, PCM_BLOCK_BYTES, takeBlock } from './pcm-blocks';

/** Bytes per storage block: 250 ms of 16 kHz S16LE (blocks are shared with the recording archive). */
export const AUDIO_RING_BLOCK_BYTES = PCM_BLOCK_BYTES;

/**
 * The audio sent to the speech engine since the last final result, kept so that a dropped
 * speech socket can be reconnected and the not-yet-final audio sent again (nothing said is
 * lost). Positions are in "stream ms": the session's own audio clock, counting every byte
 * sent to the speech engine once.
 *
 * Bounded: beyond `maxMs` the oldest audio is dropped (a very long utterance without a final
 * is then partly lost on a reconnect; Deepgram finalizes well before the default bound).
 *
 * Storage: each pushed chunk is copied into fixed 8 KB blocks (core/audio/pcm-blocks.ts), recycled
 * through a process-wide spare list once a final releases them. The caller's buffer is not kept, so a decoded frame
 * dies young instead of surviving in the old generation (and pinning its 8 KB allocation slab)
 * until the next final: measured in docs/benchmarks.md ("Audio gateway ingest").
 */
export class AudioRing {
  private blocks: Buffer[] = [];
  /** Stream position (bytes) of blocks[0][0]. */
  private firstBlockByte = 0;
  /** Stream position (bytes) of the first buffered byte. */
  private startByte = 0;
  /** Stream position (bytes) just after the last buffered byte. */
  private endByte = 0;
  private readonly maxBytes: number;

  constructor(maxMs = 60_000) {
    this.maxBytes = msToBytes(maxMs);
  }

  get startMs(): number {
    return bytesToMs(this.startByte);
  }

  get endMs(): number {
    return bytesToMs(this.endByte);
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const offset = this.endByte - this.firstBlockByte;
      const index = (offset / AUDIO_RING_BLOCK_BYTES) | 0;
      if (index === this.blocks.length) this.blocks.push(takeBlock());
      const within = offset - index * AUDIO_RING_BLOCK_BYTES;
      const n = Math.min(AUDIO_RING_BLOCK_BYTES - within, chunk.length - at);
      (this.blocks[index] as Buffer).set(
        at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n),
        within,
      );
      at += n;
      this.endByte += n;
    }
    if (this.endByte - this.startByte > this.maxBytes) this.dropUntil(this.endByte - this.maxBytes);
  }

  /** Forget audio before `ms` (the end of the latest final). */
  releaseUntil(ms: number): void {
    this.dropUntil(msToBytes(ms));
  }

  /** The buffered audio, oldest first, to send again after a reconnect (copies: blocks are reused). */
  snapshot(): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < this.blocks.length; i++) {
      const blockStart = this.firstBlockByte + i * AUDIO_RING_BLOCK_BYTES;
      const from = Math.max(this.startByte, blockStart);
      const to = Math.min(this.endByte, blockStart + AUDIO_RING_BLOCK_BYTES);
      if (to > from) {
        out.push(Buffer.from((this.blocks[i] as Buffer).subarray(from - blockStart, to - blockStart)));
      }
    }
    return out;
  }

  private dropUntil(byte: number): void {
    this.startByte = Math.max(this.startByte, Math.min(byte, this.endByte));
    // Whole blocks before the first kept byte go back to the spare list; when everything is
    // released, the ring starts over at the beginning of its first block.
    let drop = 0;
    while (
      drop < this.blocks.length &&
      this.firstBlockByte + (drop + 1) * AUDIO_RING_BLOCK_BYTES <= this.startByte
    ) {
      drop++;
    }
    if (this.startByte === this.endByte) {
      // Empty: keep no partly used block; the next byte goes to offset 0 of a block.
      for (const block of this.blocks) giveBlock(block);
      this.blocks = [];
      this.firstBlockByte = this.endByte;
      return;
    }
    if (drop > 0) {
      for (let i = 0; i < drop; i++) giveBlock(this.blocks[i] as Buffer);
      this.blocks.splice(0, drop);
      this.firstBlockByte += drop * AUDIO_RING_BLOCK_BYTES;
    }
  }
}
