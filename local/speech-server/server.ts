/**
 * Local stand-in for Deepgram's live transcription API: `GET /v1/listen` upgraded to a
 * WebSocket, speaking Deepgram's protocol, decoding with PocketSphinx in one worker thread per
 * stream. See docs/local-mode-speech.md for what it implements and what it lacks.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@aws-lambda-powertools/logger';
import { WebSocketServer } from 'ws';
import { createLogger } from '../../core/logger';
import { handshakeError } from './deepgram-messages';
import { type ListenParams, parseListenParams } from './listen-params';
import { type AudioHook, LiveSession, type ServerCounters } from './live-session';
import { THROUGHPUT_DECODER_ARGS } from './pocketsphinx';

export interface SpeechServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Close a stream that sent neither audio nor a text message for this long (Deepgram: 10 s). */
  silenceTimeoutMs?: number;
  /** When set, only this key is accepted; otherwise any non-empty key is. */
  apiKey?: string;
  /** Concurrent streams (one decoder thread and ~100 MB each); more are refused with HTTP 429. */
  maxStreams?: number;
  /** Audio between interim results while speech goes on. */
  interimIntervalMs?: number;
  /** Longest utterance before a final is forced (is_final without speech_final). */
  maxUtteranceMs?: number;
  /** PocketSphinx model folder (default: the Debian pocketsphinx-en-us location). */
  modelDir?: string;
  /**
   * Streams tagged with this prefix (Deepgram's `tag`; the file worker tags its streams
   * `job-<id>`) are file jobs: no one listens to them live and the user waits for the engine's
   * throughput, so they are decoded with THROUGHPUT_DECODER_ARGS. `null`: every stream alike.
   */
  throughputTagPrefix?: string | null;
  /**
   * Test hook: extra PocketSphinx options for the other (live) streams. Default none: the
   * engine's defaults. Lets end-to-end tests decode a live meeting with less CPU.
   */
  liveDecoderArgs?: Readonly<Record<string, string>>;
  /** Worker script to start instead of the default (see worker-host.ts). */
  workerEntry?: string;
  logger?: Logger;
  /** Test hook: sees every binary frame as received. */
  onAudio?: AudioHook;
}

export interface SpeechServerStats {
  /** Streams open now. */
  streams: number;
  /** Streams accepted since start. */
  totalStreams: number;
  /** Of those, streams decoded with the throughput preset (file jobs; see `throughputTagPrefix`). */
  throughputStreams: number;
  bytesReceived: number;
  /** Audio decoded so far, in ms. */
  audioMsDecoded: number;
  /** Thread time spent decoding, in ms. */
  decodeMs: number;
  /** audioMsDecoded / decodeMs: how many times faster than real time decoding runs. */
  realtimeFactor: number;
}

export interface SpeechServer {
  /** http://host:port */
  url: string;
  /** ws://host:port — pass as the SDK's `environment.production`. */
  wsUrl: string;
  port: number;
  stats(): SpeechServerStats;
  /** Test hook, settable at any time: sees every binary frame of every stream. */
  onAudio: AudioHook | undefined;
  /** Test hook: destroys every client connection without a close frame (a network drop). */
  dropConnections(): void;
  /**
   * Test hook, settable at any time: while true, new streams are refused with 503 (the speech
   * service is down), so a dropped stream cannot come back until it is false again.
   */
  unavailable: boolean;
  stop(): Promise<void>;
}

/** PocketSphinx's VAD splits words apart below this (Deepgram's default is 10 ms). */
export const MIN_ENDPOINTING_MS = 300;
/** Utterance boundary used with `endpointing=false` (finals then never carry speech_final). */
export const UNENDPOINTED_WINDOW_MS = 500;

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  silenceTimeoutMs: 10_000,
  maxStreams: 8,
  interimIntervalMs: 1_000,
  maxUtteranceMs: 15_000,
  throughputTagPrefix: 'job-' as string | null,
};

export function effectiveEndpointingMs(params: ListenParams): number {
  if (params.endpointingMs === null) return UNENDPOINTED_WINDOW_MS;
  return Math.max(MIN_ENDPOINTING_MS, params.endpointingMs);
}

