/**
 * The reference client of Parley's realtime API, used by the tests, the terminal client and
 * the web page (it runs in browsers and Node: pass `ws` as `WebSocketImpl` in Node 20).
 *
 * It reconnects with exponential backoff (1 s, 2 s, 4 s … capped), pings every 5 minutes to keep
 * the socket alive under API Gateway's 10-minute idle limit (API Gateway answers the ping
 * itself: no Lambda runs), and resubscribes with the last final seq it
 * holds. During a replay it buffers live finals and merges them by seq, so the finals it emits
 * have no gap and no duplicate across reconnects.
 */
import { backoffDelay } from '../backoff';
import type { MeetingStatus } from '../meetings/model';
import { PING_INTERVAL_MS } from './ping-route';
import type { ServerMessage } from './protocol';

type Transcript = Extract<ServerMessage, { type: 'transcript' }>['transcript'];
type Alert = Extract<ServerMessage, { type: 'keyword_alert' }>;
type ErrorMsg = Extract<ServerMessage, { type: 'error' }>;
type Ack = Extract<ServerMessage, { type: 'command_ack' }>;

export interface ClientEvents {
  open: [];
  close: [{ code: number; reason: string }];
  /** A reconnect is scheduled in `delayMs` (attempt 1, 2, …); the web page shows a countdown. */
  reconnecting: [{ delayMs: number; attempt: number }];
  subscribed: [{ meetingId: string; status: MeetingStatus; lastSeq: number }];
  final: [{ meetingId: string; segment: Transcript }];
  interim: [{ meetingId: string; segment: Transcript }];
  /** Provisional, confirmed or withdrawn (one `alertId` per occurrence; docs/protocol.md). */
  keyword_alert: [Alert];
  /** The rolling briefing changed (also sent once after each subscribe's replay, when there is one). */
  briefing_update: [Extract<ServerMessage, { type: 'briefing_update' }>];
  status: [{ meetingId: string; status: MeetingStatus }];
  /** Interims with a seq below `beforeSeq` that are not final by now never will be: drop them. */
  interim_dropped: [{ meetingId: string; beforeSeq: number }];
  error: [ErrorMsg];
  message: [ServerMessage];
}

interface MinimalSocket {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
type SocketCtor = new (url: string) => MinimalSocket;

export interface ParleyClientOptions {
  /** wss://…/{stage} — the token is added as `?token=`. */
  url: string;
  token: () => string | Promise<string>;
  WebSocketImpl?: SocketCtor;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Default PING_INTERVAL_MS (5 min): what API Gateway's 10-minute idle limit needs. */
  pingIntervalMs?: number;
}

interface MeetingState {
  lastSeq: number;
  replaying: boolean;
  buffer: Transcript[];
}

export class ParleyClient {
  private socket: MinimalSocket | undefined;
  private readonly meetings = new Map<string, MeetingState>();
  private readonly listeners = new Map<keyof ClientEvents, Set<(...args: never[]) => void>>();
  private readonly pendingAcks = new Map<string, { resolve: (a: Ack) => void; reject: (e: Error) => void }>();
  private attempt = 0;
  private closedByUser = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private nextRequestId = 1;
  /** Every connection opened, for tests and diagnostics. */
  connects = 0;

  constructor(private readonly opts: ParleyClientOptions) {}

