import { backoffDelay, retry, sleep } from '../../core/backoff';

class Transient extends Error {}
class Permanent extends Error {}

function failing(times: number, value = 'ok') {
  let calls = 0;
  const attempts: number[] = [];
  const fn = async (attempt: number) => {
    attempts.push(attempt);
    calls++;
    if (calls <= times) throw new Transient(`fail ${calls}`);
    return value;
  };
  return { fn, attempts };
}

describe('backoffDelay', () => {
  it('doubles from the base per attempt and stops at the cap without jitter', () => {
    const opts = { baseMs: 100, maxDelayMs: 1_000, jitter: 'none' as const };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, opts))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('keeps equal jitter between half and the whole of the exponential delay', () => {
    expect(backoffDelay(3, { baseMs: 100, random: () => 0 })).toBe(200);
    expect(backoffDelay(3, { baseMs: 100, random: () => 0.999999 })).toBe(399);
  });

  it('spreads full jitter from zero up to the exponential delay', () => {
    expect(backoffDelay(2, { baseMs: 100, jitter: 'full', random: () => 0 })).toBe(0);
    expect(backoffDelay(2, { baseMs: 100, jitter: 'full', random: () => 0.5 })).toBe(100);
  });
});

describe('retry', () => {
  it('returns the first success and numbers attempts from one', async () => {
    const { fn, attempts } = failing(2);
    await expect(retry(fn, { baseMs: 1 })).resolves.toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('rethrows the last error unchanged once maxAttempts is used up', async () => {
    const { fn, attempts } = failing(10);
    const error = await retry(fn, { maxAttempts: 3, baseMs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Transient);
    expect((error as Error).message).toBe('fail 3');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('stops at once on an error the predicate does not accept', async () => {
    let calls = 0;
    const fn = async () => {
      calls++;
      throw calls === 1 ? new Transient('first') : new Permanent('second');
    };
    const retryable = jest.fn((e: unknown) => e instanceof Transient);
    await expect(retry(fn, { baseMs: 1, retryable })).rejects.toBeInstanceOf(Permanent);
    expect(calls).toBe(2);
    expect(retryable).toHaveBeenCalledTimes(2);
  });

  it('gives up before a wait that would pass the deadline', async () => {
    let clock = 0;
    const { fn, attempts } = failing(10);
    const promise = retry(fn, {
      maxAttempts: 100,
      deadlineMs: 250,
      baseMs: 100,
      jitter: 'none',
      now: () => clock,
      onRetry: ({ delayMs }) => {
        clock += delayMs; // the injected clock advances by exactly the wait
      },
    });
    await expect(promise).rejects.toBeInstanceOf(Transient);
    // waits 100 (clock 100), 200 would end at 300 > 250: gives up after attempt 2.
    expect(attempts).toEqual([1, 2]);
  });

  it('uses the wait an error asks for instead of the computed one', async () => {
    const delays: number[] = [];
    const { fn } = failing(2);
    await retry(fn, { baseMs: 1_000, delayFor: () => 1, onRetry: ({ delayMs }) => delays.push(delayMs) });
    expect(delays).toEqual([1, 1]);
  });

  it('reports each retry with its error, attempt and wait', async () => {
    const seen: Array<{ attempt: number; message: string; delayMs: number }> = [];
    const { fn } = failing(2);
    await retry(fn, {
      baseMs: 2,
      jitter: 'none',
      onRetry: ({ error, attempt, delayMs }) =>
        seen.push({ attempt, message: (error as Error).message, delayMs }),
    });
    expect(seen).toEqual([
      { attempt: 1, message: 'fail 1', delayMs: 2 },
      { attempt: 2, message: 'fail 2', delayMs: 4 },
    ]);
  });

  it('aborts during a wait with the signal reason and makes no further attempt', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const { fn, attempts } = failing(10);
    const promise = retry(fn, {
      baseMs: 60_000,
      signal: controller.signal,
      onRetry: () => queueMicrotask(() => controller.abort(reason)),
    });
    await expect(promise).rejects.toBe(reason);
    expect(attempts).toEqual([1]);
  });

  it('does not call the function at all when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const fn = jest.fn(async () => 'never');
    await expect(retry(fn, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(fn).not.toHaveBeenCalled();
  });

  it('keeps retrying past the default five attempts when maxAttempts is Infinity', async () => {
    const { fn, attempts } = failing(12);
    await expect(retry(fn, { maxAttempts: Number.POSITIVE_INFINITY, baseMs: 0 })).resolves.toBe('ok');
    expect(attempts).toHaveLength(13);
  });

  it('ends unlimited retries only through the signal', async () => {
    const controller = new AbortController();
    const reason = new Error('stopped');
    let calls = 0;
    const fn = async () => {
      calls++;
      if (calls === 20) controller.abort(reason);
      throw new Transient('down');
    };
    const promise = retry(fn, {
      maxAttempts: Number.POSITIVE_INFINITY,
      baseMs: 0,
      signal: controller.signal,
    });
    await expect(promise).rejects.toBe(reason);
    expect(calls).toBe(20);
  });

  it('returns the success of an attempt that was running when the signal aborted', async () => {
    const controller = new AbortController();
    const fn = async () => {
      controller.abort(new Error('stopping'));
      return 'answered';
    };
    await expect(retry(fn, { signal: controller.signal })).resolves.toBe('answered');
  });

  it('waits through the injected sleep with the computed delay and the signal', async () => {
    const controller = new AbortController();
    const waits: Array<{ ms: number; signal?: AbortSignal }> = [];
    const { fn } = failing(2);
    await retry(fn, {
      baseMs: 100,
      jitter: 'none',
      signal: controller.signal,
      sleep: async (ms, signal) => {
        waits.push({ ms, signal });
      },
    });
    expect(waits).toEqual([
      { ms: 100, signal: controller.signal },
      { ms: 200, signal: controller.signal },
    ]);
  });

  it('rejects options that cannot describe a policy', async () => {
    const fn = async () => 'x';
    await expect(retry(fn, { maxAttempts: 0 })).rejects.toThrow('maxAttempts must be an integer >= 1');
    await expect(retry(fn, { maxAttempts: 2.5 })).rejects.toThrow('maxAttempts must be an integer >= 1');
    await expect(retry(fn, { maxAttempts: Number.NaN })).rejects.toThrow('or Infinity');
    await expect(retry(fn, { baseMs: -1 })).rejects.toThrow('baseMs must be a finite number >= 0');
    await expect(retry(fn, { deadlineMs: Number.NaN })).rejects.toThrow(
      'deadlineMs must be a finite number >= 0',
    );
  });
});

describe('sleep', () => {
  it('resolves after the wait and removes its abort listener', async () => {
    const controller = new AbortController();
    await sleep(1, controller.signal);
    controller.abort(); // must not reject anything after the fact
    await expect(sleep(0)).resolves.toBeUndefined();
  });
});
