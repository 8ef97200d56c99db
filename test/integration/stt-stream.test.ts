/**
 * SttStream against a Deepgram-protocol peer over real sockets (test/helpers/fake-deepgram.ts,
 * whose engine hears numbered frames): speech socket drops, a lagging engine and a stuck one.
 */
import WebSocket from 'ws';
import { createDeepgramConnector } from '../../core/audio/deepgram-connector';
import { type SttResult, SttStream } from '../../core/audio/stt-stream';
import { createLogger } from '../../core/logger';
import { type FakeDeepgram, FRAME_MS, numberedFrame, startFakeDeepgram } from '../helpers/fake-deepgram';
import { waitFor } from '../helpers/live';

const logger = createLogger('test');

describe('SttStream', () => {
  let fake: FakeDeepgram;
  const streams: SttStream[] = [];

  afterEach(async () => {
    for (const s of streams.splice(0)) s.abandon();
    await fake?.stop();
  });

  /** A stream whose finals release the ring, as the session's assembler does. */
  function open(opts: { closeTimeoutMs?: number; closeIdleMs?: number; reconnectDelayMs?: number } = {}) {
    const finals: SttResult[] = [];
    const stream: SttStream = new SttStream({
      connector: createDeepgramConnector({ apiKey: 'test-key', wsUrl: fake.wsUrl }),
      connect: { keyterms: [], language: 'en', tag: 'test' },
      logger,
      reconnectDelayMs: 20,
      onResult: (r) => {
        if (!r.isFinal) return;
        finals.push(r);
        stream.release(r.endMs);
      },
      ...opts,
    });
    streams.push(stream);
    return { stream, finals };
  }

  /** Every word of the finals as [frame number, stream ms where the engine heard it]. */
  const wordsOf = (finals: SttResult[]) =>
    finals.flatMap((r) => r.words.map((w) => [Number(w.word.slice(1)), w.startMs] as const));
  const expected = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => [from + i, (from + i - 1) * FRAME_MS] as const);

  it('sends the audio not yet final again after a speech socket drop, with times on its own clock, and loses or repeats no word', async () => {
    fake = await startFakeDeepgram({ finalEveryMs: 200 });
    const { stream, finals } = open();
    await stream.start();
    for (let n = 1; n <= 25; n++) stream.send(numberedFrame(n));
    // Frames 1-20 are final; 21-25 reached the engine but are not final when the socket drops.
    await waitFor('the first finals', () => wordsOf(finals).length >= 20);
    await waitFor('the engine to hear frame 25', () => fake.connections[0]?.heard.length === 25);
    fake.dropConnections();
    for (let n = 26; n <= 40; n++) stream.send(numberedFrame(n));
    await waitFor('a second speech socket', () => fake.connections.length === 2);
    await stream.close(10_000);
    expect(fake.connections[1]!.heard).toEqual(expected(21, 40).map(([n]) => n));
    expect(wordsOf(finals)).toEqual(expected(1, 40));
  });

  it('counts the audio given while the speech socket is down as its lag, and audio resent after a reconnect only once', async () => {
    fake = await startFakeDeepgram({ finalEveryMs: 200 });
    const { stream } = open();
    await stream.start();
    for (let n = 1; n <= 25; n++) stream.send(numberedFrame(n));
    await waitFor('the engine to hear frame 25', () => fake.connections[0]?.heard.length === 25);
    expect(stream.unsentMs).toBe(0);
    // A first drop: 21-25 (not final) are resent to the second socket.
    fake.dropConnections();
    await waitFor('a second speech socket', () => fake.connections[1]?.heard.length === 5);
    expect(stream.unsentMs).toBe(0);
    // A second drop, and the engine refuses new sockets until 10 frames have waited for one
    // (a reconnect may otherwise come before the drop is seen: how fast is the machine's business).
    fake.refuseNew = true;
    fake.dropConnections();
    await waitFor('the drop to be seen', () => !stream.connected);
    for (let n = 26; n <= 35; n++) stream.send(numberedFrame(n));
    expect(stream.unsentMs).toBe(10 * FRAME_MS);
    // Counting bytes written (the browser ingress's old measure) takes the resend for progress.
    const msOfBytes = stream.stats.bytesSent / 32;
    expect(stream.positionMs - msOfBytes).toBeLessThan(stream.unsentMs);
    fake.refuseNew = false;
    await waitFor('a third speech socket', () => fake.connections.length === 3 && stream.connected);
    expect(stream.unsentMs).toBe(0);
  });

  it('flushes the audio not yet final through a new socket when it closes while the speech socket is down', async () => {
    fake = await startFakeDeepgram({ finalEveryMs: 200 });
    // Reconnects wait a minute: only close() brings a socket up again.
    const { stream, finals } = open({ reconnectDelayMs: 60_000 });
    await stream.start();
    for (let n = 1; n <= 15; n++) stream.send(numberedFrame(n));
    await waitFor('the engine to hear frame 15', () => fake.connections[0]?.heard.length === 15);
    fake.dropConnections();
    await waitFor('the drop to be seen', () => stream.stats.bytesSent > 0 && !stream.connected);
    await stream.close(10_000);
    expect(fake.connections[1]?.heard).toEqual(expected(11, 15).map(([n]) => n));
    expect(wordsOf(finals)).toEqual(expected(1, 15));
  });

  it('sends the audio not yet final to a new socket when the speech socket drops during the final flush', async () => {
    fake = await startFakeDeepgram({ finalEveryMs: 200, dropFirstOnFinalize: true });
    const { stream, finals } = open();
    await stream.start();
    for (let n = 1; n <= 15; n++) stream.send(numberedFrame(n));
    await waitFor('the engine to hear frame 15', () => fake.connections[0]?.heard.length === 15);
    await stream.close(10_000);
    expect(fake.connections[1]?.heard).toEqual(expected(11, 15).map(([n]) => n));
    expect(wordsOf(finals)).toEqual(expected(1, 15));
  });

  it('waits for a lagging engine past the idle bound as long as its results keep coming', async () => {
    // One result every 300 ms; close() gives up only after 500 ms without any.
    fake = await startFakeDeepgram({ finalEveryMs: 20, resultDelayMs: 300 });
    const { stream, finals } = open({ closeTimeoutMs: 30_000, closeIdleMs: 500 });
    await stream.start();
    for (let n = 1; n <= 10; n++) stream.send(numberedFrame(n));
    await stream.close();
    expect(wordsOf(finals)).toEqual(expected(1, 10));
  });

  it('gives a stuck engine up after the idle bound, says so, and closes its socket', async () => {
    fake = await startFakeDeepgram({ finalEveryMs: 0, hangOnClose: true });
    const warn = jest.spyOn(logger, 'warn');
    // The overall bound is far beyond the test's own timeout: only the idle bound can end the wait.
    const { stream } = open({ closeTimeoutMs: 600_000, closeIdleMs: 300 });
    await stream.start();
    for (let n = 1; n <= 5; n++) stream.send(numberedFrame(n));
    await waitFor('the engine to hear frame 5', () => fake.connections[0]?.heard.length === 5);
    await stream.close();
    expect(fake.connections[0]!.closeStreamReceived).toBe(true);
    expect(warn).toHaveBeenCalledWith(
      'speech server did not finish its last results in time; giving them up',
      expect.objectContaining({ unfinalMs: 100 }),
    );
    await waitFor('the socket to close', () => fake.connections[0]!.socket.readyState === WebSocket.CLOSED);
    warn.mockRestore();
  });
});
