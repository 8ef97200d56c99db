/**
 * The audio gateway's ingress: an HTTP server with `GET /healthz` and the WebSocket path
 * Recall connects to (`/recall/{meetingId}?token=…`). One MeetingSession per live meeting;
 * a Recall reconnect re-attaches to the same session. Commands (pause / resume / stop) are
 * learned by polling the meetings table (one BatchGet per 100 live meetings per interval) and
 * applied in the order they were given (each meeting's command log).
 *
 * One Recall connection per meeting: while one is streaming, another is refused (409), so two
 * bots on one meeting cannot take turns; a connection silent for STALE_CONNECTION_MS is
 * replaced by a new one (close 4000). Close codes sent to Recall: RECALL_CLOSE_CODES.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { endpointTokenMatches } from '../meetings/endpoint-token';
import { isTerminal } from '../meetings/lifecycle';
import type { Meeting } from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import type { PipelineEvent } from '../pipeline/events';
import { RecallFrameReader } from '../recall/frame-reader';
import type { RecallMessage } from '../recall/realtime-schema';
import { DEFAULT_MAX_SESSIONS } from './capacity';
import type { SttConnector } from './deepgram-connector';
import type { GatewayExtensions } from './gateway-extensions';
import { MeetingSession, type SessionInput, SPEECH_FLUSH_MAX_MS, stateAfter } from './meeting-session';

/** Frames above this close the socket with 1009; smaller oversize frames are rejected one by one. */
export const MAX_WS_PAYLOAD_BYTES = 1024 * 1024;

/**
 * Close codes the gateway sends to Recall. Recall reconnects after any close except 1000
 * (https://docs.recall.ai/docs/real-time-websocket-endpoints#retry-policy).
 */
export const RECALL_CLOSE_CODES = {
  /** The meeting is over: Recall stops delivering. */
  MEETING_ENDED: 1000,
  /** Graceful stop of this task: Recall reconnects (through the load balancer) to another task. */
  HANDOVER: 1012,
  /** A newer connection took over from this one, which had been silent (a dead peer). */
  REPLACED: 4000,
  /** Another connection already streams this meeting (lost a race at the upgrade). */
  DUPLICATE: 4409,
} as const;

/** A connection that has sent nothing for this long may be replaced by a new one. */
export const STALE_CONNECTION_MS = 10_000;
/**
 * Recall only sends, so the gateway pings each Recall socket this often: CloudFront closes a
 * WebSocket that has carried no byte from the origin for 10 minutes (docs/deploy.md), and the
 * ping's pong also proves the peer is alive.
 */
export const RECALL_PING_MS = 60_000;
const PATH = /^\/recall\/([A-Za-z0-9_-]{1,64})$/;

/**
 * Bounds of the steps of a stop (shutdown, handover). A step still running at its bound is given
 * up with an error log naming it, so a stuck speech engine, event queue or recording assembly can
 * never hold a stopping task (or a local stack's stop) forever.
 */
export const STOP_STEP_BOUNDS = {
  /** Ending every session: its speech flush (≤ SPEECH_FLUSH_MAX_MS) plus its last writes. */
  sessionsMs: SPEECH_FLUSH_MAX_MS + 15_000,
  /** Publishing the last events and storing the recordings (`flush`). */
  flushMs: 30_000,
};

