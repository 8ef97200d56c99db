/**
 * The one place Parley talks to Deepgram's live API, through `@deepgram/sdk`. Local mode
 * points the same client at the local speech server by changing its URLs only.
 */
import { DeepgramClient } from '@deepgram/sdk';
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
   * `mulaw` the socket's sendMedia encodes each chunk (half the bytes). Default `linear16`.
   */
  encoding?: SpeechEncoding;
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
  return async ({ keyterms, language, tag }) => {
    const socket = await client.listen.v1.connect({
      model: opts.model ?? 'nova-3',
      encoding,
      sample_rate: SAMPLE_RATE,
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
    return encoding === 'linear16' ? stt : encodingSocket(stt, encoding);
  };
}

/** The socket with sendMedia encoding each PCM chunk on its way out. */
function encodingSocket(socket: SttSocket, encoding: SpeechEncoding): SttSocket {
  return {
    on: socket.on.bind(socket) as SttSocket['on'],
    sendMedia: (chunk) => socket.sendMedia(encodeForSpeech(chunk, encoding)),
    sendKeepAlive: (message) => socket.sendKeepAlive(message),
    sendFinalize: (message) => socket.sendFinalize(message),
    sendCloseStream: (message) => socket.sendCloseStream(message),
    close: () => socket.close(),
  };
}
