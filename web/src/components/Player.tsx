/**
 * The meeting's recording beside its transcript (`GET /meetings/{id}/recording`, a short-lived
 * presigned URL; its time is meeting time). Clicking a transcript line seeks to the line's start
 * and plays; while it plays, the line being spoken (the last final that started at or before the
 * playback position) is highlighted and kept in view. The highlight is set on the line's element
 * directly, so playback re-renders no transcript block.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { MeetingStatus } from '../../../core/meetings/model';
import { ApiError, type RecordingView } from '../api';
import { useApp } from '../app-context';
import type { Line } from '../meeting-store';
import { lineAt } from '../playback';
import { revealLine } from './Transcript';

const TERMINAL: ReadonlySet<MeetingStatus> = new Set(['ended', 'failed']);
/** After the meeting ends, the recording is assembled: look for it this often, this many times. */
const POLL_MS = 3_000;
const POLL_TRIES = 40;

export interface PlayerHandle {
  /** Seek to `ms` of meeting time and play; false when there is no recording to play. */
  seek(ms: number): boolean;
}

type State =
  | { kind: 'waiting' }
  | { kind: 'loading' }
  | { kind: 'ready'; recording: RecordingView }
  | { kind: 'none'; message: string };

export function Player(props: {
  meetingId: string;
  status: MeetingStatus | undefined;
  /** The transcript's blocks now (read when the position changes: no re-render per line). */
  getBlocks: () => readonly (readonly Line[])[];
  handle: { current: PlayerHandle | undefined };
  /** Whether there is a recording to seek in (the transcript's lines become clickable). */
  onAvailable?: (available: boolean) => void;
}) {
  const { meetingId, status } = props;
  const { api } = useApp();
  const [state, setState] = useState<State>({ kind: 'waiting' });
  const audio = useRef<HTMLAudioElement>(null);
  const speaking = useRef<number | undefined>(undefined);
  const over = status !== undefined && TERMINAL.has(status);
  const { onAvailable } = props;
  useEffect(() => onAvailable?.(state.kind === 'ready'), [onAvailable, state.kind]);

  useEffect(() => {
    if (!over) {
      setState({ kind: 'waiting' });
      return;
    }
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const attempt = (tries: number) => {
      api.recording(meetingId).then(
        (recording) => {
          if (!cancelled) setState({ kind: 'ready', recording });
        },
        (e: unknown) => {
          if (cancelled) return;
          // Just ended: the gateway is still assembling the file.
          const pending = e instanceof ApiError && (e.status === 404 || e.status === 409);
          if (pending && tries < POLL_TRIES) {
            timer = setTimeout(() => attempt(tries + 1), POLL_MS);
            return;
          }
          setState({
            kind: 'none',
            message: pending
              ? 'This meeting has no recording.'
              : `The recording could not be loaded: ${e instanceof Error ? e.message : String(e)}`,
          });
        },
      );
    };
    setState({ kind: 'loading' });
    attempt(0);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [api, meetingId, over]);

  // The presigned URL expired (or the network failed): fetch a fresh one, keep the position.
  const onError = () => {
    const el = audio.current;
    if (!el || state.kind !== 'ready') return;
    const at = el.currentTime;
    const wasPlaying = !el.paused;
    api.recording(meetingId).then(
      (recording) => {
        if (recording.url === state.recording.url) return;
        setState({ kind: 'ready', recording });
        el.addEventListener(
          'loadedmetadata',
          () => {
            el.currentTime = at;
            if (wasPlaying) void el.play().catch(() => undefined);
          },
          { once: true },
        );
      },
      () => undefined,
    );
  };

  const highlight = () => {
    const el = audio.current;
    if (!el) return;
    const seq = lineAt(props.getBlocks(), el.currentTime * 1000);
    if (seq === speaking.current) return;
    if (speaking.current !== undefined) {
      const old = document.getElementById(`line-${speaking.current}`);
      old?.classList.remove('speaking');
      old?.removeAttribute('aria-current');
    }
    speaking.current = seq;
    if (seq === undefined) return;
    // Its block may be out of view (the transcript is windowed): rendered, and kept while it plays.
    void revealLine(seq, 'playing').then((line) => {
      if (!line || speaking.current !== seq) return;
      line.classList.add('speaking');
      line.setAttribute('aria-current', 'true');
      if (!el.paused) line.scrollIntoView({ block: 'nearest' });
    });
  };

  props.handle.current =
    state.kind === 'ready'
      ? {
          seek(ms: number) {
            const el = audio.current;
            if (!el) return false;
            const go = () => {
              el.currentTime = ms / 1000;
              highlight();
              void el.play().catch(() => undefined);
            };
            if (el.readyState >= HTMLMediaElement.HAVE_METADATA) go();
            else {
              el.addEventListener('loadedmetadata', go, { once: true });
              el.load();
            }
            return true;
          },
        }
      : undefined;

  return (
    <section class="panel player" aria-labelledby="player-heading" data-testid="player">
      <h2 id="player-heading">Recording</h2>
      {state.kind === 'ready' ? (
        <>
          {/* biome-ignore lint/a11y/useMediaCaption: the transcript beside it is the caption */}
          <audio
            ref={audio}
            controls
            preload="metadata"
            src={state.recording.url}
            onTimeUpdate={highlight}
            onSeeked={highlight}
            onError={onError}
          />
          <p class="hint">Click a line of the transcript to play from there.</p>
        </>
      ) : (
        <p class="hint" role="status">
          {state.kind === 'waiting'
            ? 'The recording can be played here when the meeting ends.'
            : state.kind === 'loading'
              ? 'Preparing the recording…'
              : state.message}
        </p>
      )}
    </section>
  );
}
