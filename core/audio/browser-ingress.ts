/**
 * Browser microphones on the audio gateway: `GET /browser/{meetingId}?session={id}` upgrades,
 * on the same listener as Recall, authenticated with the user's JWT (query `token=` or the
 * subprotocol `parley.token.<jwt>`; browsers cannot set headers). Only the meeting's owner may
 * stream, only into a microphone meeting, one stream session at a time.
 *
 * Chunks (core/audio/chunk-protocol.ts, docs/protocol.md) go through the meeting's
 * MeetingSession exactly as Recall audio does, and into its archive. A chunk is acknowledged
 * once the archive has stored it, so the client keeps every chunk until it is safe; on
 * (re)connect `ready.lastSeq` tells the client where to resume. The stream's position (seq and
 * sample offset) survives a replaced container because it is read back from the archive's keys.
 *
 * Refusals after the upgrade are close codes (MIC_CLOSE_CODES), because browsers cannot read the
 * HTTP status of a refused upgrade.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { JwtVerifier } from '../auth/jwt-verifier';
import { canControl, isTerminal } from '../meetings/lifecycle';
import type { Meeting } from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import { chunksPrefix, parseChunkKey } from '../recordings/keys';
import type { RecordingStore } from '../recordings/store';
import {
  CHUNK_HEADER_BYTES,
  decodeChunk,
  MIC_CLOSE_CODES,
  MIC_LIMITS,
  MIC_SUBPROTOCOL,
  type MicCloseName,
  type MicLimits,
  type MicServerMessage,
  parseClientMessage,
  SESSION_ID,
  TOKEN_SUBPROTOCOL_PREFIX,
} from './chunk-protocol';
import { type MeetingSession, stateAfter } from './meeting-session';
import type { MeetingArchive } from './recording-archive';
import type { RecordingArchiver } from './recording-archiver';

export const BROWSER_PATH = /^\/browser\/([A-Za-z0-9_-]{1,64})$/;
const SAMPLES_PER_MS = 16;

/** What the ingress needs from the audio gateway. */
export interface SessionHost {
  /** The meeting's live session, started as for a Recall connection when there is none. */
  openSession(meetingId: string, meeting: Meeting): MeetingSession;
  /** False once the gateway is stopping (new streams are refused with 1012). */
  readonly accepting: boolean;
  /**
   * Whether the meeting can have a session here now: it has one already, or the task is below
   * its capacity (maxSessions, shared with Recall meetings) and not backlogged.
   */
  hasRoomFor(meetingId: string): boolean;
}

export interface BrowserIngressOptions {
  verifier: JwtVerifier;
  repo: Pick<MeetingRepository, 'get'>;
  archiver: RecordingArchiver;
  store: RecordingStore;
  logger: Logger;
  limits?: Partial<MicLimits>;
  /** How long a microphone meeting waits for its stream to come back before it ends. */
  reconnectGraceMs?: number;
  /** How often held streams, token expiry and ended sessions are looked at. */
  tickMs?: number;
}

interface MicStream {
  meetingId: string;
  session: string;
  userId: string;
  meetingSession: MeetingSession;
  archive: MeetingArchive;
  ws: WebSocket | undefined;
  /** Highest seq accepted. */
  lastSeq: number;
  /** Stream position (samples) of the next chunk. */
  nextSample: number;
  /** Highest seq stored (acknowledged). */
  durableSeq: number;
  audioMs: number;
  held: boolean;
  bucketMs: number;
  bucketAt: number;
  tokenExpiresAt: number;
  graceTimer: NodeJS.Timeout | undefined;
  detach: () => void;
}

export interface BrowserIngressStats {
  streams: number;
  acceptedChunks: number;
  duplicateChunks: number;
  gapChunks: number;
  refused: Partial<Record<MicCloseName, number>>;
  holds: number;
}

export class BrowserIngress {
  private readonly wss: WebSocketServer;
  private readonly streams = new Map<string, MicStream>();
  private readonly limits: MicLimits;
  private readonly log: Logger;
  private readonly timer: NodeJS.Timeout;
  private host: SessionHost | undefined;
  readonly stats: BrowserIngressStats = {
    streams: 0,
    acceptedChunks: 0,
    duplicateChunks: 0,
    gapChunks: 0,
    refused: {},
    holds: 0,
  };

