/** Playback helpers for the recording player (pure: unit-tested in Node). */
import type { Line } from './meeting-store';

/** The seq of the last final that starts at or before `ms` (finals are in meeting-time order). */
export function lineAt(blocks: readonly (readonly Line[])[], ms: number): number | undefined {
  let found: number | undefined;
  let lo = 0;
  let hi = blocks.length - 1;
  // The last block whose first line starts at or before ms…
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const first = blocks[mid]?.[0];
    if (first && first.startMs <= ms) lo = mid + 1;
    else hi = mid - 1;
  }
  const block = blocks[hi];
  if (!block) return undefined;
  // …then the last line in it that does.
  for (const line of block) {
    if (line.startMs <= ms) found = line.seq;
    else break;
  }
  return found;
}
