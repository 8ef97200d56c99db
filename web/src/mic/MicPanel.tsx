/**
 * The microphone of a microphone meeting, on its meeting page (owner only; loaded on demand):
 * capture (capture.ts) → MicClient (core/audio/mic-client.ts, the chunk protocol) with every
 * chunk journaled in IndexedDB until the gateway has stored it. After a reload the journal's
 * backlog is sent at once and the panel offers to continue capturing (a browser starts audio only
 * after a click). Shows the stream's state, the audio not yet stored (bounded: 10 min; recording
 * stops past it) and a level meter.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  MicBufferFullError,
  MicClient,
  type MicClientStatus,
  type WebSocketLike,
} from '../../../core/audio/mic-client';
import { IndexedDbJournal } from '../../../core/audio/mic-journal';
import type { MeetingStatus } from '../../../core/meetings/model';
import { useApp } from '../app-context';
import { type MicCapture, requestMicrophone, startCapture } from './capture';
import { forgetStreamUrl, streamUrlOf, takeStream } from './pending';

/** Most audio kept in the browser before recording stops (MicClient's maxBufferedMs). */
export const MAX_BUFFERED_MS = 600_000;
/** The token is re-sent this often (the gateway closes a stream whose token expired). */
const TOKEN_RESEND_MS = 30_000;
/** How long Stop waits for the last audio to be stored before it stops the meeting anyway. */
const STOP_FLUSH_TIMEOUT_MS = 20_000;

export interface MicHandle {
  /** Before the meeting is stopped: stop capturing and wait (bounded) until the audio is stored. */
  beforeStop(): Promise<void>;
}

type Phase = 'loading' | 'idle' | 'interrupted' | 'starting' | 'recording' | 'stopped' | 'ended';

const ENDED: ReadonlySet<MeetingStatus> = new Set(['ended', 'failed', 'disconnecting']);

/** Tests watch every journaled chunk through this binding (only with the test hooks on). */
type Tap = (meetingId: string, seq: number, base64: string) => void;