  constructor(private readonly opts: BrowserIngressOptions) {
    this.limits = { ...MIC_LIMITS, ...opts.limits };
    this.log = opts.logger;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: CHUNK_HEADER_BYTES + this.limits.maxChunkBytes,
      // Echo the protocol version; the token subprotocol is read, never echoed.
      handleProtocols: (protocols) => (protocols.has(MIC_SUBPROTOCOL) ? MIC_SUBPROTOCOL : false),
    });
    this.timer = setInterval(() => this.tick(), opts.tickMs ?? 500);
    this.timer.unref();
  }

  handlesPath(pathname: string): boolean {
    return pathname.startsWith('/browser/');
  }

  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, host: SessionHost): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway');
    const match = BROWSER_PATH.exec(url.pathname);
    if (!match || req.method !== 'GET') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const meetingId = match[1] as string;
    this.host = host;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      void this.open(ws, req, url, meetingId, host).catch((error) => {
        this.log.error('microphone stream failed to open', { meetingId, error: String(error) });
        this.close(ws, 'UNAVAILABLE', 'The stream could not be opened');
      });
    });
  }

  /** A crashed task: drop every socket at once. */
  kill(): void {
    clearInterval(this.timer);
    for (const stream of this.streams.values()) clearTimeout(stream.graceTimer);
    this.streams.clear();
    for (const client of this.wss.clients) client.terminate();
  }

  /**
   * Drop a meeting's stream socket without a close frame, as a network cut does (the client sees
   * 1006 and reconnects). For tests: the server side of a dropped connection.
   */
  disconnect(meetingId: string): boolean {
    const ws = this.streams.get(meetingId)?.ws;
    ws?.terminate();
    return ws !== undefined;
  }

  /**
   * The task has stopped (its sessions have ended or been handed over): close every microphone
   * socket with RESTARTING, so that browsers reconnect to another task, and stop the timers.
   */
  shutdown(): void {
    clearInterval(this.timer);
    for (const stream of this.streams.values()) clearTimeout(stream.graceTimer);
    for (const client of this.wss.clients) this.close(client, 'RESTARTING', 'Service restart: reconnect');
  }

  /** The stream of a meeting now (tests and benchmarks look at it). */
  stream(meetingId: string): Readonly<Omit<MicStream, 'ws' | 'detach'>> | undefined {
    return this.streams.get(meetingId);
  }

  private async open(ws: WebSocket, req: IncomingMessage, url: URL, meetingId: string, host: SessionHost) {
    // Frames that arrive while the stream is being set up are kept and handled in order after.
    const early: [RawData, boolean][] = [];
    const keep = (data: RawData, isBinary: boolean) => early.push([data, isBinary]);
    ws.on('message', keep);
    ws.on('error', (error) => this.log.warn('microphone socket error', { meetingId, error: error.message }));

    if (!host.accepting) return this.close(ws, 'RESTARTING', 'Service restart: reconnect');
    const session = url.searchParams.get('session') ?? '';
    if (!SESSION_ID.test(session))
      return this.close(ws, 'BAD_FRAME', 'session must be 32 lowercase hex digits');
    const token = tokenOf(req, url);
    if (!token) return this.close(ws, 'UNAUTHORIZED', 'Missing token');
    let userId: string;
    let expiresAt: number;
    try {
      const verified = await this.opts.verifier.verify(token);
      userId = verified.userId;
      expiresAt = (verified.claims.exp ?? 0) * 1000;
    } catch {
      return this.close(ws, 'UNAUTHORIZED', 'Invalid or expired token');
    }
    let meeting: Meeting | undefined;
    try {
      meeting = await this.opts.repo.get(meetingId);
    } catch (error) {
      this.log.error('meeting lookup failed', { meetingId, error: String(error) });
      return this.close(ws, 'UNAVAILABLE', 'Meeting store unavailable');
    }
    if (meeting?.source !== 'microphone') {
      return this.close(ws, 'NOT_FOUND', 'No such microphone meeting');
    }
    if (!canControl(meeting, userId)) return this.close(ws, 'FORBIDDEN', 'Only the meeting owner can stream');
    if (isTerminal(meeting.status) || stateAfter(meeting.commandLog ?? []) === 'stop') {
      return this.close(ws, 'MEETING_ENDED', 'Meeting has ended');
    }
    if (ws.readyState !== ws.OPEN) return;

    let stream = this.streams.get(meetingId);
    if (stream && stream.session !== session) {
      if (stream.ws && stream.ws.readyState === stream.ws.OPEN) {
        return this.close(ws, 'CONFLICT', 'Another stream is live on this meeting');
      }
      // The earlier stream is gone for good (a new recording in the same meeting): store what
      // it had, then start the new one after it.
      clearTimeout(stream.graceTimer);
      stream.detach();
      await stream.archive.flush();
      this.streams.delete(meetingId);
      stream = undefined;
    }
    if (!host.accepting) return this.close(ws, 'RESTARTING', 'Service restart: reconnect');
    // Checked with no await before openSession, so simultaneous streams cannot exceed maxSessions.
    if (!host.hasRoomFor(meetingId)) {
      this.log.warn('refused microphone stream: at capacity', { meetingId });
      return this.close(ws, 'UNAVAILABLE', 'At capacity: reconnect later');
    }
    const meetingSession = host.openSession(meetingId, meeting);
    if (stream && stream.meetingSession !== meetingSession) {
      stream.detach();
      this.streams.delete(meetingId);
      stream = undefined;
    }
    if (!stream) {
      const archive = this.opts.archiver.archive(meetingId);
      this.opts.archiver.follow(meetingId, meetingSession);
      const position = await this.position(meetingId, session);
      if (ws.readyState !== ws.OPEN) return;
      stream =
        this.streams.get(meetingId) ?? this.newStream(meetingId, session, meetingSession, archive, position);
    }
    const s = stream;
    clearTimeout(s.graceTimer);
    s.graceTimer = undefined;
    if (s.ws && s.ws !== ws) s.ws.close(MIC_CLOSE_CODES.REPLACED.code, 'Replaced by a newer connection');
    s.ws = ws;
    s.userId = userId;
    s.tokenExpiresAt = expiresAt;
    s.held = false;
    this.stats.streams = this.streams.size;

    ws.off('message', keep);
    ws.on('message', (data, isBinary) => this.onMessage(s, ws, data, isBinary));
    ws.on('close', () => this.onClose(s, ws));
    this.send(ws, {
      type: 'ready',
      sessionId: session,
      lastSeq: s.lastSeq,
      state: meetingSession.currentState === 'paused' ? 'paused' : 'live',
      limits: this.limits,
    });
    if (s.durableSeq > 0) this.send(ws, { type: 'ack', seq: s.durableSeq });
    this.log.info('microphone stream connected', { meetingId, session, lastSeq: s.lastSeq });
    for (const [data, isBinary] of early) this.onMessage(s, ws, data, isBinary);
  }

  private newStream(
    meetingId: string,
    session: string,
    meetingSession: MeetingSession,
    archive: MeetingArchive,
    position: { lastSeq: number; nextSample: number },
  ): MicStream {
    const stream: MicStream = {
      meetingId,
      session,
      userId: '',
      meetingSession,
      archive,
      ws: undefined,
      lastSeq: position.lastSeq,
      nextSample: position.nextSample,
      durableSeq: position.lastSeq,
      audioMs: position.nextSample / SAMPLES_PER_MS,
      held: false,
      bucketMs: this.limits.burstMs,
      bucketAt: performance.now(),
      tokenExpiresAt: 0,
      graceTimer: undefined,
      detach: () => undefined,
    };
    const onDurable = (chunk: { source: { kind: string; session?: string; lastSeq?: number } }) => {
      if (chunk.source.kind !== 'mic' || chunk.source.session !== session) return;
      stream.durableSeq = Math.max(stream.durableSeq, chunk.source.lastSeq ?? 0);
      if (stream.ws) this.send(stream.ws, { type: 'ack', seq: stream.durableSeq });
      this.backpressure(stream);
    };
    const onFailed = () => {
      // Nothing after the failed chunk may be acknowledged: the client reconnects and resends.
      if (stream.ws) this.close(stream.ws, 'UNAVAILABLE', 'The recording archive is unavailable');
      stream.detach();
      if (this.streams.get(meetingId) === stream) this.streams.delete(meetingId);
    };
    archive.durableListeners.add(onDurable);
    archive.failureListeners.add(onFailed);
    stream.detach = () => {
      archive.durableListeners.delete(onDurable);
      archive.failureListeners.delete(onFailed);
    };
    this.streams.set(meetingId, stream);
    return stream;
  }

  /**
   * Where a stream session stands in the archive: its last stored seq and the position after it;
   * a session the archive has never seen starts where the meeting's archive ends.
   */
  private async position(
    meetingId: string,
    session: string,
  ): Promise<{ lastSeq: number; nextSample: number }> {
    const keys = await this.opts.store.list(chunksPrefix(meetingId));
    let lastSeq = 0;
    let sessionEnd = -1;
    let meetingEnd = 0;
    for (const key of keys) {
      const chunk = parseChunkKey(meetingId, key);
      if (!chunk) continue;
      meetingEnd = Math.max(meetingEnd, chunk.end);
      if (chunk.source.kind === 'mic' && chunk.source.session === session && chunk.source.lastSeq > lastSeq) {
        lastSeq = chunk.source.lastSeq;
        sessionEnd = chunk.end;
      }
    }
    return { lastSeq, nextSample: sessionEnd >= 0 ? sessionEnd : meetingEnd };
  }

  private onMessage(s: MicStream, ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (s.ws !== ws) return;
    const frame = toBuffer(data);
    if (!isBinary) {
      const message = parseClientMessage(frame.toString('utf8'));
      if (!message) {
        this.close(ws, 'BAD_FRAME', 'Unknown text message');
        return;
      }
      if (message.type === 'flush') {
        s.archive.cut();
        return;
      }
      void this.renewToken(s, ws, message.token);
      return;
    }
    const decoded = decodeChunk(frame, this.limits.maxChunkBytes);
    if (!decoded.ok) {
      this.close(ws, 'BAD_FRAME', decoded.reason);
      return;
    }
    const { seq } = decoded.chunk;
    const pcm = frame.subarray(CHUNK_HEADER_BYTES);
    if (seq <= s.lastSeq) {
      // A resend of something we hold: drop it; acknowledge it if it is stored already.
      this.stats.duplicateChunks++;
      if (seq <= s.durableSeq) this.send(ws, { type: 'ack', seq: s.durableSeq });
      return;
    }
    if (seq > s.lastSeq + 1) {
      this.stats.gapChunks++;
      this.send(ws, {
        type: 'error',
        code: 'SEQ_GAP',
        message: `Chunk ${seq} skips ahead; send ${s.lastSeq + 1} next`,
        expected: s.lastSeq + 1,
      });
      return;
    }
    const state = s.meetingSession.currentState;
    if (state === 'ending' || state === 'ended') return; // the tick closes the socket
    const ms = pcm.length / 2 / SAMPLES_PER_MS;
    const now = performance.now();
    s.bucketMs = Math.min(this.limits.burstMs, s.bucketMs + (now - s.bucketAt) * this.limits.maxRateFactor);
    s.bucketAt = now;
    if (ms > s.bucketMs) {
      this.close(ws, 'RATE_LIMITED', 'Audio arrives faster than allowed');
      return;
    }
    if (s.audioMs + ms > this.limits.maxSessionMs) {
      this.close(ws, 'SESSION_TOO_LONG', 'The stream session reached its longest allowed length');
      return;
    }
    if (s.archive.pendingMs + ms > this.limits.maxPendingMs) {
      this.close(ws, 'RATE_LIMITED', 'Too much audio not yet stored: the client ignored hold');
      return;
    }
    s.bucketMs -= ms;
    s.audioMs += ms;
    s.lastSeq = seq;
    const start = s.nextSample;
    s.nextSample += pcm.length / 2;
    this.stats.acceptedChunks++;
    const before = s.meetingSession.stats.audioFrames;
    s.meetingSession.handle({ kind: 'audio', pcm, relativeMs: start / SAMPLES_PER_MS }, now);
    const forwarded = s.meetingSession.stats.audioFrames > before;
    // Paused (or not yet started) audio is acknowledged through an empty marker, never archived.
    s.archive.appendMic(pcm, start, s.session, seq, !forwarded);
    this.backpressure(s);
  }

  private async renewToken(s: MicStream, ws: WebSocket, token: string): Promise<void> {
    try {
      const verified = await this.opts.verifier.verify(token);
      if (verified.userId !== s.userId) throw new Error('another user');
      s.tokenExpiresAt = (verified.claims.exp ?? 0) * 1000;
    } catch {
      this.send(ws, { type: 'error', code: 'TOKEN_REJECTED', message: 'The new token was not accepted' });
    }
  }

  private backpressure(s: MicStream): void {
    if (!s.ws) return;
    const speechLagMs = s.meetingSession.speechBacklogMs;
    const archiveLagMs = s.archive.pendingMs;
    if (!s.held && (archiveLagMs >= this.limits.holdAtMs || speechLagMs >= this.limits.holdAtMs)) {
      s.held = true;
      this.stats.holds++;
      this.send(s.ws, { type: 'hold', reason: archiveLagMs >= this.limits.holdAtMs ? 'archive' : 'speech' });
    } else if (s.held && archiveLagMs <= this.limits.resumeAtMs && speechLagMs <= this.limits.resumeAtMs) {
      s.held = false;
      this.send(s.ws, { type: 'resume' });
    }
  }

  private onClose(s: MicStream, ws: WebSocket): void {
    if (s.ws !== ws) return;
    s.ws = undefined;
    // Store what arrived, so a reconnect (to any task) resumes after it.
    s.archive.cut();
    const state = s.meetingSession.currentState;
    if (state === 'ending' || state === 'ended') return;
    s.graceTimer = setTimeout(() => {
      if (s.ws) return;
      void s.meetingSession.end('The microphone did not reconnect');
    }, this.opts.reconnectGraceMs ?? 600_000);
    s.graceTimer.unref();
  }

  private tick(): void {
    const now = Date.now();
    for (const [meetingId, s] of this.streams) {
      const state = s.meetingSession.currentState;
      if (state === 'ended') {
        clearTimeout(s.graceTimer);
        s.detach();
        this.streams.delete(meetingId);
      }
      if (!s.ws || state === 'ending') continue;
      if (state === 'ended') {
        // Ended by a stop, or handed over because this task is stopping: then reconnect elsewhere.
        if (this.host?.accepting === false) this.close(s.ws, 'RESTARTING', 'Service restart: reconnect');
        else this.close(s.ws, 'MEETING_ENDED', 'Meeting ended');
        continue;
      }
      if (s.tokenExpiresAt > 0 && now >= s.tokenExpiresAt) {
        this.close(s.ws, 'UNAUTHORIZED', 'Token expired');
        continue;
      }
      this.backpressure(s);
    }
    this.stats.streams = this.streams.size;
  }

  private send(ws: WebSocket, message: MicServerMessage): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  }

  private close(ws: WebSocket, name: MicCloseName, reason: string): void {
    this.stats.refused[name] = (this.stats.refused[name] ?? 0) + 1;
    if (name !== 'MEETING_ENDED' && name !== 'REPLACED')
      this.log.info('closing microphone stream', { name, reason });
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING)
      ws.close(MIC_CLOSE_CODES[name].code, reason);
  }
}

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) return fromQuery;
  const header = req.headers['sec-websocket-protocol'];
  for (const protocol of (typeof header === 'string' ? header : '').split(',')) {
    const p = protocol.trim();
    if (p.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) return p.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
  }
  return undefined;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
