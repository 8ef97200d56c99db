/** Windowing the transcript by block (pure: unit-tested in Node). */
import type { Line } from './meeting-store';

/** Block indices `from`..`to`, inclusive (empty when `to < from`). */
export interface Extent {
  from: number;
  to: number;
}

/**
 * The blocks, stacked with these heights from 0, that overlap `view` (pixels from the top of
 * the first block; `view.from` may be negative). O(blocks): a 2-hour meeting has about 30.
 */
export function shownBlocks(heights: readonly number[], view: { from: number; to: number }): Extent {
  let from = -1;
  let to = -2;
  let top = 0;
  for (let i = 0; i < heights.length; i++) {
    const bottom = top + (heights[i] ?? 0);
    if (bottom > view.from && top < view.to) {
      if (from < 0) from = i;
      to = i;
    }
    top = bottom;
  }
  return from < 0 ? { from: 0, to: -1 } : { from, to };
}

/** The index of the block holding final `seq` (blocks in seq order), or undefined. */
export function blockOf(blocks: readonly (readonly Line[])[], seq: number): number | undefined {
  let lo = 0;
  let hi = blocks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const first = blocks[mid]?.[0];
    if (first && first.seq <= seq) lo = mid + 1;
    else hi = mid - 1;
  }
  const block = blocks[hi];
  return block?.some((line) => line.seq === seq) ? hi : undefined;
}
