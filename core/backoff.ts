/**
 * The one retry helper: exponential backoff with jitter, bounded by a number of attempts and/or
 * a deadline, cancellable through an AbortSignal, retrying only the errors a predicate accepts.
 *
 * - `attempt` counts from 1 (the first call is attempt 1).
 * - The wait before attempt n+1 is `min(maxDelayMs, baseMs * 2^(n-1))`, jittered (see `jitter`),
 *   unless `delayFor(error)` names one (e.g. a server's Retry-After).
 * - When attempts run out, the deadline would pass during the wait, or the predicate refuses the
 *   error, the LAST error is rethrown unchanged (callers keep their typed errors).
 * - An abort stops at once (also during a wait) and throws `signal.reason`; an attempt already
 *   running is not interrupted by it (pass the signal to the attempt's own I/O for that), and its
 *   success is returned.
 * - `maxAttempts: Infinity` retries until the call succeeds, the predicate refuses, the deadline
 *   passes or the signal aborts (pollers that must keep going).
 */

export type Jitter = 'full' | 'equal' | 'none';

export interface BackoffOptions {
  /** Total attempts including the first (`Infinity`: no limit). Default 5. */
  maxAttempts?: number;
  /** Budget in ms from the first attempt; no wait may end after it. Default: none. */
  deadlineMs?: number;
  /** First wait. Default 50 ms. */
  baseMs?: number;
  /** Cap of one wait. Default 2 s. */
  maxDelayMs?: number;
  /** `equal` (default): half fixed, half random; `full`: 0..delay; `none`: exact. */
  jitter?: Jitter;
  signal?: AbortSignal;
  /** Which errors are worth another attempt. Default: every error. */
  retryable?: (error: unknown, attempt: number) => boolean;
  /** A wait the error itself asks for (ms), overriding the computed one. */
  delayFor?: (error: unknown) => number | undefined;
  /** Called before each wait (for logging). */
  onRetry?: (info: { error: unknown; attempt: number; delayMs: number }) => void;
  /** For tests: the random source (0 ≤ x < 1), the clock and the wait. */
  random?: () => number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const DEFAULTS = { maxAttempts: 5, baseMs: 50, maxDelayMs: 2_000, jitter: 'equal' as Jitter };

/** The wait after failed attempt `attempt` (1-based). Exported for tests and callers that loop themselves. */
export function backoffDelay(
  attempt: number,
  opts: Pick<BackoffOptions, 'baseMs' | 'maxDelayMs' | 'jitter' | 'random'> = {},
): number {
  const base = opts.baseMs ?? DEFAULTS.baseMs;
  const cap = opts.maxDelayMs ?? DEFAULTS.maxDelayMs;
  const exponential = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  const random = opts.random ?? Math.random;
  switch (opts.jitter ?? DEFAULTS.jitter) {
    case 'none':
      return exponential;
    case 'full':
      return Math.floor(exponential * random());
    default:
      return Math.floor(exponential / 2 + (exponential / 2) * random());
  }
}

function validate(opts: BackoffOptions): void {
  const { maxAttempts, deadlineMs, baseMs, maxDelayMs } = opts;
  const unlimited = maxAttempts === Number.POSITIVE_INFINITY;
  if (maxAttempts !== undefined && !unlimited && (!Number.isInteger(maxAttempts) || maxAttempts < 1)) {
    throw new TypeError('maxAttempts must be an integer >= 1 or Infinity');
  }
  for (const [name, value] of Object.entries({ deadlineMs, baseMs, maxDelayMs })) {
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new TypeError(`${name} must be a finite number >= 0`);
    }
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/** Sleeps `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` until it resolves or the policy gives up; see the module comment. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: BackoffOptions = {}): Promise<T> {
  validate(opts);
  const maxAttempts = opts.maxAttempts ?? DEFAULTS.maxAttempts;
  const now = opts.now ?? Date.now;
  const deadline = opts.deadlineMs === undefined ? Number.POSITIVE_INFINITY : now() + opts.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    try {
      return await fn(attempt);
    } catch (error) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      if (attempt >= maxAttempts) throw error;
      if (opts.retryable && !opts.retryable(error, attempt)) throw error;
      const delayMs = Math.max(0, opts.delayFor?.(error) ?? backoffDelay(attempt, opts));
      if (now() + delayMs > deadline) throw error;
      opts.onRetry?.({ error, attempt, delayMs });
      await (opts.sleep ?? sleep)(delayMs, opts.signal);
    }
  }
}
