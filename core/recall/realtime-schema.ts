/**
 * Recall.ai real-time WebSocket messages (API v1.11), as Recall sends them to a `websocket`
 * realtime endpoint: one JSON text frame per event.
 *
 *   { "event": "<name>", "data": { "data": {...}, "realtime_endpoint": {id, metadata},
 *     "recording": {id, metadata}, "bot": {id, metadata}, "<resource>": {id, metadata} } }
 *
 * Payloads: https://docs.recall.ai/docs/real-time-event-payloads
 * Audio is base64 of 16 kHz mono S16LE PCM: https://docs.recall.ai/docs/how-to-get-mixed-audio-real-time
 *
 * The wire schemas below are exported so the local simulator builds exactly what this module
 * parses. `parseRecallMessage` is the one entry point for untrusted frames: it never throws.
 */
import * as z from 'zod';
import { decodeStrictBase64, encodedLength, maxDecodedLength } from './base64';

/** PCM format of every Recall raw-audio buffer. */
export const RECALL_AUDIO_FORMAT = {
  sampleRate: 16_000,
  channels: 1,
  bitsPerSample: 16,
  encoding: 'pcm_s16le',
} as const;

/** Bytes of PCM per second of Recall audio (16,000 samples × 2 bytes). */
export const RECALL_PCM_BYTES_PER_SECOND = 32_000;

/**
 * Largest decoded audio buffer accepted in one message: 1 s of audio (32,000 bytes). Recall sends
 * buffers of 10–100 ms; anything far larger is a bug or an attack, not audio to transcribe.
 */
export const MAX_RECALL_FRAME_BYTES = RECALL_PCM_BYTES_PER_SECOND;

/**
 * Largest text frame accepted before JSON parsing (128 KiB): a full-size audio buffer in base64
 * (42,668 characters) plus the envelope and generous room for bot metadata.
 */
export const MAX_RECALL_MESSAGE_CHARS = 131_072;

/**
 * Largest `timestamp.relative` accepted: 7 days, in seconds. Recall counts from the start of the
 * recording; no meeting lasts this long, and a larger value (1e9, 1e13) would push meeting times
 * past what the pipeline can store. Values inside the bound are further checked against the
 * session's own audio clock (core/audio/audio-clock.ts).
 */
export const MAX_RECALL_RELATIVE_SECONDS = 7 * 24 * 3600;

/** Events Parley consumes (audio) or tolerates (every participant event). */
export const RECALL_AUDIO_EVENTS = ['audio_mixed_raw.data', 'audio_separate_raw.data'] as const;
export type RecallAudioEventName = (typeof RECALL_AUDIO_EVENTS)[number];

export const RECALL_PARTICIPANT_EVENTS = [
  'participant_events.join',
  'participant_events.leave',
  'participant_events.update',
  'participant_events.speech_on',
  'participant_events.speech_off',
  'participant_events.chat_message',
  'participant_events.webcam_on',
  'participant_events.webcam_off',
  'participant_events.screenshare_on',
  'participant_events.screenshare_off',
] as const;
export type RecallParticipantEventName = (typeof RECALL_PARTICIPANT_EVENTS)[number];

/** Real Recall events that Parley never subscribes to: reported as `unsupported_event`. */
export const RECALL_UNSUPPORTED_EVENTS = [
  'transcript.data',
  'transcript.partial_data',
  'video_separate_png.data',
  'video_separate_h264.data',
] as const;

/** Every realtime event a Recall websocket endpoint may subscribe to (Create Bot validation). */
export const RECALL_REALTIME_EVENTS = [
  ...RECALL_AUDIO_EVENTS,
  ...RECALL_PARTICIPANT_EVENTS,
  ...RECALL_UNSUPPORTED_EVENTS,
] as const;
export type RecallRealtimeEventName = (typeof RECALL_REALTIME_EVENTS)[number];

