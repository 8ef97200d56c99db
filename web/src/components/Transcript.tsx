import { memo } from 'preact/compat';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { highlight, meetingTime, speakerColour } from '../format';
import type { Line, MeetingSnapshot, MeetingStore } from '../meeting-store';
import { blockOf, type Extent, shownBlocks } from '../transcript-window';
import { useMeeting } from '../use-store';

/** Within this many pixels of the bottom counts as "at the live edge". */
const STICK_THRESHOLD_PX = 48;
/** A line's height before any was measured (2.6em of the 16px root font, rounded up). */
const DEFAULT_LINE_PX = 42;

/**
 * Why a block stays rendered while out of view: the line a reader jumped to (an alert, a
 * citation) keeps its focus, and the line being played keeps its highlight.
 */
export type PinReason = 'focus' | 'playing';

type Reveal = (seq: number, reason: PinReason) => Promise<HTMLElement | null>;
/** The mounted transcript's reveal function (one meeting page at a time). */
let reveal: Reveal | undefined;

/** The transcript of a meeting's store: re-renders (at most once a frame) as lines arrive. */
export function MeetingTranscript({
  store,
  onSeek,
}: {
  store: MeetingStore;
  onSeek?: ((startMs: number) => void) | undefined;
}) {
  return <Transcript snapshot={useMeeting(store)} onSeek={onSeek} />;
}

/**
 * `onSeek`: when set (the meeting has a recording), clicking a final line — or Enter on a focused
 * one — seeks the player to the line's start. One delegated listener: lines never re-render for it.
 *
 * Windowed by block: a full block (BLOCK_SIZE finals, never changes) is rendered only while it
 * is within a screen of the visible part, or pinned; otherwise one empty item of its measured
 * height stands in for it. The newest block is always rendered. So the DOM — and the browser's
 * style, layout and paint work per new line — stays the size of a few blocks, however long the
 * meeting.
 */