export interface AudioGatewayOptions {
  host?: string;
  port?: number;
  repo: Pick<
    MeetingRepository,
    | 'get'
    | 'reserveSeqs'
    | 'releaseSeq'
    | 'setStatusIf'
    | 'getControlStates'
    | 'ackCommands'
    | 'setHandover'
    | 'clearHandover'
  >;
  /** A Recall connection silent this long may be replaced by a new one (default STALE_CONNECTION_MS). */
  staleConnectionMs?: number;
  /** How often each Recall socket is pinged (default RECALL_PING_MS). */
  recallPingMs?: number;
  connector: SttConnector;
  publish: (event: PipelineEvent) => void;
  /** Resolves when every published event has been sent (used on shutdown). */
  flush: () => Promise<void>;
  logger: Logger;
  /** Most meetings one task serves at once (default DEFAULT_MAX_SESSIONS); more are refused with 503 so Recall retries elsewhere. */
  maxSessions?: number;
  commandPollMs?: number;
  /** How long a session waits for Recall to reconnect before it ends (Recall retries 30 × 3 s). */
  reconnectGraceMs?: number;
  onAudioForwarded?: (receivedAt: number) => void;
  sttOptions?: {
    keepAliveMs?: number;
    reconnectDelayMs?: number;
    closeTimeoutMs?: number;
    closeIdleMs?: number;
  };
  /** Browser microphones (`/browser/{meetingId}`) and recordings (core/audio/gateway-extensions.ts). */
  extensions?: GatewayExtensions;
  /** Bounds of the stop's steps (default STOP_STEP_BOUNDS; tests shorten them). */
  stopBounds?: Partial<typeof STOP_STEP_BOUNDS>;
}

interface LiveMeeting {
  session: MeetingSession;
  socket: WebSocket | undefined;
  /** performance.now() of the last frame on `socket`. */
  lastFrameAt: number;
  graceTimer: NodeJS.Timeout | undefined;
  /** The meeting's keywords as last read (at the session's start, then by every command poll). */
  keywords: readonly string[];
}

export interface GatewayStats {
  sessions: number;
  rejectedFrames: Record<string, number>;
  acceptedFrames: number;
  /** Accepted frames answered from their connection's frame template (no JSON.parse; core/recall/frame-reader.ts). */
  templatedFrames: number;
  refusedUpgrades: number;
}

export class AudioGateway {
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly meetings = new Map<string, LiveMeeting>();
  /** Upgrades for new meetings between the capacity check and the session's creation. */
  private readonly reserved = new Set<string>();
  private readonly log: Logger;
  private pollTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private draining = false;
  private backpressure = false;
  private shuttingDown: Promise<void> | undefined;
  private killed = false;
  readonly stats: GatewayStats = {
    sessions: 0,
    rejectedFrames: {},
    acceptedFrames: 0,
    templatedFrames: 0,
    refusedUpgrades: 0,
  };

