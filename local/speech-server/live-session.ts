/**
 * One Deepgram live stream: a WebSocket, its recognizer worker, and the protocol between them
 * (control messages, Results/UtteranceEnd/SpeechStarted/Metadata, the inactivity timeout).
 * Times in messages are seconds from the stream's first audio byte.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import WebSocket from 'ws';
import { AudioInput } from './audio-input';
import {
  CLOSE,
  metadataMessage,
  resultsMessage,
  speechStartedMessage,
  utteranceEndMessage,
} from './deepgram-messages';
import type { ListenParams } from './listen-params';
import type { DecoderEvent } from './stream-decoder';
import { RecognizerWorker } from './worker-host';

/** What a test hook sees of each binary frame (before any decoding). */
export interface AudioFrameInfo {
  requestId: string;
  /** 0 for the first stream the server accepted, then 1, 2 … */
  streamIndex: number;
  /** Byte offset of this frame within the stream. */
  offset: number;
}
export type AudioHook = (info: AudioFrameInfo, frame: Buffer) => void;

/** Counters shared by every session of one server. */
export interface ServerCounters {
  bytesReceived: number;
  audioMsDecoded: number;
  decodeMs: number;
}

export interface SessionConfig {
  requestId: string;
  streamIndex: number;
  params: ListenParams;
  silenceTimeoutMs: number;
  /** Effective silence (ms) that ends an utterance (the request's `endpointing`, clamped). */
  endpointingMs: number;
  interimIntervalMs: number;
  maxUtteranceMs: number;
  modelDir: string | undefined;
  /** Extra PocketSphinx options for this stream (the throughput preset for file jobs). */
  decoderArgs: Record<string, string> | undefined;
  workerEntry: string | undefined;
  logger: Logger;
  counters: ServerCounters;
  audioHook: () => AudioHook | undefined;
}

type State = 'open' | 'closing' | 'closed';

