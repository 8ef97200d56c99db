/**
 * Server messages of Deepgram's live `/v1/listen`, typed with the SDK's own definitions so a
 * renamed or retyped field fails the build. Shapes follow Deepgram's docs and wire captures
 * (field order included, for readable diffs against real traffic).
 */
import type { listen } from '@deepgram/sdk';
import type { RecognizedWord } from './pocketsphinx';

export const MODEL_INFO = { name: 'pocketsphinx-en-us', version: '5prealpha', arch: 'pocketsphinx' } as const;
/** Fixed id of the one model this server runs (Deepgram reports a uuid per model). */
export const MODEL_UUID = '6b28e919-8427-4f32-9847-492e2efd7daf';

/** Close frames Deepgram sends; clients should match on the code and the reason text. */
export const CLOSE = {
  /** No audio or text frame for the timeout window. Reason text as captured from Deepgram. */
  timeout: {
    code: 1011,
    reason:
      'Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001',
  },
  /** Audio that cannot be decoded (https://developers.deepgram.com/docs/stt-troubleshooting-websocket-data-and-net-errors). */
  undecodable: { code: 1008, reason: 'DATA-0000' },
  /** Not a Deepgram code: the local recognizer failed. */
  internal: { code: 1011, reason: 'local speech recognizer failed' },
  normal: { code: 1000, reason: '' },
  shutdown: { code: 1001, reason: 'server shutting down' },
} as const;

export interface FormatOptions {
  /** `punctuate` or `smart_format`: capitalize, and end finals with a period. */
  punctuate: boolean;
  /** `diarize`: every word gets `speaker: 0` (one channel, no speaker separation). */
  diarize: boolean;
}

export interface ResultsInput {
  requestId: string;
  startMs: number;
  endMs: number;
  words: RecognizedWord[];
  isFinal: boolean;
  speechFinal: boolean;
  fromFinalize: boolean;
  format: FormatOptions;
}

type Word = listen.ListenV1Results.Channel.Alternatives.Item.Words.Item;

export function resultsMessage(input: ResultsInput): listen.ListenV1Results {
  const words = clampWords(input.words, input.startMs, input.endMs);
  const formatted: Word[] = words.map((w, i) => {
    const word: Word = {
      word: w.word,
      start: seconds(w.startMs),
      end: seconds(w.endMs),
      confidence: w.confidence,
    };
    if (input.format.punctuate) word.punctuated_word = punctuate(w.word, i, words.length, input.isFinal);
    if (input.format.diarize) word.speaker = 0;
    return word;
  });
  const transcript = formatted.map((w) => w.punctuated_word ?? w.word).join(' ');
  const confidence =
    words.length === 0
      ? 0
      : Math.round((words.reduce((sum, w) => sum + w.confidence, 0) / words.length) * 1000) / 1000;
  return {
    type: 'Results',
    channel_index: [0, 1],
    duration: seconds(input.endMs - input.startMs),
    start: seconds(input.startMs),
    is_final: input.isFinal,
    speech_final: input.speechFinal,
    channel: { alternatives: [{ transcript, confidence, words: formatted }] },
    metadata: { request_id: input.requestId, model_info: { ...MODEL_INFO }, model_uuid: MODEL_UUID },
    from_finalize: input.fromFinalize,
  };
}

export interface MetadataInput {
  requestId: string;
  created: Date;
  durationMs: number;
  /** Hex digest of the audio received, or `incomplete` when the stream did not end cleanly. */
  sha256: string;
}

export type MetadataMessage = listen.ListenV1Metadata & {
  models: string[];
  model_info: Record<string, typeof MODEL_INFO>;
};

export function metadataMessage(input: MetadataInput): MetadataMessage {
  return {
    type: 'Metadata',
    transaction_key: 'deprecated',
    request_id: input.requestId,
    sha256: input.sha256,
    created: input.created.toISOString(),
    duration: seconds(input.durationMs),
    channels: 1,
    models: [MODEL_UUID],
    model_info: { [MODEL_UUID]: { ...MODEL_INFO } },
  };
}

export function utteranceEndMessage(lastWordEndMs: number): listen.ListenV1UtteranceEnd {
  return { type: 'UtteranceEnd', channel: [0, 1], last_word_end: seconds(lastWordEndMs) };
}

export function speechStartedMessage(timestampMs: number): listen.ListenV1SpeechStarted {
  return { type: 'SpeechStarted', channel: [0], timestamp: seconds(timestampMs) };
}

/** Deepgram-style error body of a rejected handshake. */
export function handshakeError(code: string, message: string, requestId: string): string {
  return JSON.stringify({ err_code: code, err_msg: message, request_id: requestId });
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** Keeps word times inside the segment and in order (start ≤ end ≤ next start). */
function clampWords(words: RecognizedWord[], startMs: number, endMs: number): RecognizedWord[] {
  let floor = startMs;
  return words.map((w) => {
    const start = Math.min(Math.max(w.startMs, floor), endMs);
    const end = Math.min(Math.max(w.endMs, start), endMs);
    floor = end;
    return { ...w, startMs: start, endMs: end };
  });
}

function punctuate(word: string, index: number, count: number, isFinal: boolean): string {
  let out = word === 'i' || word.startsWith("i'") ? `I${word.slice(1)}` : word;
  if (index === 0) out = out.charAt(0).toUpperCase() + out.slice(1);
  if (isFinal && index === count - 1) out = `${out}.`;
  return out;
}
