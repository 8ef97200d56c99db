import { runStop } from '../../local/stack';

describe("the local stack's named stops", () => {
  it('names a stop still pending at each interval, and a failed one, without throwing', async () => {
    const warn = jest.fn();
    const error = jest.fn();
    let finish: () => void = () => undefined;
    const pending = runStop(
      'audio gateway',
      () => new Promise<void>((resolve) => (finish = resolve)),
      { warn, error },
      20,
    );
    // Wait for two warnings (no fixed sleep): one per interval while the stop is pending.
    while (warn.mock.calls.length < 2) await new Promise((r) => setTimeout(r, 10));
    finish();
    await pending;
    const calls = warn.mock.calls.length;
    expect(warn).toHaveBeenCalledWith(
      'stop still pending',
      expect.objectContaining({ stop: 'audio gateway' }),
    );
    await runStop('fan-out', async () => Promise.reject(new Error('boom')), { warn, error });
    expect(warn).toHaveBeenLastCalledWith('stop failed', { stop: 'fan-out', error: 'Error: boom' });
    expect(warn.mock.calls.length).toBe(calls + 1);
  });
});