/** Why a frame was rejected. A closed list: the audio gateway counts and logs by reason. */
export const RECALL_REJECT_REASONS = [
  /** Text frame longer than MAX_RECALL_MESSAGE_CHARS; not parsed. */
  'message_too_large',
  /** Not JSON. */
  'bad_json',
  /** `event` names no Recall realtime event. */
  'unknown_event',
  /** A real Recall event Parley does not consume (transcripts, video). */
  'unsupported_event',
  /** JSON, known event, but fields missing or of the wrong type. */
  'invalid_shape',
  /** `buffer` is not strict standard-alphabet base64. */
  'bad_base64',
  /** Decoded PCM has an odd byte count: S16LE samples are 2 bytes. */
  'odd_length_pcm',
  /** Decoded PCM is larger than MAX_RECALL_FRAME_BYTES. */
  'oversize',
  /** `timestamp.relative` is beyond MAX_RECALL_RELATIVE_SECONDS (no meeting is that long). */
  'bad_timestamp',
] as const;
export type RecallRejectReason = (typeof RECALL_REJECT_REASONS)[number];

// ---------------------------------------------------------------------------------------------
// Wire schemas (what Recall puts on the socket). Objects are loose: Recall adds fields over time.
// ---------------------------------------------------------------------------------------------

const metadataSchema = z
  .record(z.string(), z.unknown())
  .nullish()
  .transform((value) => value ?? {});

/** `{ id, metadata }` reference to a Recall resource (bot, recording, endpoint, artifact). */
export const recallResourceRefSchema = z.looseObject({ id: z.string().min(1), metadata: metadataSchema });
export type RecallResourceRef = z.output<typeof recallResourceRefSchema>;

export const recallTimestampSchema = z.looseObject({
  /** Seconds since the recording started. */
  relative: z.number().nonnegative(),
  /** Wall-clock ISO 8601 time. */
  absolute: z.string().min(1),
});
export type RecallTimestamp = z.output<typeof recallTimestampSchema>;

export const recallParticipantSchema = z.looseObject({
  id: z.number().int(),
  name: z
    .string()
    .nullish()
    .transform((value) => value ?? null),
  is_host: z
    .boolean()
    .nullish()
    .transform((value) => value ?? false),
  platform: z
    .string()
    .nullish()
    .transform((value) => value ?? null),
  extra_data: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((value) => value ?? {}),
  email: z
    .string()
    .nullish()
    .transform((value) => value ?? null),
});
export type RecallParticipant = z.output<typeof recallParticipantSchema>;
/** A participant as written on the wire (before defaults are filled in). */
export type RecallParticipantWire = z.input<typeof recallParticipantSchema>;

const envelopeRefs = {
  realtime_endpoint: recallResourceRefSchema,
  recording: recallResourceRefSchema,
  /** Present when the recording is produced by a bot (always, for Parley). */
  bot: recallResourceRefSchema.optional(),
};

const audioMixedDataSchema = z.looseObject({ buffer: z.string(), timestamp: recallTimestampSchema });
const audioSeparateDataSchema = z.looseObject({
  buffer: z.string(),
  timestamp: recallTimestampSchema,
  participant: recallParticipantSchema,
});

export const audioMixedRawEventSchema = z.looseObject({
  event: z.literal('audio_mixed_raw.data'),
  data: z.looseObject({
    data: audioMixedDataSchema,
    ...envelopeRefs,
    audio_mixed: recallResourceRefSchema.optional(),
  }),
});
export type AudioMixedRawEvent = z.input<typeof audioMixedRawEventSchema>;

export const audioSeparateRawEventSchema = z.looseObject({
  event: z.literal('audio_separate_raw.data'),
  data: z.looseObject({
    data: audioSeparateDataSchema,
    ...envelopeRefs,
    audio_separate: recallResourceRefSchema.optional(),
  }),
});
export type AudioSeparateRawEvent = z.input<typeof audioSeparateRawEventSchema>;

