import { memo } from 'preact/compat';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { highlight, meetingTime, speakerColour } from '../format';
import type { Line, MeetingSnapshot } from '../meeting-store';

/** Within this many pixels of the bottom counts as "at the live edge". */
const STICK_THRESHOLD_PX = 48;

/**
 * `onSeek`: when set (the meeting has a recording), clicking a final line — or Enter on a focused
 * one — seeks the player to the line's start. One delegated listener: lines never re-render for it.
 */
export function Transcript({
  snapshot,
  onSeek,
}: {
  snapshot: MeetingSnapshot;
  onSeek?: ((startMs: number) => void) | undefined;
}) {
  const scroller = useRef<HTMLElement>(null);
  const [following, setFollowing] = useState(true);
  const followingRef = useRef(true);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_THRESHOLD_PX;
    if (atBottom !== followingRef.current) {
      followingRef.current = atBottom;
      setFollowing(atBottom);
    }
  };

  // After every render with new lines: keep the live edge in view unless the user scrolled up.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && followingRef.current) el.scrollTop = el.scrollHeight;
  }, [snapshot.version]);

  const jumpToLive = () => {
    const el = scroller.current;
    if (!el) return;
    followingRef.current = true;
    setFollowing(true);
    el.scrollTop = el.scrollHeight;
  };

  const seekFrom = (target: EventTarget | null) => {
    const li = (target as Element | null)?.closest?.('li.line:not(.interim)') as HTMLElement | null;
    if (!onSeek || !li) return;
    const startMs = Number(li.dataset.startMs);
    if (Number.isFinite(startMs)) onSeek(startMs);
  };
  const onLinesClick = (event: MouseEvent) => {
    // Selecting text is not a seek.
    if (!getSelection()?.isCollapsed) return;
    if ((event.target as Element | null)?.closest?.('a, button')) return;
    seekFrom(event.target);
  };
  const onLinesKey = (event: KeyboardEvent) => {
    if (event.key === 'Enter') seekFrom(event.target);
  };

  const empty = snapshot.finalCount === 0 && snapshot.interims.length === 0;
  return (
    <section class="transcript-panel" aria-labelledby="transcript-heading">
      <h2 id="transcript-heading">
        Transcript{' '}
        <span class="count">
          ({snapshot.finalCount} {snapshot.finalCount === 1 ? 'line' : 'lines'})
        </span>
      </h2>
      <section
        class={`transcript${onSeek ? ' can-seek' : ''}`}
        ref={scroller}
        onScroll={onScroll}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        tabIndex={0}
        aria-label="Transcript lines"
      >
        {empty && <p class="placeholder">Waiting for the first words…</p>}
        <ol class="lines" onClick={onLinesClick} onKeyDown={onLinesKey}>
          {snapshot.blocks.map((block) => (
            <TranscriptBlock key={block[0]?.seq} lines={block} />
          ))}
          {snapshot.interims.map((line) => (
            <TranscriptLine key={`i${line.seq}`} line={line} />
          ))}
        </ol>
      </section>
      {!following && (
        <button type="button" class="jump-to-live" onClick={jumpToLive}>
          Jump to live
        </button>
      )}
      <LiveAnnouncer line={snapshot.latest} />
    </section>
  );
}

/** A full block never changes, so it never re-renders: the cost of a new line stays flat. */
const TranscriptBlock = memo(
  function TranscriptBlock({ lines }: { lines: readonly Line[] }) {
    return (
      <>
        {lines.map((line) => (
          <TranscriptLine key={line.seq} line={line} />
        ))}
      </>
    );
  },
  (prev, next) => prev.lines === next.lines,
);

const TranscriptLine = memo(function TranscriptLine({ line }: { line: Line }) {
  return (
    <li
      id={line.final ? `line-${line.seq}` : undefined}
      class={`line${line.final ? '' : ' interim'}${line.keywords.length ? ' has-alert' : ''}`}
      data-seq={line.seq}
      data-start-ms={line.startMs}
      tabIndex={line.final ? -1 : undefined}
    >
      <time class="at">{meetingTime(line.startMs)}</time>{' '}
      <span class={`speaker speaker-${speakerColour(line.speaker)}`}>{line.speaker}</span>{' '}
      <span class="text">
        {highlight(line.text, line.keywords).map((part, i) =>
          part.hit ? <mark key={i}>{part.text}</mark> : part.text,
        )}
      </span>
      {!line.final && <span class="visually-hidden"> (still speaking)</span>}
    </li>
  );
});

/** Screen readers hear each new final once (not the whole list, not interims). */
function LiveAnnouncer({ line }: { line: Line | undefined }) {
  const [text, setText] = useState('');
  useEffect(() => {
    if (line) setText(`${line.speaker}: ${line.text}`);
  }, [line]);
  return (
    <div class="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="live-region">
      {text}
    </div>
  );
}

/** Scrolls a final into view, focuses it and flashes it (alerts, citations). */
export function scrollToLine(seq: number): boolean {
  const el = document.getElementById(`line-${seq}`);
  if (!el) return false;
  el.scrollIntoView({ block: 'center', behavior: 'auto' });
  el.focus({ preventScroll: true });
  el.classList.remove('flash');
  void el.offsetWidth;
  el.classList.add('flash');
  return true;
}