export function Transcript({
  snapshot,
  onSeek,
}: {
  snapshot: MeetingSnapshot;
  onSeek?: ((startMs: number) => void) | undefined;
}) {
  const scroller = useRef<HTMLElement>(null);
  const list = useRef<HTMLOListElement>(null);
  const [following, setFollowing] = useState(true);
  const followingRef = useRef(true);
  /** Blocks rendered because they are near the visible part; undefined (not yet known): the last two. */
  const [range, setRange] = useState<Extent | undefined>(undefined);
  const [pins, setPins] = useState<ReadonlyMap<PinReason, number>>(new Map());
  /** Measured heights of full blocks, by their first seq. */
  const heights = useRef(new Map<number, number>());
  const lineHeight = useRef(DEFAULT_LINE_PX);
  const waiting = useRef<{ seq: number; resolve: (el: HTMLElement | null) => void }[]>([]);
  const blocksRef = useRef(snapshot.blocks);
  blocksRef.current = snapshot.blocks;

  const { blocks } = snapshot;
  const isShown = (index: number) => {
    if (index >= blocks.length - 1) return true; // the newest block
    const first = blocks[index]?.[0]?.seq;
    for (const pinned of pins.values()) if (pinned === first) return true;
    if (range === undefined) return index === blocks.length - 2;
    return index >= range.from && index <= range.to;
  };

  const heightOf = (block: readonly Line[]) =>
    heights.current.get(block[0]?.seq ?? -1) ?? block.length * lineHeight.current;

  /** Measures the rendered blocks (their first and last lines) into `heights`. */
  const measure = useCallback(() => {
    const all = blocksRef.current;
    for (let i = 0; i < all.length; i++) {
      const block = all[i] as readonly Line[];
      const first = document.getElementById(`line-${block[0]?.seq}`);
      const last = document.getElementById(`line-${block.at(-1)?.seq}`);
      if (!first || !last) continue;
      const height = last.offsetTop + last.offsetHeight - first.offsetTop;
      if (height > 0) {
        heights.current.set(block[0]?.seq ?? -1, height);
        lineHeight.current = height / block.length;
      }
    }
  }, []);

  /** Which full blocks are within a screen of the visible part, from the scroll position. */
  const updateRange = useCallback(() => {
    const el = scroller.current;
    const ol = list.current;
    if (!el || !ol) return;
    measure();
    const all = blocksRef.current;
    const listTop = ol.getBoundingClientRect().top - el.getBoundingClientRect().top + el.scrollTop;
    // The newest block counts too: when it fills up and the next one starts, it stays rendered
    // until the next update says it is out of view (not torn down and rebuilt meanwhile).
    const next = shownBlocks(
      all.map((block) => heights.current.get(block[0]?.seq ?? -1) ?? block.length * lineHeight.current),
      { from: el.scrollTop - listTop - el.clientHeight, to: el.scrollTop - listTop + 2 * el.clientHeight },
    );
    setRange((prev) => (prev && prev.from === next.from && prev.to === next.to ? prev : next));
  }, [measure]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_THRESHOLD_PX;
    if (atBottom !== followingRef.current) {
      followingRef.current = atBottom;
      setFollowing(atBottom);
    }
    updateRange();
  };

  // After every render with new lines: keep the live edge in view unless the user scrolled up.
  // Reading scrollHeight lays the page out; done in a microtask, it runs once the other parts
  // re-rendered in this frame (alerts, latency) have changed the DOM too, so the frame is laid
  // out once, here, and not again before it paints.
  const scrollPending = useRef(false);
  useLayoutEffect(() => {
    if (!followingRef.current || scrollPending.current) return;
    scrollPending.current = true;
    queueMicrotask(() => {
      scrollPending.current = false;
      const el = scroller.current;
      if (el && followingRef.current) el.scrollTop = el.scrollHeight;
    });
  }, [snapshot.version]);

  // A block filled up (or the meeting was replayed): what is near the view may have changed.
  useLayoutEffect(() => {
    updateRange();
  }, [blocks.length, updateRange]);

  // Lines asked for by `revealLine` are rendered now.
  useLayoutEffect(() => {
    if (waiting.current.length === 0) return;
    const done = waiting.current;
    waiting.current = [];
    for (const { seq, resolve } of done) resolve(document.getElementById(`line-${seq}`));
  });

  // The panel's width changes line wrapping: heights measured before are stale.
  useEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    let width = el.clientWidth;
    const observer = new ResizeObserver(() => {
      if (el.clientWidth === width) return updateRange();
      width = el.clientWidth;
      heights.current.clear();
      updateRange();
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [updateRange]);

  useEffect(() => {
    const mine: Reveal = (seq, reason) => {
      const index = blockOf(blocksRef.current, seq);
      const first = index === undefined ? undefined : blocksRef.current[index]?.[0]?.seq;
      if (first === undefined) return Promise.resolve(null);
      return new Promise((resolve) => {
        const el = document.getElementById(`line-${seq}`);
        setPins((prev) => {
          if (prev.get(reason) === first) return prev;
          const next = new Map(prev);
          next.set(reason, first);
          return next;
        });
        if (el) resolve(el);
        else waiting.current.push({ seq, resolve });
      });
    };
    reveal = mine;
    return () => {
      if (reveal === mine) reveal = undefined;
      for (const { resolve } of waiting.current) resolve(null);
      waiting.current = [];
    };
  }, []);

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
        class={`transcript windowed${onSeek ? ' can-seek' : ''}`}
        ref={scroller}
        onScroll={onScroll}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        tabIndex={0}
        aria-label="Transcript lines"
      >
        {empty && <p class="placeholder">Waiting for the first words…</p>}
        <ol class="lines windowed" ref={list} onClick={onLinesClick} onKeyDown={onLinesKey}>
          {blocks.map((block, index) =>
            isShown(index) ? (
              <TranscriptBlock key={block[0]?.seq} lines={block} />
            ) : (
              <BlockSpacer key={block[0]?.seq} height={heightOf(block)} />
            ),
          )}
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

/** Stands in for a block out of view: its height, nothing to lay out or paint inside. */
const BlockSpacer = memo(function BlockSpacer({ height }: { height: number }) {
  return <li class="block-spacer" aria-hidden="true" style={{ height: `${height}px` }} />;
});

/** Lines a block renders as one memoised part: a new line re-renders its part only. */
const CHUNK = 10;

/**
 * A full block never changes, so it never re-renders: the cost of a new line stays flat. The
 * newest block does, with each line: it is rendered in parts of CHUNK lines, and a part whose
 * lines are the same objects as before is not rendered again, so a new line costs one part.
 */
const TranscriptBlock = memo(
  function TranscriptBlock({ lines }: { lines: readonly Line[] }) {
    const parts = [];
    for (let from = 0; from < lines.length; from += CHUNK) {
      parts.push(
        <LineChunk
          key={lines[from]?.seq}
          lines={lines}
          from={from}
          to={Math.min(lines.length, from + CHUNK)}
        />,
      );
    }
    return <>{parts}</>;
  },
  (prev, next) => prev.lines === next.lines,
);

const LineChunk = memo(
  function LineChunk({ lines, from, to }: { lines: readonly Line[]; from: number; to: number }) {
    const shown = [];
    for (let i = from; i < to; i++) {
      const line = lines[i] as Line;
      shown.push(<TranscriptLine key={line.seq} line={line} />);
    }
    return <>{shown}</>;
  },
  (prev, next) => {
    if (prev.from !== next.from || prev.to !== next.to) return false;
    if (prev.lines === next.lines) return true;
    for (let i = prev.from; i < prev.to; i++) if (prev.lines[i] !== next.lines[i]) return false;
    return true;
  },
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

/**
 * Screen readers hear each new final once (not the whole list, not interims): the region holds
 * only the newest line, written in the same render that adds it (no second render a frame later).
 */
const LiveAnnouncer = memo(function LiveAnnouncer({ line }: { line: Line | undefined }) {
  return (
    <div class="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="live-region">
      {line ? `${line.speaker}: ${line.text}` : ''}
    </div>
  );
});

/**
 * The element of final `seq`, rendered (and kept rendered, for `reason`) if its block was out
 * of view; null when the transcript does not hold that line.
 */
export function revealLine(seq: number, reason: PinReason): Promise<HTMLElement | null> {
  return reveal ? reveal(seq, reason) : Promise.resolve(document.getElementById(`line-${seq}`));
}

/** Scrolls a final into view, focuses it and flashes it (alerts, citations). */
export async function scrollToLine(seq: number): Promise<boolean> {
  const el = await revealLine(seq, 'focus');
  if (!el) return false;
  el.scrollIntoView({ block: 'center', behavior: 'auto' });
  el.focus({ preventScroll: true });
  el.classList.remove('flash');
  void el.offsetWidth;
  el.classList.add('flash');
  return true;
}