export async function startSpeechServer(options: SpeechServerOptions = {}): Promise<SpeechServer> {
  const config = { ...DEFAULTS, ...withoutUndefined(options) };
  const logger = options.logger ?? createLogger('speech-server');
  const sessions = new Set<LiveSession>();
  const counters: ServerCounters = { bytesReceived: 0, audioMsDecoded: 0, decodeMs: 0 };
  const requestIds = new WeakMap<IncomingMessage, string>();
  let totalStreams = 0;
  let throughputStreams = 0;
  let stopping: Promise<void> | undefined;

  const httpServer = http.createServer((req, res) => {
    const requestId = randomUUID();
    const isListen = new URL(req.url ?? '/', 'http://localhost').pathname === '/v1/listen';
    const [status, code, message] = isListen
      ? [501, 'NOT_IMPLEMENTED', 'The local speech server implements live streaming (WebSocket) only']
      : [404, 'NOT_FOUND', 'Not found'];
    res.writeHead(status, { 'content-type': 'application/json', 'dg-request-id': requestId });
    res.end(handshakeError(code, message, requestId));
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4 * 1024 * 1024,
    // Browsers authenticate with the subprotocols `token, <key>`: answer with `token`.
    handleProtocols: (protocols) =>
      protocols.has('token') ? 'token' : protocols.has('bearer') ? 'bearer' : false,
  });
  wss.on('headers', (headers, req) => {
    const requestId = requestIds.get(req);
    if (requestId) headers.push(`dg-request-id: ${requestId}`);
  });

  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const requestId = randomUUID();
    const reject = (status: number, code: string, message: string): void => {
      logger.warn('rejected a stream', { requestId, status, code, message });
      rejectUpgrade(socket, status, code, message, requestId);
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (stopping) return reject(503, 'UNAVAILABLE', 'Server is shutting down');
    if (server.unavailable) return reject(503, 'UNAVAILABLE', 'Service unavailable (test outage)');
    if (url.pathname !== '/v1/listen') return reject(404, 'NOT_FOUND', `No live endpoint at ${url.pathname}`);
    const key = credentials(req);
    if (!key || (config.apiKey !== undefined && key !== config.apiKey)) {
      return reject(401, 'INVALID_AUTH', 'Invalid credentials.');
    }
    const parsed = parseListenParams(url.searchParams);
    if (!parsed.ok) return reject(400, 'Bad Request', parsed.message);
    if (sessions.size >= config.maxStreams) {
      return reject(429, 'TOO_MANY_REQUESTS', `At most ${config.maxStreams} concurrent streams`);
    }
    requestIds.set(req, requestId);
    const throughput = throughputStream(parsed.params, config.throughputTagPrefix);
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (throughput) throughputStreams++;
      const session = new LiveSession(
        ws,
        {
          requestId,
          streamIndex: totalStreams++,
          params: parsed.params,
          silenceTimeoutMs: config.silenceTimeoutMs,
          endpointingMs: effectiveEndpointingMs(parsed.params),
          interimIntervalMs: config.interimIntervalMs,
          maxUtteranceMs: config.maxUtteranceMs,
          modelDir: config.modelDir,
          decoderArgs: throughput
            ? { ...THROUGHPUT_DECODER_ARGS }
            : config.liveDecoderArgs
              ? { ...config.liveDecoderArgs }
              : undefined,
          workerEntry: config.workerEntry,
          logger,
          counters,
          audioHook: () => server.onAudio,
        },
        (ended) => {
          sessions.delete(ended);
          logger.info('stream ended', { requestId: ended.requestId });
        },
      );
      sessions.add(session);
      logger.info('stream opened', {
        requestId,
        model: parsed.params.model,
        throughput,
        endpointingMs: parsed.params.endpointingMs,
        keyterms: parsed.params.keyterms.length,
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  const server: SpeechServer = {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    port,
    onAudio: options.onAudio,
    unavailable: false,
    stats: () => ({
      streams: sessions.size,
      totalStreams,
      throughputStreams,
      bytesReceived: counters.bytesReceived,
      audioMsDecoded: Math.round(counters.audioMsDecoded),
      decodeMs: Math.round(counters.decodeMs),
      realtimeFactor:
        counters.decodeMs > 0 ? Math.round((counters.audioMsDecoded / counters.decodeMs) * 10) / 10 : 0,
    }),
    dropConnections: () => {
      for (const session of sessions) session.drop();
    },
    stop: () => {
      stopping ??= (async () => {
        for (const session of sessions) session.shutdown();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
      })();
      return stopping;
    },
  };
  logger.info('speech server listening', { url: server.wsUrl });
  return server;
}

function throughputStream(params: ListenParams, prefix: string | null): boolean {
  return prefix !== null && params.tags.some((t) => t.startsWith(prefix));
}

/** `Authorization: Token <key>` (or Bearer), else the subprotocols `token, <key>`. */
function credentials(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^(?:token|bearer)\s+(\S+)$/i.exec(header.trim()) : null;
  if (match?.[1]) return match[1];
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const scheme = protocols.findIndex((p) => p === 'token' || p === 'bearer');
  const key = scheme >= 0 ? protocols[scheme + 1] : undefined;
  return key || undefined;
}

function rejectUpgrade(
  socket: Duplex,
  status: number,
  code: string,
  message: string,
  requestId: string,
): void {
  const body = handshakeError(code, message, requestId);
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `dg-request-id: ${requestId}\r\n` +
      `dg-error: ${message.replace(/[\r\n]/g, ' ')}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
