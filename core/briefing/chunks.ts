/**
 * Transcript lines as a model reads them, and splitting them into pieces that fit a
 * character budget (characters ≈ tokens × 4).
 */
import { clock, type TranscriptLine } from './model';

/** `[#12 1:23] Alice: text` — the seq lets the model cite lines. */
export function formatLine(line: TranscriptLine): string {
  return `[#${line.seq} ${clock(line.startMs)}] ${line.speaker}: ${line.text.replace(/\s+/g, ' ').trim()}`;
}

/**
 * Consecutive lines grouped so each group's formatted text (one line per line) is at most
 * `budget` characters. A single line longer than the budget is cut to fit.
 */
export function chunkLines(lines: readonly TranscriptLine[], budget: number): TranscriptLine[][] {
  const chunks: TranscriptLine[][] = [];
  let current: TranscriptLine[] = [];
  let size = 0;
  for (const original of lines) {
    let line = original;
    let length = formatLine(line).length + 1;
    if (length > budget) {
      const overhead = length - line.text.length;
      line = { ...line, text: line.text.slice(0, Math.max(1, budget - overhead - 1)) };
      length = formatLine(line).length + 1;
    }
    if (current.length > 0 && size + length > budget) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(line);
    size += length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export function transcriptText(lines: readonly TranscriptLine[]): string {
  return lines.map(formatLine).join('\n');
}

/** Groups of consecutive strings whose joined length stays within `budget` (at least one each). */
export function groupTexts(texts: readonly string[], budget: number): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const text of texts) {
    if (current.length > 0 && size + text.length + 1 > budget) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(text);
    size += text.length + 1;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