export class LiveSession {
  private state: State = 'open';
  private readonly created = new Date();
  private readonly input: AudioInput;
  private readonly worker: RecognizerWorker | undefined;
  private readonly sha = createHash('sha256');
  private bytesReceived = 0;
  private samplesReceived = 0;
  /** Start of the next Results window: the end of the last final. */
  private cursorMs = 0;
  private processedMs = 0;
  private lastWordEndMs: number | null = null;
  private utteranceEndSentFor: number | null = null;
  private silenceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly config: SessionConfig,
    private readonly onEnded: (session: LiveSession) => void,
  ) {
    this.input = new AudioInput(config.params);
    if (!config.params.unsupportedAudio) {
      this.worker = new RecognizerWorker(
        {
          decoder: {
            endpointingMs: config.endpointingMs,
            interimIntervalMs: config.params.interimResults ? config.interimIntervalMs : null,
            maxUtteranceMs: config.maxUtteranceMs,
          },
          vadPostSpeechFrames: Math.round(config.endpointingMs / 10),
          modelDir: config.modelDir,
          ...(config.decoderArgs ? { decoderArgs: config.decoderArgs } : {}),
        },
        {
          onEvents: (events, decodeMs) => this.onDecoderEvents(events, decodeMs),
          onFailure: (error) => {
            config.logger.error('recognizer failed', { requestId: config.requestId, error });
            this.closeSocket(CLOSE.internal);
          },
        },
        config.workerEntry,
      );
    }
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.onSocketClosed());
    ws.on('error', (error) =>
      config.logger.warn('client socket error', { requestId: config.requestId, error }),
    );
    this.armSilenceTimer();
  }

  get requestId(): string {
    return this.config.requestId;
  }

  /** Test hook: destroy the TCP connection without a close frame. */
  drop(): void {
    this.ws.terminate();
  }

  /** Server shutdown: close with 1001 without flushing. */
  shutdown(): void {
    this.closeSocket(CLOSE.shutdown);
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    this.armSilenceTimer();
    if (this.state !== 'open') return;
    const buffer = toBuffer(data);
    if (!isBinary) {
      this.onControl(buffer.toString('utf8'));
      return;
    }
    // Before CloseStream existed, an empty binary frame ended the stream (deprecated by Deepgram
    // in 2022, still accepted here for old clients).
    if (buffer.length === 0) {
      void this.closeStream();
      return;
    }
    this.config.audioHook()?.(
      { requestId: this.config.requestId, streamIndex: this.config.streamIndex, offset: this.bytesReceived },
      buffer,
    );
    this.bytesReceived += buffer.length;
    this.config.counters.bytesReceived += buffer.length;
    this.sha.update(buffer);
    const result = this.input.push(buffer);
    if (!result.ok) {
      this.config.logger.warn('undecodable audio', {
        requestId: this.config.requestId,
        reason: result.reason,
      });
      this.closeSocket(CLOSE.undecodable);
      return;
    }
    if (result.pcm.length === 0) return;
    this.samplesReceived += result.pcm.length;
    this.worker?.sendAudio(result.pcm);
  }

  private onControl(text: string): void {
    let type: unknown;
    try {
      type = (JSON.parse(text) as { type?: unknown }).type;
    } catch {
      this.config.logger.debug('ignoring a text frame that is not JSON', {
        requestId: this.config.requestId,
      });
      return;
    }
    switch (type) {
      case 'KeepAlive':
        return; // the timer was re-armed on receipt
      case 'Finalize':
        this.worker?.finalize();
        return;
      case 'CloseStream':
        void this.closeStream();
        return;
      default:
        this.config.logger.debug('ignoring an unknown control message', {
          requestId: this.config.requestId,
          type,
        });
    }
  }

  /** CloseStream: decode what is queued, send the last final and Metadata, close 1000. */
  private async closeStream(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    clearTimeout(this.silenceTimer); // decoding a backlog is not client inactivity
    await this.worker?.close();
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.send(this.metadata(this.sha.digest('hex')));
    this.closeSocket(CLOSE.normal);
  }

  private onDecoderEvents(events: DecoderEvent[], decodeMs: number): void {
    this.config.counters.decodeMs += decodeMs;
    const { params, requestId } = this.config;
    for (const event of events) {
      switch (event.type) {
        case 'speech-started':
          if (params.vadEvents) this.send(speechStartedMessage(event.timestampMs));
          break;
        case 'interim':
          this.noteWords(event.words);
          this.send(
            resultsMessage({
              requestId,
              startMs: this.cursorMs,
              endMs: event.processedMs,
              words: event.words,
              isFinal: false,
              speechFinal: false,
              fromFinalize: false,
              format: this.format(),
            }),
          );
          break;
        case 'final': {
          // CloseStream after a final that already covered all the audio: nothing left to report.
          if (event.cause === 'close' && event.words.length === 0 && event.processedMs <= this.cursorMs)
            break;
          this.noteWords(event.words);
          this.send(
            resultsMessage({
              requestId,
              startMs: this.cursorMs,
              endMs: event.processedMs,
              words: event.words,
              isFinal: true,
              speechFinal: event.cause === 'endpoint' && params.endpointingMs !== null,
              fromFinalize: event.cause === 'finalize',
              format: this.format(),
            }),
          );
          this.cursorMs = event.processedMs;
          break;
        }
        case 'progress':
          this.config.counters.audioMsDecoded += event.processedMs - this.processedMs;
          this.processedMs = event.processedMs;
          if (!event.speaking) this.maybeSendUtteranceEnd();
          break;
      }
    }
  }

  private noteWords(words: { endMs: number }[]): void {
    const last = words.at(-1);
    if (last && (this.lastWordEndMs === null || last.endMs > this.lastWordEndMs))
      this.lastWordEndMs = last.endMs;
  }

  /**
   * UtteranceEnd: no utterance is going on and `utterance_end_ms` of audio has passed since the
   * last word (Deepgram requires interim_results for it).
   */
  private maybeSendUtteranceEnd(): void {
    const { utteranceEndMs, interimResults } = this.config.params;
    if (utteranceEndMs === null || !interimResults || this.lastWordEndMs === null) return;
    if (this.utteranceEndSentFor === this.lastWordEndMs) return;
    if (this.processedMs - this.lastWordEndMs < utteranceEndMs) return;
    this.utteranceEndSentFor = this.lastWordEndMs;
    this.send(utteranceEndMessage(this.lastWordEndMs));
  }

  private format() {
    const { punctuate, smartFormat, diarize } = this.config.params;
    return { punctuate: punctuate || smartFormat, diarize };
  }

  private metadata(sha256: string) {
    return metadataMessage({
      requestId: this.config.requestId,
      created: this.created,
      durationMs: (this.samplesReceived * 1000) / 16_000,
      sha256,
    });
  }

  private armSilenceTimer(): void {
    if (this.state !== 'open') return;
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => this.onSilenceTimeout(), this.config.silenceTimeoutMs);
    this.silenceTimer.unref();
  }

  /** Deepgram sends Metadata, then closes 1011 NET-0001. */
  private onSilenceTimeout(): void {
    if (this.state !== 'open') return;
    this.config.logger.info('closing an inactive stream', { requestId: this.config.requestId });
    this.send(this.metadata('incomplete'));
    this.closeSocket(CLOSE.timeout);
  }

  private send(message: object): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private closeSocket(close: { code: number; reason: string }): void {
    if (this.state === 'closed') return;
    this.state = 'closing';
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(close.code, close.reason);
    }
    void this.worker?.abort();
  }

  private onSocketClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.silenceTimer);
    void this.worker?.abort();
    this.input.close();
    this.onEnded(this);
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