export function MicPanel(props: {
  meetingId: string;
  /** From the meeting (the create response); else what this browser kept when it created it. */
  streamUrl: string | undefined;
  status: MeetingStatus | undefined;
  handle: { current: MicHandle | undefined };
}) {
  const { meetingId, status } = props;
  const streamUrl = props.streamUrl ?? streamUrlOf(meetingId);
  const { auth } = useApp();
  const [phase, setPhase] = useState<Phase>('loading');
  const [mic, setMic] = useState<MicClientStatus>();
  const [error, setError] = useState<string>();
  const [level, setLevel] = useState(0);
  const client = useRef<MicClient | undefined>(undefined);
  const capture = useRef<MicCapture | undefined>(undefined);
  const journal = useRef(new IndexedDbJournal());
  const ended = status !== undefined && ENDED.has(status);

  const ensureClient = async (): Promise<MicClient> => {
    if (client.current) return client.current;
    if (!streamUrl) throw new Error('This meeting records from the browser that started it');
    const tap = testTap();
    const created = new MicClient({
      streamUrl,
      meetingId,
      token: () => auth.accessToken(),
      journal: journal.current,
      // The browser's WebSocket is the API WebSocketLike describes (its handlers take Events).
      connect: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
      maxBufferedMs: MAX_BUFFERED_MS,
      onStatus: setMic,
      ...(tap ? { onChunk: (c) => tap(meetingId, c.seq, toBase64(c.pcm)) } : {}),
    });
    client.current = created;
    await created.start();
    return created;
  };

  const stopCapture = async () => {
    const running = capture.current;
    capture.current = undefined;
    setLevel(0);
    await running?.stop();
  };

  const record = async (given?: MediaStream) => {
    setError(undefined);
    setPhase('starting');
    let stream = given;
    try {
      stream ??= await requestMicrophone();
      const c = await ensureClient();
      capture.current = await startCapture(
        stream,
        (pcm) => {
          try {
            c.push(pcm).catch(onPushError);
          } catch (e) {
            onPushError(e);
          }
        },
        setLevel,
      );
      stream = undefined;
      setPhase('recording');
    } catch (e) {
      for (const track of stream?.getTracks() ?? []) track.stop();
      setError(e instanceof Error ? e.message : String(e));
      setPhase(client.current ? 'interrupted' : 'idle');
    }
  };

  const onPushError = (e: unknown) => {
    void stopCapture();
    setPhase('stopped');
    setError(
      e instanceof MicBufferFullError
        ? `${e.message}. The buffered audio is still sent when the connection allows.`
        : `Recording stopped: ${e instanceof Error ? e.message : String(e)}`,
    );
  };

  // Mount: a stream handed over by the record page starts at once; a journal left by a reload
  // is sent at once, and capturing continues on a click.
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const stream = takeStream(meetingId);
      if (stream) return record(stream);
      const saved = await journal.current.session(meetingId).catch(() => undefined);
      if (cancelled) return;
      if (saved) {
        setPhase('interrupted');
        await ensureClient().catch((e: unknown) => setError(String(e)));
      } else {
        setPhase('idle');
      }
    })();
    const renew = setInterval(
      () => void client.current?.renewToken().catch(() => undefined),
      TOKEN_RESEND_MS,
    );
    // Leaving the page: store what the gateway holds now (the journal keeps the rest).
    const onPageHide = () => void client.current?.flush().catch(() => undefined);
    addEventListener('pagehide', onPageHide);
    return () => {
      cancelled = true;
      clearInterval(renew);
      removeEventListener('pagehide', onPageHide);
      void stopCapture();
      client.current?.close();
      client.current = undefined;
      void journal.current.close();
    };
  }, [meetingId]);

  // The meeting ended: nothing more can be delivered; forget the stream.
  useEffect(() => {
    if (!ended) return;
    void (async () => {
      await stopCapture();
      client.current?.close();
      client.current = undefined;
      await journal.current.clear(meetingId).catch(() => undefined);
      forgetStreamUrl(meetingId);
      setPhase('ended');
    })();
  }, [ended, meetingId]);

  props.handle.current = {
    async beforeStop() {
      await stopCapture();
      const c = client.current;
      if (!c) return;
      setPhase('stopped');
      await Promise.race([
        c.flush().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, STOP_FLUSH_TIMEOUT_MS)),
      ]);
    },
  };

  const bufferedS = Math.round((mic?.bufferedMs ?? 0) / 1000);
  const capturing = phase === 'recording';
  return (
    <section class="panel mic-panel" aria-labelledby="mic-heading" data-testid="mic-panel">
      <h2 id="mic-heading">Microphone</h2>
      <p class={`mic-state mic-${mic?.state ?? 'idle'}`} role="status" data-testid="mic-state">
        {phase === 'ended'
          ? 'The meeting has ended.'
          : phase === 'loading'
            ? 'Loading…'
            : stateLabel(mic, capturing, status === 'paused')}
      </p>
      {capturing && <meter class="mic-level" min={0} max={1} value={level} aria-label="Microphone level" />}
      {phase !== 'ended' && phase !== 'loading' && (
        <div
          class="mic-buffer"
          data-testid="mic-buffered"
          data-buffered-ms={Math.round(mic?.bufferedMs ?? 0)}
        >
          <label for="mic-buffer-meter">
            Not yet stored on the server: {formatSeconds(bufferedS)} (of {MAX_BUFFERED_MS / 60_000} min this
            browser keeps)
          </label>
          <meter
            id="mic-buffer-meter"
            min={0}
            max={MAX_BUFFERED_MS}
            high={MAX_BUFFERED_MS * 0.5}
            optimum={0}
            value={mic?.bufferedMs ?? 0}
          />
        </div>
      )}
      {!streamUrl && !ended && <p class="hint">This meeting records from the browser that started it.</p>}
      {streamUrl && (phase === 'idle' || phase === 'interrupted' || phase === 'stopped') && !ended && (
        <>
          {phase === 'interrupted' && (
            <p class="hint">
              Recording was interrupted (the page was reloaded or closed). Audio saved in this browser is
              being sent; press Continue to capture again.
            </p>
          )}
          <button type="button" onClick={() => void record()}>
            {phase === 'idle' ? 'Start recording' : 'Continue recording'}
          </button>
        </>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}

function stateLabel(mic: MicClientStatus | undefined, capturing: boolean, paused: boolean): string {
  switch (mic?.state) {
    case undefined:
    case 'idle':
      return capturing ? 'Recording' : 'Not recording';
    case 'connecting':
      return 'Connecting…';
    case 'streaming':
      if (paused) return 'Paused: audio is not transcribed or stored';
      return capturing ? 'Recording' : 'Sending audio saved in this browser';
    case 'held':
      return `The server asked to wait (${
        mic.holdReason === 'speech' ? 'transcription is catching up' : 'storing audio is catching up'
      }): audio is kept in this browser and sent when it is ready`;
    case 'reconnecting':
      return 'Connection lost: reconnecting (audio is kept in this browser)';
    case 'ended':
      return 'The meeting has ended.';
    case 'failed':
      return `The stream was refused: ${mic.lastClose?.reason || mic.lastClose?.name || 'unknown reason'}`;
  }
}

function formatSeconds(s: number): string {
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function testTap(): Tap | undefined {
  if (sessionStorage.getItem('parleyTestHooks') !== '1') return undefined;
  const tap = (window as unknown as { parleyMicTap?: Tap }).parleyMicTap;
  return typeof tap === 'function' ? tap : undefined;
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
