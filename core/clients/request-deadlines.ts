/**
 * Deadlines for many concurrent HTTP requests with one timer: a fan-out's thousand posts would
 * otherwise each arm and disarm their socket's own timer (`req.setTimeout`), which costs more
 * CPU per post than signing it (docs/benchmarks.md "Fan-out"). A request still open when its
 * deadline has passed is handed to `expire` at the next check: a request times out between
 * `timeoutMs` and `timeoutMs × 1.2` after it started.
 */
export class RequestDeadlines<R extends object> {
  /** Open requests and their deadlines, in the order they started (so in deadline order). */
  private readonly open = new Map<R, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly expire: (request: R) => void,
    private readonly now: () => number = Date.now,
  ) {}

  start(request: R): void {
    this.open.set(request, this.now() + this.timeoutMs);
    if (!this.timer) {
      this.timer = setInterval(() => this.check(), Math.max(1, this.timeoutMs / 5));
      this.timer.unref();
    }
  }

  /** The request answered, failed or was abandoned; safe to call more than once. */
  end(request: R): void {
    this.open.delete(request);
    if (this.open.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.open.size;
  }

  /** Expires every request past its deadline (also called by the timer). */
  check(): void {
    const now = this.now();
    for (const [request, deadline] of this.open) {
      if (deadline > now) break;
      this.end(request);
      this.expire(request);
    }
  }
}
