/**
 * Transcript downloads: plain text, SubRip (.srt) and WebVTT (.vtt). Times are milliseconds
 * from meeting start.
 * - SRT: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, blank line between cues.
 * - WebVTT: `WEBVTT` header, `HH:MM:SS.mmm --> HH:MM:SS.mmm`, speaker as a voice span
 *   (`<v Alice>…`), `&`, `<` and `>` escaped (https://www.w3.org/TR/webvtt1/).
 */

export interface FormattableSegment {
  seq: number;
  speaker: string;
  text: string;
  startMs: number;
  endMs: number;
}

export const TRANSCRIPT_CONTENT_TYPES = {
  txt: 'text/plain; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
} as const;
export type TranscriptFileFormat = keyof typeof TRANSCRIPT_CONTENT_TYPES;

/** `HH:MM:SS<sep>mmm`; hours grow past 99 rather than wrap. */
export function formatTimestamp(ms: number, separator: ',' | '.'): string {
  const total = Math.max(0, Math.round(ms));
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = Math.floor((total % 60_000) / 1000);
  const millis = total % 1000;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}${separator}${pad(millis, 3)}`;
}

/** One line of text: cue payloads must not contain blank lines (they end the cue). */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A cue must not end before it starts; zero-length cues get 1 ms so players show them. */
function cueEnd(segment: FormattableSegment): number {
  return Math.max(segment.endMs, segment.startMs + 1);
}

export function toPlainText(segments: readonly FormattableSegment[], title?: string): string {
  const lines = segments.map(
    (s) => `[${formatTimestamp(s.startMs, '.').slice(0, 8)}] ${oneLine(s.speaker)}: ${oneLine(s.text)}`,
  );
  return `${title ? `${oneLine(toWellFormed(title))}\n\n` : ''}${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
}

export function toSrt(segments: readonly FormattableSegment[]): string {
  return segments
    .map(
      (s, i) =>
        `${i + 1}\n${formatTimestamp(s.startMs, ',')} --> ${formatTimestamp(cueEnd(s), ',')}\n` +
        `${oneLine(s.speaker)}: ${oneLine(s.text)}\n`,
    )
    .join('\n');
}

function escapeVtt(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function toVtt(segments: readonly FormattableSegment[]): string {
  const cues = segments.map(
    (s) =>
      `${s.seq}\n${formatTimestamp(s.startMs, '.')} --> ${formatTimestamp(cueEnd(s), '.')}\n` +
      `<v ${escapeVtt(oneLine(s.speaker))}>${escapeVtt(oneLine(s.text))}\n`,
  );
  return `WEBVTT\n\n${cues.join('\n')}`;
}

export function formatTranscript(
  format: TranscriptFileFormat,
  segments: readonly FormattableSegment[],
  title?: string,
): string {
  switch (format) {
    case 'txt':
      return toPlainText(segments, title);
    case 'srt':
      return toSrt(segments);
    case 'vtt':
      return toVtt(segments);
  }
}

/** Lone surrogates (half of a UTF-16 pair) replaced by U+FFFD, so the text is valid Unicode. */
export function toWellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** At most `max` code points: never cuts a surrogate pair (an emoji) in half. */
export function truncateCodePoints(text: string, max: number): string {
  let out = '';
  let count = 0;
  for (const char of text) {
    if (count++ >= max) break;
    out += char;
  }
  return out;
}

/** RFC 5987 `value-chars`: UTF-8 percent-encoded, leaving only `attr-char` bare. */
function encodeRfc5987(text: string): string {
  return encodeURIComponent(text).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Longest file name offered (code points, without the extension). */
export const MAX_FILENAME_CHARS = 120;

/**
 * `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266 with RFC 5987 encoding): an ASCII
 * fallback name for old clients and the full UTF-8 name. Any title works: lone surrogates
 * become U+FFFD, control characters are dropped, and truncation counts code points.
 */
export function contentDisposition(baseName: string, format: TranscriptFileFormat): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  const clean = toWellFormed(baseName).replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  const ascii =
    clean
      .normalize('NFKD')
      .replace(/[^\w .-]+/g, '')
      .replace(/\s+/g, '-')
      .replace(/-+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 80) || 'transcript';
  const utf8 = encodeRfc5987(`${truncateCodePoints(clean, MAX_FILENAME_CHARS)}.${format}`);
  return `attachment; filename="${ascii}.${format}"; filename*=UTF-8''${utf8}`;
}