const chatMessageSchema = z.looseObject({
  text: z.string(),
  to: z
    .string()
    .nullish()
    .transform((value) => value ?? null),
});

export const participantEventSchema = z.looseObject({
  event: z.enum(RECALL_PARTICIPANT_EVENTS),
  data: z.looseObject({
    data: z.looseObject({
      participant: recallParticipantSchema,
      timestamp: recallTimestampSchema,
      /** `{ text, to }` for chat_message, otherwise null. */
      data: z.unknown().optional(),
    }),
    ...envelopeRefs,
    participant_events: recallResourceRefSchema.optional(),
  }),
});
export type ParticipantEvent = z.input<typeof participantEventSchema>;

/** Any message this module parses, as written on the wire. */
export type RecallRealtimeWireMessage = AudioMixedRawEvent | AudioSeparateRawEvent | ParticipantEvent;

// ---------------------------------------------------------------------------------------------
// Parsed messages (what Parley works with).
// ---------------------------------------------------------------------------------------------

export interface RecallResources {
  realtimeEndpoint: RecallResourceRef;
  recording: RecallResourceRef;
  bot: RecallResourceRef | null;
}

export interface RecallMixedAudioMessage {
  kind: 'audio';
  event: 'audio_mixed_raw.data';
  /** 16 kHz mono S16LE PCM; may be empty. Even length, at most MAX_RECALL_FRAME_BYTES. */
  pcm: Buffer;
  timestamp: RecallTimestamp;
  participant: null;
  resources: RecallResources;
}

export interface RecallSeparateAudioMessage {
  kind: 'audio';
  event: 'audio_separate_raw.data';
  pcm: Buffer;
  timestamp: RecallTimestamp;
  participant: RecallParticipant;
  resources: RecallResources;
}

export interface RecallParticipantMessage {
  kind: 'participant_event';
  event: RecallParticipantEventName;
  participant: RecallParticipant;
  timestamp: RecallTimestamp;
  /** Set for `participant_events.chat_message` only. */
  chat: { text: string; to: string | null } | null;
  resources: RecallResources;
}

export type RecallAudioMessage = RecallMixedAudioMessage | RecallSeparateAudioMessage;
export type RecallMessage = RecallAudioMessage | RecallParticipantMessage;

export type ParseRecallResult =
  | { ok: true; message: RecallMessage }
  | { ok: false; reason: RecallRejectReason; detail: string };

const MAX_FRAME_BASE64_CHARS = encodedLength(MAX_RECALL_FRAME_BYTES);

