/**
 * Reads the frames of ONE Recall realtime connection. Recall sends 50 `audio_mixed_raw.data`
 * frames a second per meeting whose text differs only in three values: the audio
 * (`data.data.buffer`), `timestamp.relative` and `timestamp.absolute`; the envelope (endpoint,
 * recording, bot and their metadata) is the same text every time. So once a frame has been
 * fully parsed and accepted, its text becomes a template: the next frame that is the same text
 * around those three values needs no JSON.parse and no envelope checks, only its three values.
 *
 * The answer is always the one `parseRecallMessage` gives (test/unit/recall-frame-reader.test.ts
 * compares them on sequences of mutated frames): a template is kept only after a probe shows that
 * its three slots are exactly the three values the schema reads, a frame that does not match the
 * template (or whose values are anything but valid) goes through `parseRecallMessage`, and only
 * an accepted frame is answered from the template. Measured in docs/benchmarks.md ("Audio gateway").
 */
import { decodeStrictBase64, encodedLength } from './base64';
import {
  MAX_RECALL_FRAME_BYTES,
  MAX_RECALL_MESSAGE_CHARS,
  MAX_RECALL_RELATIVE_SECONDS,
  type ParseRecallResult,
  parseRecallMessage,
  type RecallMixedAudioMessage,
  type RecallResources,
} from './realtime-schema';

type SlotKind = 'buffer' | 'relative' | 'absolute';

const MARKERS: Record<SlotKind, string> = {
  buffer: '"buffer":"',
  relative: '"relative":',
  absolute: '"absolute":"',
};

/** A JSON number token, exactly as JSON.parse reads one. */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const MAX_FRAME_BASE64_CHARS = encodedLength(MAX_RECALL_FRAME_BYTES);

interface FrameTemplate {
  /** The text before the first slot, between the slots, and after the last one. */
  readonly pieces: readonly [string, string, string, string];
  /** The slots in the order they appear in the text. */
  readonly order: readonly [SlotKind, SlotKind, SlotKind];
  readonly resources: RecallResources;
  /** Keys of the template's `timestamp` besides relative and absolute (Recall may add some). */
  readonly timestampExtra: Record<string, unknown> | undefined;
  /** Length of the template's text without its slots. */
  readonly fixedLength: number;
}

/**
 * Templates in a row replaced before they answered a single frame after which the reader builds
 * one only every REBUILD_EVERY full parses: a sender whose envelope changes every frame then costs
 * little more than the full parse.
 */
const MAX_WASTED_TEMPLATES = 4;
const REBUILD_EVERY = 256;

export class RecallFrameReader {
  private template: FrameTemplate | undefined;
  /** Frames the current template has answered. */
  private hits = 0;
  private wasted = 0;
  /** Frames answered from the template / by the full parse (tests and benchmarks read these). */
  readonly stats = { templated: 0, parsed: 0, templates: 0 };

  /** The same result as `parseRecallMessage(text)`; never throws. */
  read(text: string): ParseRecallResult {
    const template = this.template;
    if (template !== undefined && typeof text === 'string') {
      const quick = matchTemplate(template, text);
      if (quick !== undefined) {
        this.stats.templated++;
        this.hits++;
        this.wasted = 0;
        return quick;
      }
    }
    this.stats.parsed++;
    const result = parseRecallMessage(text);
    if (
      result.ok &&
      result.message.event === 'audio_mixed_raw.data' &&
      (this.wasted < MAX_WASTED_TEMPLATES || this.stats.parsed % REBUILD_EVERY === 0)
    ) {
      const next = buildTemplate(text, result.message);
      if (next) {
        if (template !== undefined && this.hits === 0) this.wasted++;
        this.template = next;
        this.hits = 0;
        this.stats.templates++;
      }
    }
    return result;
  }
}