  constructor(private readonly opts: AudioGatewayOptions) {
    this.log = opts.logger;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_PAYLOAD_BYTES });
    this.server = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/healthz') {
        const body = JSON.stringify({
          status: this.shuttingDown ? 'draining' : 'ok',
          sessions: this.meetings.size,
        });
        res.writeHead(this.shuttingDown ? 503 : 200, { 'content-type': 'application/json' }).end(body);
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
    });
    this.server.on('upgrade', (req, socket, head) => {
      void this.upgrade(req, socket as Socket, head);
    });
  }

  async listen(): Promise<{ port: number; url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.pollTimer = setInterval(() => void this.pollCommands(), this.opts.commandPollMs ?? 500);
    this.pollTimer.unref();
    this.pingTimer = setInterval(() => this.pingRecall(), this.opts.recallPingMs ?? RECALL_PING_MS);
    this.pingTimer.unref();
    const address = this.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return { port, url: `ws://${this.opts.host ?? '127.0.0.1'}:${port}` };
  }

  /** Meetings this task serves now. */
  get sessionCount(): number {
    return this.meetings.size;
  }

  session(meetingId: string): MeetingSession | undefined {
    return this.meetings.get(meetingId)?.session;
  }

  /** The meeting's live session, started as for a Recall connection when there is none (browser microphones). */
  openSession(meetingId: string, meeting: Meeting): MeetingSession {
    return this.liveMeeting(meetingId, meeting).session;
  }

  /** Whether a session for the meeting fits here now (browser microphones; Recall checks in `upgrade`). */
  hasRoomFor(meetingId: string): boolean {
    if (this.meetings.has(meetingId)) return true;
    return (
      !this.backpressure &&
      this.meetings.size + this.reserved.size < (this.opts.maxSessions ?? DEFAULT_MAX_SESSIONS)
    );
  }

  /** False once the task is stopping or has been killed. */
  get accepting(): boolean {
    return !this.shuttingDown && !this.draining && !this.killed;
  }

  /**
   * Finalize every session, flush the publisher, close every socket. Each step is bounded
   * (STOP_STEP_BOUNDS); one given up is logged. Idempotent.
   */
  shutdown(reason = 'shutdown'): Promise<void> {
    this.shuttingDown ??= (async () => {
      clearInterval(this.pollTimer);
      clearInterval(this.pingTimer);
      this.server.close();
      const live = [...this.meetings.values()];
      await this.bounded(
        'ending sessions',
        this.stopBound('sessionsMs'),
        Promise.allSettled(live.map((m) => m.session.end(reason))),
        () => ({
          unfinished: live.filter((m) => m.session.currentState !== 'ended').map((m) => m.session.meetingId),
        }),
      );
      for (const client of this.wss.clients) client.terminate();
      await this.bounded(
        'publishing the last events and storing recordings',
        this.stopBound('flushMs'),
        this.opts.flush(),
      );
      this.opts.extensions?.shutdown();
      this.server.closeAllConnections();
    })();
    return this.shuttingDown;
  }

  /**
   * The event publisher is holding too many events (SQS unavailable): stop reading Recall's
   * sockets (TCP pushes back on Recall; nothing is dropped here) and take no new meetings,
   * until it clears.
   */
  applyBackpressure(on: boolean): void {
    if (this.backpressure === on) return;
    this.backpressure = on;
    for (const m of this.meetings.values()) {
      if (on) m.socket?.pause();
      else m.socket?.resume();
    }
  }

  /** Stops taking new Recall connections (the port is freed); live sessions carry on. */
  stopListening(): void {
    this.draining = true;
    clearInterval(this.pollTimer);
    clearInterval(this.pingTimer);
    this.server.close();
  }

  /**
   * Graceful stop (SIGTERM on a deploy or scale-in): hand every meeting over to another task.
   * Each session cuts its stream at a quiet moment, flushes the speech engine and publishes the
   * last finals; once they are sent, Recall's socket is closed with 1012 so that Recall
   * reconnects (to a healthy task) and the meeting goes on, `live`, with the next seq.
   * Resolves within `maxWaitMs` plus the flush. Idempotent.
   */
  handover(maxWaitMs = 5_000): Promise<void> {
    this.shuttingDown ??= (async () => {
      this.stopListening();
      const live = [...this.meetings.values()];
      await Promise.allSettled(
        live.map(async (m) => {
          const meetingId = m.session.meetingId;
          // At the cut, Recall is told to reconnect (to another task) while this one flushes;
          // the next task holds its events until the handover mark is cleared.
          await m.session.handover(maxWaitMs, () => {
            clearTimeout(m.graceTimer);
            m.socket?.close(RECALL_CLOSE_CODES.HANDOVER, 'Service restart: reconnect');
          });
          await this.bounded(
            'publishing a handed-over meeting',
            this.stopBound('flushMs'),
            this.opts.flush(),
            () => ({
              meetingId,
            }),
          );
          await this.opts.repo.clearHandover(meetingId).catch((error: unknown) => {
            this.log.warn('could not clear the handover mark', { meetingId, error: String(error) });
          });
        }),
      );
      await this.bounded(
        'publishing the last events and storing recordings',
        this.stopBound('flushMs'),
        this.opts.flush(),
      );
      for (const client of this.wss.clients) client.terminate();
      this.opts.extensions?.shutdown();
      this.server.closeAllConnections();
    })();
    return this.shuttingDown;
  }

  private stopBound(step: keyof typeof STOP_STEP_BOUNDS): number {
    return this.opts.stopBounds?.[step] ?? STOP_STEP_BOUNDS[step];
  }

  /** Waits for `work`, or gives it up after `boundMs` with an error log naming the step. */
  private async bounded(
    step: string,
    boundMs: number,
    work: Promise<unknown>,
    detail: () => Record<string, unknown> = () => ({}),
  ): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), boundMs);
    });
    const done = work.then(
      () => false,
      (error: unknown) => {
        this.log.error('stop step failed', { step, error: String(error) });
        return false;
      },
    );
    if (await Promise.race([done, gaveUp])) {
      this.log.error('stop step did not finish in time; going on without it', { step, boundMs, ...detail() });
    }
    clearTimeout(timer);
  }

  /** Stop without finalizing anything (tests simulate a crashed task with this). */
  async kill(): Promise<void> {
    this.killed = true;
    clearInterval(this.pollTimer);
    clearInterval(this.pingTimer);
    this.opts.extensions?.kill();
    for (const m of this.meetings.values()) {
      clearTimeout(m.graceTimer);
      m.session.abandon();
    }
    this.meetings.clear();
    for (const client of this.wss.clients) client.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private refuse(socket: Socket, status: number, message: string): void {
    this.stats.refusedUpgrades++;
    const body = JSON.stringify({ message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (this.opts.extensions?.handlesPath(url.pathname))
      return this.opts.extensions.upgrade(req, socket, head, this);
    const match = PATH.exec(url.pathname);
    if (!match) return this.refuse(socket, 404, 'Unknown path');
    if (req.method !== 'GET') return this.refuse(socket, 405, 'Method not allowed');
    if (!this.accepting) return this.refuse(socket, 503, 'Shutting down');
    const meetingId = match[1] as string;
    const token = url.searchParams.get('token');
    if (!token) return this.refuse(socket, 401, 'Missing token');
    // The slot is taken before the first await, so simultaneous upgrades cannot exceed maxSessions.
    const isNew = !this.meetings.has(meetingId) && !this.reserved.has(meetingId);
    if (isNew) {
      if (this.meetings.size + this.reserved.size >= (this.opts.maxSessions ?? DEFAULT_MAX_SESSIONS)) {
        return this.refuse(socket, 503, 'At capacity');
      }
      if (this.backpressure) return this.refuse(socket, 503, 'Event queue backlogged');
      this.reserved.add(meetingId);
    }
    try {
      let meeting: Meeting | undefined;
      try {
        meeting = await this.opts.repo.get(meetingId);
      } catch (error) {
        this.log.error('meeting lookup failed', { meetingId, error: String(error) });
        return this.refuse(socket, 503, 'Meeting store unavailable');
      }
      if (!meeting) return this.refuse(socket, 404, 'Unknown meeting');
      if (!endpointTokenMatches(token, meeting.endpointTokenHash)) {
        this.log.warn('refused Recall upgrade: bad token', { meetingId });
        return this.refuse(socket, 401, 'Bad token');
      }
      // Only a caller holding the meeting's token learns that another connection streams it.
      if (this.streaming(meetingId)) {
        return this.refuse(socket, 409, 'Meeting already has a live Recall connection');
      }
      if (isTerminal(meeting.status) || stateAfter(meeting.commandLog ?? []) === 'stop') {
        return this.refuse(socket, 410, 'Meeting has ended');
      }
      // Checked again after the lookup: a task stopped or killed meanwhile takes no new session.
      if (!this.accepting) return this.refuse(socket, 503, 'Shutting down');
      const found = meeting;
      this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(meetingId, found, ws));
    } finally {
      if (isNew) this.reserved.delete(meetingId);
    }
  }

  private pingRecall(): void {
    for (const { socket } of this.meetings.values()) {
      if (socket?.readyState === socket?.OPEN) socket?.ping();
    }
  }

  /** Whether another connection is streaming this meeting now (so a new one is refused). */
  private streaming(meetingId: string): boolean {
    const live = this.meetings.get(meetingId);
    return (
      live?.socket !== undefined &&
      live.socket.readyState === live.socket.OPEN &&
      performance.now() - live.lastFrameAt < (this.opts.staleConnectionMs ?? STALE_CONNECTION_MS)
    );
  }

  private attach(meetingId: string, meeting: Meeting, ws: WebSocket): void {
    if (this.streaming(meetingId)) {
      ws.close(RECALL_CLOSE_CODES.DUPLICATE, 'Meeting already has a live Recall connection');
      return;
    }
    const live = this.liveMeeting(meetingId, meeting);
    live.socket?.close(RECALL_CLOSE_CODES.REPLACED, 'Replaced by a newer connection');
    this.connect(meetingId, live, ws);
  }

  /** The meeting's live entry, with a session started for it when there is none. */
  private liveMeeting(meetingId: string, meeting: Meeting): LiveMeeting {
    let live = this.meetings.get(meetingId);
    if (live) {
      clearTimeout(live.graceTimer);
      live.graceTimer = undefined;
      this.log.info('Recall reconnected', { meetingId });
    } else {
      // Live (or paused) with no handover mark: an earlier task may have crashed mid-utterance.
      const takeover =
        (meeting.status === 'live' || meeting.status === 'paused') &&
        meeting.source !== 'microphone' &&
        !((meeting.handoverUntil ?? 0) > Date.now());
      const recoverLostSpan = takeover ? this.opts.extensions?.readArchivedAudio : undefined;
      const session = new MeetingSession({
        meetingId,
        keywords: meeting.keywords ?? [],
        language: meeting.language ?? 'en',
        connector: this.opts.connector,
        repo: this.opts.repo,
        publish: this.opts.publish,
        logger: this.log,
        commandLog: meeting.commandLog ?? [],
        seqCounter: meeting.seqCounter ?? 0,
        ...(meeting.handoverUntil ? { handoverUntil: meeting.handoverUntil } : {}),
        ...(recoverLostSpan ? { recoverLostSpan } : {}),
        onRejected: (reason, detail) => this.reject(session.meetingId, reason, detail),
        onAudioForwarded: this.opts.onAudioForwarded,
        sttOptions: this.opts.sttOptions,
        onEnded: (_session, outcome) => {
          const current = this.meetings.get(meetingId);
          if (current?.session !== session) return;
          clearTimeout(current.graceTimer);
          this.meetings.delete(meetingId);
          this.stats.sessions = this.meetings.size;
          // A handover closes the socket itself, once the last finals are sent.
          if (outcome === 'ended') current.socket?.close(RECALL_CLOSE_CODES.MEETING_ENDED, 'Meeting ended');
        },
      });
      live = {
        session,
        socket: undefined,
        lastFrameAt: performance.now(),
        graceTimer: undefined,
        keywords: meeting.keywords ?? [],
      };
      this.meetings.set(meetingId, live);
      this.stats.sessions = this.meetings.size;
      void session.start().catch((error) => {
        this.log.error('session failed to start', { meetingId, error: String(error) });
      });
      this.log.info('meeting session started', { meetingId });
      this.opts.extensions?.follow(meetingId, session);
    }
    return live;
  }

  private connect(meetingId: string, entry: LiveMeeting, ws: WebSocket): void {
    entry.socket = ws;
    entry.lastFrameAt = performance.now();
    if (this.backpressure) ws.pause();
    // One per connection: it learns this connection's frame envelope (core/recall/frame-reader.ts).
    const reader = new RecallFrameReader();
    ws.on('message', (data, isBinary) => this.onFrame(entry, reader, data, isBinary));
    ws.on('error', (error) => this.log.warn('Recall socket error', { meetingId, error: error.message }));
    ws.on('close', (code) => {
      if (entry.socket !== ws || this.killed) return;
      entry.socket = undefined;
      if (entry.session.currentState === 'ended' || entry.session.currentState === 'ending') return;
      this.log.info('Recall disconnected; waiting for a reconnect', { meetingId, code });
      if (this.shuttingDown) return; // handed over: another task takes the reconnect
      entry.session.recallDetached();
      entry.graceTimer = setTimeout(() => {
        void entry.session.end('Recall did not reconnect');
      }, this.opts.reconnectGraceMs ?? 100_000);
      entry.graceTimer.unref();
    });
  }

  private onFrame(entry: LiveMeeting, reader: RecallFrameReader, data: RawData, isBinary: boolean): void {
    const receivedAt = performance.now();
    entry.lastFrameAt = receivedAt;
    if (isBinary) {
      this.reject(entry.session.meetingId, 'binary_frame', 'Recall v1.11 sends JSON text frames only');
      return;
    }
    const templated = reader.stats.templated;
    const parsed = reader.read(data.toString());
    if (!parsed.ok) {
      this.reject(entry.session.meetingId, parsed.reason, parsed.detail);
      return;
    }
    this.stats.acceptedFrames++;
    if (reader.stats.templated !== templated) this.stats.templatedFrames++;
    const input = toSessionInput(parsed.message);
    if (input && this.opts.extensions) this.opts.extensions.forward(entry.session, input, receivedAt);
    else if (input) entry.session.handle(input, receivedAt);
  }

  private reject(meetingId: string, reason: string, detail: string): void {
    const count = (this.stats.rejectedFrames[reason] ?? 0) + 1;
    this.stats.rejectedFrames[reason] = count;
    // Log the first few of each reason per process, then every 100th, so a flood cannot flood the logs.
    if (count <= 10 || count % 100 === 0) {
      this.log.warn('rejected Recall frame', { meetingId, reason, detail, count });
    }
  }

  /**
   * A live meeting's keywords as this task last read them (its command poll reads them every
   * `commandPollMs`), or undefined for a meeting it does not serve: the interim coalescer's
   * `keywordsOf` (core/pipeline/interim-coalescer.ts).
   */
  keywordsOf(meetingId: string): readonly string[] | undefined {
    return this.meetings.get(meetingId)?.keywords;
  }

  private async pollCommands(): Promise<void> {
    if (this.polling || this.meetings.size === 0) return;
    this.polling = true;
    try {
      const states = await this.opts.repo.getControlStates([...this.meetings.keys()]);
      for (const [meetingId, state] of states) {
        const live = this.meetings.get(meetingId);
        if (!live) continue;
        live.keywords = state.keywords ?? [];
        // Not awaited: a stop finalizes for up to a few seconds and must not hold up the others.
        live.session.applyCommands(state.commandLog ?? [], state.status).catch((error) => {
          this.log.error('command failed', { meetingId, error: String(error) });
        });
      }
    } catch (error) {
      this.log.warn('command poll failed', { error: String(error) });
    } finally {
      this.polling = false;
    }
  }
}

function toSessionInput(message: RecallMessage): SessionInput | undefined {
  const relativeMs = message.timestamp.relative * 1000;
  if (message.kind === 'audio') {
    if (message.event === 'audio_mixed_raw.data') return { kind: 'audio', pcm: message.pcm, relativeMs };
    return {
      kind: 'separate_audio',
      participantId: message.participant.id,
      name: message.participant.name,
      pcm: message.pcm,
      relativeMs,
    };
  }
  const action = message.event.slice('participant_events.'.length);
  if (
    action === 'join' ||
    action === 'leave' ||
    action === 'update' ||
    action === 'speech_on' ||
    action === 'speech_off'
  ) {
    return {
      kind: 'participant',
      action,
      participantId: message.participant.id,
      name: message.participant.name,
      relativeMs,
    };
  }
  return undefined;
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  503: 'Service Unavailable',
};
