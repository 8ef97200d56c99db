/**
 * When each stretch of the speech stream reached the gateway: the wall-clock end of a
 * segment's audio ("audio end" in a transcript event's timing, docs/protocol.md "Latency").
 *
 * One mark per forwarded frame (stream ms at the frame's end → epoch ms it arrived), kept until
 * a final covers it, and never more than MAX_MARKS (about 15 minutes of 20 ms frames; older
 * marks are dropped first, so a stalled engine cannot grow it).
 *
 * Storage: two circular Float64Arrays that double when full (up to MAX_MARKS). Marking a frame
 * allocates nothing, and a session holds room for about the marks between two finals (a few
 * hundred: 4 KB at the start size), not the stale marks a plain array keeps until it compacts:
 * measured in docs/benchmarks.md ("Audio gateway", issue #15.1 third pass).
 */
const MAX_MARKS = 45_000;
const INITIAL_CAPACITY = 256;

export class AudioArrivals {
  private streamEnds = new Float64Array(INITIAL_CAPACITY);
  private arrivedAt = new Float64Array(INITIAL_CAPACITY);
  /** Index of the oldest mark. */
  private head = 0;
  private count = 0;

  /** The frame that ends at stream ms `streamEndMs` arrived at `at` (epoch ms). */
  mark(streamEndMs: number, at: number = Date.now()): void {
    if (this.count === this.streamEnds.length) {
      if (this.count < MAX_MARKS) this.grow();
      else {
        this.head = (this.head + 1) % this.streamEnds.length;
        this.count--;
      }
    }
    const i = (this.head + this.count) % this.streamEnds.length;
    this.streamEnds[i] = streamEndMs;
    this.arrivedAt[i] = at;
    this.count++;
  }

  /**
   * When the audio up to `streamMs` had arrived: the arrival of the first frame that ends at or
   * after it. Undefined when no such frame is known (not yet arrived, or already pruned).
   */
  arrivalOf(streamMs: number): number | undefined {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.endAt(mid) < streamMs) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.count ? this.arrivedAt[(this.head + lo) % this.arrivedAt.length] : undefined;
  }

  /** Forgets the marks of audio that ends before `streamMs` (a final covered it). */
  prune(streamMs: number): void {
    while (this.count > 0 && this.endAt(0) < streamMs) {
      this.head = (this.head + 1) % this.streamEnds.length;
      this.count--;
    }
  }

  get size(): number {
    return this.count;
  }

  /** Stream end of the `k`-th oldest mark. */
  private endAt(k: number): number {
    return this.streamEnds[(this.head + k) % this.streamEnds.length] as number;
  }

  private grow(): void {
    const capacity = Math.min(this.streamEnds.length * 2, MAX_MARKS);
    const ends = new Float64Array(capacity);
    const arrived = new Float64Array(capacity);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % this.streamEnds.length;
      ends[k] = this.streamEnds[i] as number;
      arrived[k] = this.arrivedAt[i] as number;
    }
    this.streamEnds = ends;
    this.arrivedAt = arrived;
    this.head = 0;
  }
}