/** The slot values of `text` if it is the template's text around them, else undefined. */
function matchTemplate(t: FrameTemplate, text: string): ParseRecallResult | undefined {
  if (text.length > MAX_RECALL_MESSAGE_CHARS || text.length < t.fixedLength) return undefined;
  const { pieces, order } = t;
  if (text.slice(0, pieces[0].length) !== pieces[0]) return undefined;
  let pos = pieces[0].length;
  let buffer: string | undefined;
  let relative: string | undefined;
  let absolute: string | undefined;
  for (let i = 0; i < 3; i++) {
    const kind = order[i] as SlotKind;
    let end: number;
    if (kind === 'relative') {
      end = pos;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
      relative = text.slice(pos, end);
    } else {
      end = text.indexOf('"', pos);
      if (end < 0) return undefined;
      if (kind === 'buffer') buffer = text.slice(pos, end);
      else absolute = text.slice(pos, end);
    }
    const next = pieces[i + 1] as string;
    // slice + === compares as memcmp does; startsWith at a position goes character by character.
    if (text.slice(end, end + next.length) !== next) return undefined;
    pos = end + next.length;
  }
  if (pos !== text.length || buffer === undefined || relative === undefined || absolute === undefined)
    return undefined;
  // Only a frame the full parse would accept is answered here; anything else gets its reason there.
  if (!JSON_NUMBER.test(relative)) return undefined;
  const seconds = Number(relative);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_RECALL_RELATIVE_SECONDS) return undefined;
  if (absolute.length === 0 || !isPlainJsonString(absolute)) return undefined;
  if (buffer.length > MAX_FRAME_BASE64_CHARS) return undefined;
  const pcm = decodeStrictBase64(buffer);
  if (pcm === undefined || pcm.length % 2 !== 0 || pcm.length > MAX_RECALL_FRAME_BYTES) return undefined;
  const timestamp = t.timestampExtra
    ? { ...t.timestampExtra, relative: seconds, absolute }
    : { relative: seconds, absolute };
  return {
    ok: true,
    message: {
      kind: 'audio',
      event: 'audio_mixed_raw.data',
      pcm,
      timestamp,
      participant: null,
      resources: t.resources,
    },
  };
}

/** No character a JSON string may not hold unescaped (control characters, quote), and no escape. */
function isPlainJsonString(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x22 || code === 0x5c) return false;
  }
  return true;
}

function isNumberChar(code: number): boolean {
  // 0-9 . + - e E
  return (
    (code >= 48 && code <= 57) || code === 46 || code === 43 || code === 45 || code === 101 || code === 69
  );
}

interface Slot {
  kind: SlotKind;
  start: number;
  end: number;
}

/**
 * A template from an accepted mixed-audio frame, or undefined when its text is not one whose
 * three values can be found for certain (a marker missing or repeated, a value the probe does not
 * find where the schema reads it).
 */
function buildTemplate(text: string, message: RecallMixedAudioMessage): FrameTemplate | undefined {
  const slots: Slot[] = [];
  for (const kind of ['buffer', 'relative', 'absolute'] as const) {
    const marker = MARKERS[kind];
    const at = text.indexOf(marker);
    if (at < 0 || text.indexOf(marker, at + 1) >= 0) return undefined;
    const start = at + marker.length;
    let end = start;
    if (kind === 'relative') {
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
    } else {
      end = text.indexOf('"', start);
      if (end < 0) return undefined;
    }
    slots.push({ kind, start, end });
  }
  slots.sort((a, b) => a.start - b.start);
  const [s0, s1, s2] = slots as [Slot, Slot, Slot];
  if (s0.end > s1.start || s1.end > s2.start) return undefined;
  // Flat copies, not slices of this frame's text: V8 compares a slice of another string much
  // more slowly, and the template would keep the whole frame alive.
  const flat = (piece: string) => Buffer.from(piece, 'utf8').toString('utf8');
  const pieces = [
    flat(text.slice(0, s0.start)),
    flat(text.slice(s0.end, s1.start)),
    flat(text.slice(s1.end, s2.start)),
    flat(text.slice(s2.end)),
  ] as const;
  const order = [s0.kind, s1.kind, s2.kind] as const;
  // The probe: other values in the slots must come out of JSON.parse exactly where the schema
  // reads them (not in a repeated key that a later one overrides, not in metadata).
  const probe: Record<SlotKind, string> = {
    buffer: 'UHJvYmU=',
    relative: String(message.timestamp.relative + 1),
    absolute: `probe-${message.timestamp.absolute}`,
  };
  if (probe.buffer === message.pcm.toString('base64')) probe.buffer = 'UHJvYmUh';
  const probeText =
    pieces[0] + probe[order[0]] + pieces[1] + probe[order[1]] + pieces[2] + probe[order[2]] + pieces[3];
  let parsed: unknown;
  try {
    parsed = JSON.parse(probeText);
  } catch {
    return undefined;
  }
  const inner = (parsed as { data?: { data?: { buffer?: unknown; timestamp?: Record<string, unknown> } } })
    ?.data?.data;
  if (
    inner?.buffer !== probe.buffer ||
    inner.timestamp?.relative !== Number(probe.relative) ||
    inner.timestamp.absolute !== probe.absolute
  ) {
    return undefined;
  }
  const { relative: _r, absolute: _a, ...extra } = message.timestamp;
  return {
    pieces,
    order,
    resources: message.resources,
    timestampExtra: Object.keys(extra).length > 0 ? extra : undefined,
    fixedLength: pieces[0].length + pieces[1].length + pieces[2].length + pieces[3].length,
  };
}
