/**
 * When each stretch of the speech stream reached the gateway: the wall-clock end of a
 * segment's audio ("audio end" in a transcript event's timing, docs/protocol.md "Latency").
 *
 * One mark per forwarded frame (stream ms at the frame's end → epoch ms it arrived), kept until
 * a final covers it, and never more than MAX_MARKS (about 15 minutes of 20 ms frames; older
 * marks are dropped first, so a stalled engine cannot grow it).
 */
const MAX_MARKS = 45_000;

export class AudioArrivals {
  private streamEnds: number[] = [];
  private arrivedAt: number[] = [];
  private start = 0;

  /** The frame that ends at stream ms `streamEndMs` arrived at `at` (epoch ms). */
  mark(streamEndMs: number, at: number = Date.now()): void {
    this.streamEnds.push(streamEndMs);
    this.arrivedAt.push(at);
    if (this.streamEnds.length - this.start > MAX_MARKS) this.start++;
    if (this.start > 4_096) this.compact();
  }

  /**
   * When the audio up to `streamMs` had arrived: the arrival of the first frame that ends at or
   * after it. Undefined when no such frame is known (not yet arrived, or already pruned).
   */
  arrivalOf(streamMs: number): number | undefined {
    let lo = this.start;
    let hi = this.streamEnds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.streamEnds[mid] as number) < streamMs) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.streamEnds.length ? this.arrivedAt[lo] : undefined;
  }

  /** Forgets the marks of audio that ends before `streamMs` (a final covered it). */
  prune(streamMs: number): void {
    while (this.start < this.streamEnds.length && (this.streamEnds[this.start] as number) < streamMs) {
      this.start++;
    }
    if (this.start > 4_096) this.compact();
  }

  get size(): number {
    return this.streamEnds.length - this.start;
  }

  private compact(): void {
    this.streamEnds = this.streamEnds.slice(this.start);
    this.arrivedAt = this.arrivedAt.slice(this.start);
    this.start = 0;
  }
}