  on<E extends keyof ClientEvents>(event: E, fn: (...args: ClientEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(fn as never);
    return () => set.delete(fn as never);
  }

  get connected(): boolean {
    return this.socket?.readyState === 1;
  }

  /** The highest final seq received for a meeting. */
  lastSeq(meetingId: string): number {
    return this.meetings.get(meetingId)?.lastSeq ?? 0;
  }

  connect(): void {
    this.closedByUser = false;
    void this.open();
  }

  subscribe(meetingId: string, lastSeq = this.lastSeq(meetingId)): void {
    const state = this.meetings.get(meetingId) ?? { lastSeq, replaying: false, buffer: [] };
    state.lastSeq = Math.max(state.lastSeq, lastSeq);
    this.meetings.set(meetingId, state);
    this.sendSubscribe(meetingId, state);
  }

  unsubscribe(meetingId: string): void {
    this.meetings.delete(meetingId);
    this.send({ action: 'unsubscribe', meetingId });
  }

  /** Sends a command and resolves with its `command_ack` (rejects on an `error` reply). */
  command(
    meetingId: string,
    command: 'pause' | 'resume' | 'stop' | 'configure',
    config?: { keywords?: string[]; language?: string },
  ): Promise<Ack> {
    const requestId = `r${this.nextRequestId++}`;
    return new Promise((resolve, reject) => {
      this.pendingAcks.set(requestId, { resolve, reject });
      this.send({ action: 'command', meetingId, command, requestId, ...(config ? { config } : {}) });
    });
  }

  /** Sends any frame (tests use it for malformed ones). */
  send(message: Record<string, unknown> | string): boolean {
    if (!this.connected) return false;
    this.socket?.send(typeof message === 'string' ? message : JSON.stringify(message));
    return true;
  }

  /** Drops the socket without closing the client: it reconnects and resubscribes. */
  drop(): void {
    this.socket?.close(4000, 'client drop');
  }

  close(): void {
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    for (const pending of this.pendingAcks.values()) pending.reject(new Error('client closed'));
    this.pendingAcks.clear();
    this.socket?.close(1000, 'bye');
  }

  private emit<E extends keyof ClientEvents>(event: E, ...args: ClientEvents[E]): void {
    for (const fn of this.listeners.get(event) ?? []) (fn as (...a: ClientEvents[E]) => void)(...args);
  }

  private async open(): Promise<void> {
    let token: string;
    try {
      token = await this.opts.token();
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (this.closedByUser) return;
    const Impl = this.opts.WebSocketImpl ?? (globalThis as unknown as { WebSocket: SocketCtor }).WebSocket;
    const url = `${this.opts.url}${this.opts.url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
    const socket = new Impl(url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.connects++;
      // Resubscribe first: an 'open' listener that subscribes anew must not subscribe twice.
      for (const [meetingId, state] of this.meetings) this.sendSubscribe(meetingId, state);
      this.emit('open');
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(
        () => this.send({ action: 'ping' }),
        this.opts.pingIntervalMs ?? PING_INTERVAL_MS,
      );
    };
    socket.onmessage = (ev) => this.onMessage(String(ev.data));
    socket.onerror = () => undefined; // a close follows
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      clearInterval(this.pingTimer);
      this.emit('close', { code: ev.code, reason: ev.reason });
      if (!this.closedByUser) this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    this.attempt++;
    // 1 s, 2 s, 4 s … capped (docs/protocol.md), no jitter.
    const delay = backoffDelay(this.attempt, {
      baseMs: this.opts.initialBackoffMs ?? 1_000,
      maxDelayMs: this.opts.maxBackoffMs ?? 30_000,
      jitter: 'none',
    });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.open(), delay);
    this.emit('reconnecting', { delayMs: delay, attempt: this.attempt });
  }

  private sendSubscribe(meetingId: string, state: MeetingState): void {
    state.replaying = true;
    state.buffer = [];
    // batch: the server may pack several messages in one frame (docs/protocol.md "Batched frames").
    this.send({ action: 'subscribe', meetingId, lastSeq: state.lastSeq, batch: true });
  }

  private onMessage(raw: string): void {
    let frame: ServerMessage;
    try {
      frame = JSON.parse(raw) as ServerMessage;
    } catch {
      return;
    }
    // A batched frame's messages are handled in order, each as if it had come alone.
    if (frame.type === 'batch') {
      if (!Array.isArray(frame.messages)) return;
      for (const msg of frame.messages) this.onServerMessage(msg);
    } else {
      this.onServerMessage(frame);
    }
  }

  private onServerMessage(msg: ServerMessage): void {
    if (typeof msg !== 'object' || msg === null) return;
    this.emit('message', msg);
    switch (msg.type) {
      case 'subscribed':
        this.emit('subscribed', { meetingId: msg.meetingId, status: msg.status, lastSeq: msg.lastSeq });
        return;
      case 'transcript': {
        const state = this.meetings.get(msg.meetingId);
        if (!state) return;
        const segment = msg.transcript;
        if (!segment.isFinal) {
          if (segment.seq > state.lastSeq) this.emit('interim', { meetingId: msg.meetingId, segment });
        } else if (state.replaying) {
          state.buffer.push(segment);
        } else {
          this.acceptFinal(msg.meetingId, state, segment);
        }
        return;
      }
      case 'replay_complete': {
        const state = this.meetings.get(msg.meetingId);
        if (!state) return;
        state.replaying = false;
        const buffered = state.buffer.sort((a, b) => a.seq - b.seq);
        state.buffer = [];
        for (const segment of buffered) this.acceptFinal(msg.meetingId, state, segment);
        return;
      }
      case 'keyword_alert':
        this.emit('keyword_alert', msg);
        return;
      case 'briefing_update':
        this.emit('briefing_update', msg);
        return;
      case 'status':
        this.emit('status', { meetingId: msg.meetingId, status: msg.status });
        return;
      case 'interim_dropped':
        this.emit('interim_dropped', { meetingId: msg.meetingId, beforeSeq: msg.beforeSeq });
        return;
      case 'command_ack': {
        const pending = msg.requestId ? this.pendingAcks.get(msg.requestId) : undefined;
        if (pending && msg.requestId) {
          this.pendingAcks.delete(msg.requestId);
          pending.resolve(msg);
        }
        return;
      }
      case 'error': {
        const pending = msg.requestId ? this.pendingAcks.get(msg.requestId) : undefined;
        if (pending && msg.requestId) {
          this.pendingAcks.delete(msg.requestId);
          pending.reject(Object.assign(new Error(msg.message), { code: msg.code }));
        } else if (msg.action === 'command' && this.pendingAcks.size === 1) {
          const [id, only] = [...this.pendingAcks][0] as [string, { reject: (e: Error) => void }];
          this.pendingAcks.delete(id);
          only.reject(Object.assign(new Error(msg.message), { code: msg.code }));
        }
        this.emit('error', msg);
        return;
      }
      default:
        return;
    }
  }

  private acceptFinal(meetingId: string, state: MeetingState, segment: Transcript): void {
    if (segment.seq <= state.lastSeq) return; // already have it
    state.lastSeq = segment.seq;
    this.emit('final', { meetingId, segment });
  }
}
