import { bytesToMs, msToBytes } from './pcm';

/**
 * The audio sent to the speech engine since the last final result, kept so that a dropped
 * speech socket can be reconnected and the not-yet-final audio sent again (nothing said is
 * lost). Positions are in "stream ms": the session's own audio clock, counting every byte
 * sent to the speech engine once.
 *
 * Bounded: beyond `maxMs` the oldest audio is dropped (a very long utterance without a final
 * is then partly lost on a reconnect; Deepgram finalizes well before the default bound).
 */
export class AudioRing {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Stream position (bytes) of the first buffered byte. */
  private startByte = 0;
  /** Stream position (bytes) just after the last buffered byte. */
  private endByte = 0;

  constructor(private readonly maxMs = 60_000) {}

  get startMs(): number {
    return bytesToMs(this.startByte);
  }

  get endMs(): number {
    return bytesToMs(this.endByte);
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    this.endByte += chunk.length;
    const maxBytes = msToBytes(this.maxMs);
    while (this.bufferedBytes > maxBytes && this.chunks.length > 1) {
      this.dropFirst();
    }
  }

  /** Forget audio before `ms` (the end of the latest final). */
  releaseUntil(ms: number): void {
    const target = Math.min(msToBytes(ms), this.endByte);
    while (this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      if (this.startByte + first.length <= target) {
        this.dropFirst();
      } else {
        const cut = target - this.startByte;
        if (cut > 0) {
          this.chunks[0] = first.subarray(cut);
          this.bufferedBytes -= cut;
          this.startByte += cut;
        }
        return;
      }
    }
  }

  /** The buffered audio, oldest first, to send again after a reconnect. */
  snapshot(): Buffer[] {
    return [...this.chunks];
  }

  private dropFirst(): void {
    const first = this.chunks.shift();
    if (first) {
      this.bufferedBytes -= first.length;
      this.startByte += first.length;
    }
  }
}
