/**
 * The one place Parley talks to Deepgram's live API, through `@deepgram/sdk`. Local mode
 * points the same client at the local speech server by changing its URLs only.
 */
import { DeepgramClient } from '@deepgram/sdk';
import { checkOpusAvailable, OggOpusEncoder, type OpusSettings } from './ogg-opus-encoder';
import { SAMPLE_RATE } from './pcm';
import { encodeForSpeech, type SpeechEncoding } from './speech-encoding';

export interface SttConnectOptions {
  keyterms: readonly string[];
  language: string;
  /** Used in logs and as Deepgram's `tag`. */
  tag: string;
}

/** A live speech socket, as much of it as the session needs. */
export interface SttSocket {
  on(event: 'open', fn: () => void): void;
  on(event: 'message', fn: (message: unknown) => void): void;
  on(event: 'close', fn: (event: { code: number; reason: string }) => void): void;
  on(event: 'error', fn: (error: Error) => void): void;
  /** 16 kHz S16LE PCM; the connector encodes it as it told the speech service it would. */
  sendMedia(chunk: Buffer): void;
  sendKeepAlive(message: { type: 'KeepAlive' }): void;
  sendFinalize(message: { type: 'Finalize' }): void;
  sendCloseStream(message: { type: 'CloseStream' }): void;
  close(): void;
}

export type SttConnector = (options: SttConnectOptions) => Promise<SttSocket>;

export interface DeepgramConnectorOptions {
  apiKey: string;
  /** `wss://api.deepgram.com` on AWS; the local speech server's ws:// URL in local mode. */
  wsUrl?: string;
  /** `https://api.deepgram.com`; only used by REST calls. */
  httpUrl?: string;
  model?: string;
  connectTimeoutSeconds?: number;
  /**
   * What goes on the wire (core/audio/speech-encoding.ts). Callers always hand over PCM; with
   * `mulaw` the socket's sendMedia encodes each chunk (half the bytes); with `opus` each socket
   * has its own Ogg Opus stream (headers first), and the connect names no encoding or sample rate
   * (Deepgram detects the container). Default `linear16`.
   */
  encoding?: SpeechEncoding;
  /** With `opus`: bitrate, complexity, packets per page (default DEFAULT_OPUS). */
  opus?: OpusSettings;
}

export function createDeepgramConnector(opts: DeepgramConnectorOptions): SttConnector {
  const client = new DeepgramClient({
    apiKey: opts.apiKey,
    ...(opts.wsUrl
      ? {
          environment: {
            base: opts.httpUrl ?? opts.wsUrl.replace(/^ws/, 'http'),
            production: opts.wsUrl,
            agent: opts.wsUrl,
            agentRest: opts.httpUrl ?? opts.wsUrl.replace(/^ws/, 'http'),
          },
        }
      : {}),
  });
  const encoding = opts.encoding ?? 'linear16';
  if (encoding === 'opus') checkOpusAvailable();
  return async ({ keyterms, language, tag }) => {
    const socket = await client.listen.v1.connect({
      model: opts.model ?? 'nova-3',
      // Containerized audio (Ogg) goes without encoding and sample_rate: Deepgram reads the header.
      ...(encoding === 'opus' ? {} : { encoding, sample_rate: SAMPLE_RATE }),
      channels: 1,
      language,
      interim_results: 'true',
      punctuate: 'true',
      smart_format: 'true',
      diarize: 'true',
      endpointing: 300,
      utterance_end_ms: 1000,
      vad_events: 'true',
      tag,
      Authorization: `Token ${opts.apiKey}`,
      // The session reconnects itself so it can resend the audio since the last final.
      reconnectAttempts: 0,
      connectionTimeoutInSeconds: opts.connectTimeoutSeconds ?? 10,
      // Repeated `keyterm=` parameters (the SDK's typed field would send a JSON array).
      queryParams: keyterms.length > 0 ? { keyterm: [...keyterms] } : {},
    });
    socket.connect();
    await socket.waitForOpen();
    const stt = socket as unknown as SttSocket;
    if (encoding === 'linear16') return stt;
    return encoding === 'opus' ? opusSocket(stt, opts.opus) : mulawSocket(stt);
  };
}

/** The socket with sendMedia encoding each PCM chunk to μ-law on its way out. */
function mulawSocket(socket: SttSocket): SttSocket {
  return { ...forwarding(socket), sendMedia: (chunk) => socket.sendMedia(encodeForSpeech(chunk, 'mulaw')) };
}

/**
 * The socket with its own Ogg Opus stream: sendMedia encodes the PCM and sends the pages it
 * completes. The encoder holds back audio already accepted: its look-ahead (2.5 ms with CELT, 6.5 with SILK, which only
 * the next packet carries) and a frame's tail under 20 ms. So Finalize first ends the Ogg stream
 * (that audio, padded, and the end-of-stream page whose granule position trims the padding) and
 * the next audio starts a chained stream (RFC 7845 §3) with its own headers: the speech server
 * cuts the utterance exactly where the audio before the Finalize ends, as it does with linear16.
 * CloseStream likewise ends the stream first, so the last words are not cut. The encoder's
 * memory is freed when the socket closes.
 */
function opusSocket(socket: SttSocket, settings: OpusSettings | undefined): SttSocket {
  let encoder = new OggOpusEncoder(settings);
  const sendPages = (pages: Buffer) => {
    if (pages.length > 0) socket.sendMedia(pages);
  };
  /** Ends the current stream when it has audio; the next audio goes to a new, chained stream. */
  const endStream = () => {
    if (encoder.samplesIn === 0) return;
    sendPages(encoder.end());
    encoder.dispose();
    encoder = new OggOpusEncoder(settings);
  };
  socket.on('close', () => encoder.dispose());
  return {
    ...forwarding(socket),
    sendMedia: (chunk) => sendPages(encoder.encode(chunk)),
    sendFinalize: (message) => {
      endStream();
      socket.sendFinalize(message);
    },
    sendCloseStream: (message) => {
      endStream();
      socket.sendCloseStream(message);
    },
    close: () => {
      socket.close();
      encoder.dispose();
    },
  };
}

function forwarding(socket: SttSocket): SttSocket {
  return {
    on: socket.on.bind(socket) as SttSocket['on'],
    sendMedia: (chunk) => socket.sendMedia(chunk),
    sendKeepAlive: (message) => socket.sendKeepAlive(message),
    sendFinalize: (message) => socket.sendFinalize(message),
    sendCloseStream: (message) => socket.sendCloseStream(message),
    close: () => socket.close(),
  };
}
