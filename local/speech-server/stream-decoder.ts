/**
 * Turns one live audio stream into utterances: feeds a Recognizer in 20 ms steps, decides where
 * utterances end (endpointing), and when to report partial results. Runs inside the recognizer
 * worker; it has no I/O and knows nothing of Deepgram's wire format.
 *
 * Endpointing: an utterance ends after `endpointingMs` of non-speech, where non-speech is
 * PocketSphinx's VAD leaving the in-speech state (its post-speech window is set to the same
 * length) or, as a backstop, that long a run of near-silent audio (RMS below ENERGY_FLOOR,
 * e.g. zero padding, on which the VAD's noise tracking is unreliable).
 */
import { FRAME_MS, type RecognitionResult, type RecognizedWord, SAMPLE_RATE } from './pocketsphinx';

/** The part of `Recognizer` the decoder needs (lets tests substitute a fake engine). */
export interface RecognizerEngine {
  start(): void;
  beginUtterance(): void;
  process(pcm: Int16Array): void;
  partialWords(): RecognizedWord[];
  inSpeech(): boolean;
  end(): RecognitionResult;
  readonly processedMs: number;
}

export type FinalCause = 'endpoint' | 'finalize' | 'close' | 'max-length';

export type DecoderEvent =
  | { type: 'speech-started'; timestampMs: number }
  | { type: 'interim'; words: RecognizedWord[]; processedMs: number }
  | { type: 'final'; words: RecognizedWord[]; processedMs: number; cause: FinalCause }
  /** After each chunk: how far decoding got, and whether an utterance with speech is open. */
  | { type: 'progress'; processedMs: number; speaking: boolean };

export interface StreamDecoderOptions {
  /** Silence that ends an utterance, in ms (already clamped by the caller). */
  endpointingMs: number;
  /** Audio between two interim results, in ms; null disables interim results. */
  interimIntervalMs: number | null;
  /** Cut an utterance that runs this long without a pause (PocketSphinx slows on long ones). */
  maxUtteranceMs: number;
}

/** 20 ms steps: fine enough for endpointing, coarse enough to keep FFI calls cheap. */
const STEP_SAMPLES = (SAMPLE_RATE / 1000) * 20;
const STEP_MS = 20;
/** RMS below which a 20 ms step counts as silence for the energy backstop (~ -50 dBFS). */
export const ENERGY_FLOOR = 100;
/** PocketSphinx's VAD confirms speech after `-vad_startspeech` (10) frames. */
const VAD_START_DELAY_MS = 10 * FRAME_MS;

export class StreamDecoder {
  private started = false;
  private wasSpeech = false;
  /** The open utterance has heard speech: the VAD is in speech and the audio is not near-silent. */
  private utteranceHasSpeech = false;
  /** SpeechStarted was reported for the speech that is going on. */
  private announced = false;
  private quietRunMs = 0;
  private utteranceStartMs = 0;
  private lastInterimMs = 0;

  constructor(
    private readonly recognizer: RecognizerEngine,
    private readonly options: StreamDecoderOptions,
  ) {}

  /** Decodes a chunk of samples and returns what happened, in order, ending with `progress`. */
  push(pcm: Int16Array): DecoderEvent[] {
    this.ensureStarted();
    const events: DecoderEvent[] = [];
    for (let offset = 0; offset < pcm.length; offset += STEP_SAMPLES) {
      this.step(pcm.subarray(offset, Math.min(offset + STEP_SAMPLES, pcm.length)), events);
    }
    events.push({
      type: 'progress',
      processedMs: this.recognizer.processedMs,
      speaking: this.utteranceHasSpeech,
    });
    return events;
  }

  /** Ends the current utterance now (Finalize, CloseStream) and returns its final result. */
  flush(cause: 'finalize' | 'close'): DecoderEvent {
    this.ensureStarted();
    return this.cut(cause, cause !== 'close');
  }

  private ensureStarted(): void {
    if (this.started) return;
    this.recognizer.start();
    this.started = true;
  }

  private step(samples: Int16Array, events: DecoderEvent[]): void {
    const quiet = rms(samples) < ENERGY_FLOOR;
    this.recognizer.process(samples);
    const now = this.recognizer.processedMs;
    const speech = this.recognizer.inSpeech();
    this.quietRunMs = quiet ? this.quietRunMs + STEP_MS : 0;

    // The VAD's noise tracking can switch to "speech" on near-digital silence; only audible
    // audio during a VAD speech state opens an utterance.
    if (speech && !quiet && !this.utteranceHasSpeech) {
      this.utteranceHasSpeech = true;
      this.utteranceStartMs = now;
      this.lastInterimMs = now;
      if (!this.announced) {
        const onsetMs = this.wasSpeech ? now - STEP_MS : now - STEP_MS - VAD_START_DELAY_MS;
        events.push({ type: 'speech-started', timestampMs: Math.max(0, onsetMs) });
        this.announced = true;
      }
    }

    if (this.utteranceHasSpeech) {
      const vadEnded = this.wasSpeech && !speech;
      if (vadEnded || this.quietRunMs >= this.options.endpointingMs) {
        events.push(this.cut('endpoint', true));
        return;
      }
      if (now - this.utteranceStartMs >= this.options.maxUtteranceMs) {
        events.push(this.cut('max-length', true));
        return;
      }
      const interval = this.options.interimIntervalMs;
      if (interval !== null && now - this.lastInterimMs >= interval) {
        this.lastInterimMs = now;
        events.push({ type: 'interim', words: this.recognizer.partialWords(), processedMs: now });
      }
    }
    this.wasSpeech = speech;
  }

  private cut(cause: FinalCause, reopen: boolean): DecoderEvent {
    const speechGoesOn = cause !== 'endpoint' && this.utteranceHasSpeech && this.quietRunMs === 0;
    const result = this.recognizer.end();
    const processedMs = this.recognizer.processedMs;
    if (reopen) this.recognizer.beginUtterance();
    // ps_start_utt resets the VAD (wasSpeech = false); speech that simply goes on after a
    // Finalize is detected again shortly after and must not be reported as a new start.
    this.wasSpeech = false;
    this.announced = speechGoesOn;
    this.utteranceHasSpeech = false;
    this.quietRunMs = 0;
    this.utteranceStartMs = processedMs;
    this.lastInterimMs = processedMs;
    return { type: 'final', words: result.words, processedMs, cause };
  }
}

function rms(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}