function reject(reason: RecallRejectReason, detail: string): ParseRecallResult {
  return { ok: false, reason, detail };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

function resourcesOf(data: {
  realtime_endpoint: RecallResourceRef;
  recording: RecallResourceRef;
  bot?: RecallResourceRef | undefined;
}): RecallResources {
  return { realtimeEndpoint: data.realtime_endpoint, recording: data.recording, bot: data.bot ?? null };
}

type PcmResult = { ok: true; pcm: Buffer } | { ok: false; reason: RecallRejectReason; detail: string };

function decodePcm(buffer: string): PcmResult {
  if (buffer.length > MAX_FRAME_BASE64_CHARS) {
    return {
      ok: false,
      reason: 'oversize',
      detail: `audio buffer of about ${maxDecodedLength(buffer.length)} bytes exceeds the ${MAX_RECALL_FRAME_BYTES}-byte limit`,
    };
  }
  const pcm = decodeStrictBase64(buffer);
  if (pcm === undefined) {
    return { ok: false, reason: 'bad_base64', detail: 'data.data.buffer is not strict standard base64' };
  }
  if (pcm.length > MAX_RECALL_FRAME_BYTES) {
    return {
      ok: false,
      reason: 'oversize',
      detail: `audio buffer of ${pcm.length} bytes exceeds the ${MAX_RECALL_FRAME_BYTES}-byte limit`,
    };
  }
  if (pcm.length % 2 !== 0) {
    return {
      ok: false,
      reason: 'odd_length_pcm',
      detail: `audio buffer has ${pcm.length} bytes; 16-bit PCM needs an even count`,
    };
  }
  return { ok: true, pcm };
}

const PARTICIPANT_EVENT_SET: ReadonlySet<string> = new Set(RECALL_PARTICIPANT_EVENTS);
const UNSUPPORTED_EVENT_SET: ReadonlySet<string> = new Set(RECALL_UNSUPPORTED_EVENTS);

function timestampProblem(timestamp: RecallTimestamp): ParseRecallResult | undefined {
  if (timestamp.relative <= MAX_RECALL_RELATIVE_SECONDS) return undefined;
  return reject(
    'bad_timestamp',
    `timestamp.relative ${timestamp.relative} s exceeds ${MAX_RECALL_RELATIVE_SECONDS} s`,
  );
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A resource reference exactly as the schema would return it, or undefined when the schema must
 * judge it (not an object, no id, a metadata value that is not a plain object or null).
 */
function plainRef(value: unknown): RecallResourceRef | undefined {
  if (!isJsonObject(value)) return undefined;
  const id = value.id;
  if (typeof id !== 'string' || id.length === 0) return undefined;
  const metadata = value.metadata;
  if (metadata === undefined || metadata === null) return { ...value, id, metadata: {} };
  if (!isJsonObject(metadata) || Object.hasOwn(metadata, '__proto__')) return undefined;
  return value as RecallResourceRef;
}

/**
 * The hot path: an `audio_mixed_raw.data` frame of the usual shape (50 a second per meeting),
 * checked field by field without zod. Returns undefined for anything it is not sure about, and
 * the full schema below then decides (with its error detail), so the two never disagree on
 * what is accepted (test/unit/recall-realtime-schema.test.ts compares them on mutated frames).
 */
function fastMixedAudio(json: Record<string, unknown>): ParseRecallResult | undefined {
  const data = json.data;
  if (!isJsonObject(data)) return undefined;
  const inner = data.data;
  if (!isJsonObject(inner)) return undefined;
  const buffer = inner.buffer;
  const timestamp = inner.timestamp;
  if (typeof buffer !== 'string' || !isJsonObject(timestamp)) return undefined;
  const relative = timestamp.relative;
  const absolute = timestamp.absolute;
  if (typeof relative !== 'number' || !Number.isFinite(relative) || relative < 0) return undefined;
  if (typeof absolute !== 'string' || absolute.length === 0) return undefined;
  const realtimeEndpoint = plainRef(data.realtime_endpoint);
  const recording = plainRef(data.recording);
  if (!realtimeEndpoint || !recording) return undefined;
  let bot: RecallResourceRef | null = null;
  if (data.bot !== undefined) {
    bot = plainRef(data.bot) ?? null;
    if (!bot) return undefined;
  }
  if (data.audio_mixed !== undefined && !plainRef(data.audio_mixed)) return undefined;
  const ts = timestamp as RecallTimestamp;
  const badTime = timestampProblem(ts);
  if (badTime) return badTime;
  const pcm = decodePcm(buffer);
  if (!pcm.ok) return pcm;
  return {
    ok: true,
    message: {
      kind: 'audio',
      event: 'audio_mixed_raw.data',
      pcm: pcm.pcm,
      timestamp: ts,
      participant: null,
      resources: { realtimeEndpoint, recording, bot },
    },
  };
}

/** JSON-parsed frame → result; `fast` false skips the hand-written path (tests compare the two). */
function parseJson(json: unknown, fast: boolean): ParseRecallResult {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return reject('invalid_shape', 'message is not a JSON object');
  }
  const event = (json as { event?: unknown }).event;
  if (typeof event !== 'string') return reject('invalid_shape', 'event: expected a string');

  if (event === 'audio_mixed_raw.data') {
    const quick = fast ? fastMixedAudio(json as Record<string, unknown>) : undefined;
    if (quick) return quick;
    const parsed = audioMixedRawEventSchema.safeParse(json);
    if (!parsed.success) return reject('invalid_shape', describeIssues(parsed.error));
    const badTime = timestampProblem(parsed.data.data.data.timestamp);
    if (badTime) return badTime;
    const pcm = decodePcm(parsed.data.data.data.buffer);
    if (!pcm.ok) return pcm;
    return {
      ok: true,
      message: {
        kind: 'audio',
        event,
        pcm: pcm.pcm,
        timestamp: parsed.data.data.data.timestamp,
        participant: null,
        resources: resourcesOf(parsed.data.data),
      },
    };
  }
  if (event === 'audio_separate_raw.data') {
    const parsed = audioSeparateRawEventSchema.safeParse(json);
    if (!parsed.success) return reject('invalid_shape', describeIssues(parsed.error));
    const badTime = timestampProblem(parsed.data.data.data.timestamp);
    if (badTime) return badTime;
    const pcm = decodePcm(parsed.data.data.data.buffer);
    if (!pcm.ok) return pcm;
    return {
      ok: true,
      message: {
        kind: 'audio',
        event,
        pcm: pcm.pcm,
        timestamp: parsed.data.data.data.timestamp,
        participant: parsed.data.data.data.participant,
        resources: resourcesOf(parsed.data.data),
      },
    };
  }
  if (PARTICIPANT_EVENT_SET.has(event)) {
    const parsed = participantEventSchema.safeParse(json);
    if (!parsed.success) return reject('invalid_shape', describeIssues(parsed.error));
    const inner = parsed.data.data.data;
    const badTime = timestampProblem(inner.timestamp);
    if (badTime) return badTime;
    let chat: RecallParticipantMessage['chat'] = null;
    if (parsed.data.event === 'participant_events.chat_message') {
      const chatParsed = chatMessageSchema.safeParse(inner.data);
      if (!chatParsed.success) {
        return reject('invalid_shape', `data.data.data: ${describeIssues(chatParsed.error)}`);
      }
      chat = chatParsed.data;
    }
    return {
      ok: true,
      message: {
        kind: 'participant_event',
        event: parsed.data.event,
        participant: inner.participant,
        timestamp: inner.timestamp,
        chat,
        resources: resourcesOf(parsed.data.data),
      },
    };
  }
  if (UNSUPPORTED_EVENT_SET.has(event)) {
    return reject('unsupported_event', `Parley does not consume ${event}`);
  }
  return reject('unknown_event', `unknown event "${event.slice(0, 64)}"`);
}

function parseUnsafe(text: string, fast: boolean): ParseRecallResult {
  if (typeof text !== 'string') return reject('invalid_shape', 'message is not a text frame');
  if (text.length > MAX_RECALL_MESSAGE_CHARS) {
    return reject(
      'message_too_large',
      `message of ${text.length} characters exceeds ${MAX_RECALL_MESSAGE_CHARS}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return reject('bad_json', 'message is not valid JSON');
  }
  return parseJson(json, fast);
}

/**
 * Parses one text frame from a Recall realtime websocket. Never throws: a bad frame yields
 * `{ ok: false, reason, detail }` (detail is safe to log: it never echoes audio or metadata).
 */
export function parseRecallMessage(text: string): ParseRecallResult {
  try {
    return parseUnsafe(text, true);
  } catch (error) {
    return reject('invalid_shape', `unexpected parse failure: ${(error as Error)?.name ?? 'Error'}`);
  }
}

/**
 * parseRecallMessage without the hand-written fast path for mixed audio: every frame through the
 * zod schemas. The reference the fast path is tested against; not for the gateway's hot path.
 */
export function parseRecallMessageWithSchema(text: string): ParseRecallResult {
  try {
    return parseUnsafe(text, false);
  } catch (error) {
    return reject('invalid_shape', `unexpected parse failure: ${(error as Error)?.name ?? 'Error'}`);
  }
}
