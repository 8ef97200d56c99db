/**
 * A live speech-to-text stream for one meeting that survives dropped sockets: audio since
 * the last final is kept in an AudioRing and sent again after a reconnect, and result times
 * are re-anchored to the session's own stream clock (a new Deepgram stream starts at 0).
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import { backoffDelay, sleep } from '../backoff';
import { AudioRing } from './audio-ring';
import type { SttConnectOptions, SttConnector, SttSocket } from './deepgram-connector';

export interface SttWord {
  word: string;
  startMs: number;
  endMs: number;
  confidence: number;
  speaker?: number;
}

/** A result with times in stream ms. */
export interface SttResult {
  isFinal: boolean;
  speechFinal: boolean;
  fromFinalize: boolean;
  text: string;
  confidence: number;
  startMs: number;
  endMs: number;
  words: SttWord[];
}

export interface SttStreamOptions {
  connector: SttConnector;
  connect: SttConnectOptions;
  logger: Logger;
  onResult: (result: SttResult) => void;
  onUtteranceEnd?: (lastWordEndMs: number) => void;
  keepAliveMs?: number;
  /** Backoff for reconnects: first delay, doubled per attempt up to maxReconnectDelayMs. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /**
   * Longest close() waits for the speech server to flush its last results and close (default
   * 30 s); then the audio not yet final is given up, with a warning.
   */
  closeTimeoutMs?: number;
  /**
   * close() also gives up once the server has sent nothing for this long (a stuck engine), while
   * an engine that lags but keeps sending results is waited for up to closeTimeoutMs. Default:
   * closeTimeoutMs (no separate idle bound).
   */
  closeIdleMs?: number;
}

interface Connection {
  socket: SttSocket;
  /** Stream ms at which this connection's audio begins (its time 0). */
  offsetMs: number;
  open: boolean;
  /** The close code, once closed. */
  closeCode?: number;
}

/** A speech server closes with this once it has flushed everything (after CloseStream). */
const NORMAL_CLOSE = 1000;

export class SttStream {
  private readonly ring = new AudioRing();
  private conn: Connection | undefined;
  private connecting: Promise<void> | undefined;
  private closing = false;
  /** close() is bringing up a socket to flush the audio not yet final (allowed while closing). */
  private flushing = false;
  private closed = false;
  private closeDone: Promise<void> | undefined;
  /** Date.now() of the last message from the speech server (close() measures idleness with it). */
  private lastHeardAt = 0;
  private lastSentAt = Date.now();
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempt = 0;
  /** Stream ms up to which audio has been written to a speech socket at least once. */
  private sentToMs = 0;
  private closeWaiter: (() => void) | undefined;
  /** Counters for health and tests. */
  readonly stats = { connects: 0, reconnects: 0, bytesSent: 0, results: 0 };

  constructor(private readonly opts: SttStreamOptions) {}

  /** Stream ms of audio accepted so far. */
  get positionMs(): number {
    return this.ring.endMs;
  }

  /**
   * Audio handed to the stream but never written to a speech socket (its socket is down), in
   * ms: how far the speech stream lags. Audio resent after a reconnect does not count twice
   * (`stats.bytesSent` does, so it cannot measure this).
   */
  get unsentMs(): number {
    return Math.max(0, this.ring.endMs - this.sentToMs);
  }

  /** Whether a speech socket is open now. */
  get connected(): boolean {
    return this.conn?.open === true;
  }

  async start(): Promise<void> {
    this.keepAliveTimer = setInterval(() => this.keepAlive(), this.opts.keepAliveMs ?? 4_000);
    this.keepAliveTimer.unref();
    await this.ensureConnected();
  }

  /** Send audio; while disconnected it is kept and sent after the reconnect. */
  send(chunk: Buffer): void {
    if (this.closing || chunk.length === 0) return;
    this.ring.push(chunk);
    const conn = this.conn;
    if (conn?.open) {
      if (this.sendMedia(conn, chunk)) this.sentToMs = this.ring.endMs;
    } else {
      void this.ensureConnected();
    }
  }

  /** A final result covers audio up to `endMs`: it need not be sent again. */
  release(endMs: number): void {
    this.ring.releaseUntil(endMs);
  }

  finalize(): void {
    const conn = this.conn;
    if (conn?.open) conn.socket.sendFinalize({ type: 'Finalize' });
  }

  /**
   * Flush pending results, close the stream, and wait (bounded) for the server to close: at most
   * `timeoutMs`, and at most closeIdleMs without a message from the server. When the socket is
   * down at that moment (a drop not yet reconnected) and audio is not final yet, a socket is
   * brought up within the same bound and that audio is sent again first, so it is not lost.
   * Idempotent: a second call returns the first one's promise.
   */
  close(timeoutMs = this.opts.closeTimeoutMs ?? 30_000): Promise<void> {
    this.closeDone ??= this.flushAndClose(timeoutMs);
    return this.closeDone;
  }

  private async flushAndClose(timeoutMs: number): Promise<void> {
    this.closing = true;
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const started = Date.now();
    const deadline = started + timeoutMs;
    const idleMs = Math.min(this.opts.closeIdleMs ?? timeoutMs, timeoutMs);
    const unfinalMs = () => Math.round(this.ring.endMs - this.ring.startMs);
    // Repeated only when the socket drops while flushing (it did not close normally) and audio
    // is still not final: that audio goes to a new socket, within the same bound.
    for (;;) {
      let conn = this.conn?.open ? this.conn : undefined;
      if (!conn && unfinalMs() > 0 && !this.closed) conn = await this.connectToFlush(deadline);
      if (!conn?.open) {
        if (unfinalMs() > 0 && !this.closed) {
          this.opts.logger.warn('speech server unreachable at close; audio not yet final is lost', {
            unfinalMs: unfinalMs(),
          });
        }
        break;
      }
      const closedByServer = new Promise<void>((resolve) => {
        this.closeWaiter = resolve;
      });
      try {
        conn.socket.sendFinalize({ type: 'Finalize' });
        conn.socket.sendCloseStream({ type: 'CloseStream' });
      } catch (error) {
        this.opts.logger.warn('speech socket refused CloseStream', { error: String(error) });
      }
      this.lastHeardAt = Date.now();
      const outcome = await this.waitForServerClose(closedByServer, deadline, idleMs);
      if (outcome !== 'closed') {
        this.opts.logger.warn('speech server did not finish its last results in time; giving them up', {
          reason: outcome === 'idle' ? `nothing received for ${idleMs} ms` : `closing took ${timeoutMs} ms`,
          waitedMs: Date.now() - started,
          unfinalMs: unfinalMs(),
        });
        break;
      }
      if (conn.closeCode === NORMAL_CLOSE || unfinalMs() === 0 || this.closed) break;
      this.opts.logger.warn('speech socket dropped while flushing; sending the audio not yet final again', {
        code: conn.closeCode,
        unfinalMs: unfinalMs(),
      });
    }
    this.closed = true;
    this.conn?.socket.close();
    this.conn = undefined;
  }

  /** Resolves with how the wait ended: the server closed, it went quiet, or the deadline passed. */
  private waitForServerClose(
    closedByServer: Promise<void>,
    deadline: number,
    idleMs: number,
  ): Promise<'closed' | 'idle' | 'deadline'> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        const now = Date.now();
        if (now >= deadline) return resolve('deadline');
        if (now - this.lastHeardAt >= idleMs) return resolve('idle');
        timer = setTimeout(check, Math.min(deadline, this.lastHeardAt + idleMs) - now);
      };
      void closedByServer.then(() => {
        clearTimeout(timer);
        resolve('closed');
      });
      check();
    });
  }

  /** Brings a socket up while closing (its connect resends the ring), retrying until `deadline`. */
  private async connectToFlush(deadline: number): Promise<Connection | undefined> {
    this.flushing = true;
    try {
      for (let tries = 1; !this.closed; tries++) {
        await this.ensureConnected();
        if (this.conn?.open) return this.conn;
        const wait = Math.min(this.reconnectDelay(tries), deadline - Date.now());
        if (wait <= 0) return undefined;
        await sleep(wait);
      }
      return undefined;
    } finally {
      this.flushing = false;
    }
  }

  /** Drop the stream without flushing anything (a crashed process, in tests). */
  abandon(): void {
    this.closing = true;
    this.closed = true;
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.reconnectTimer);
    this.conn?.socket.close();
    this.conn = undefined;
  }

  /** Writes one chunk; false when the socket was not writable (the chunk stays in the ring). */
  private sendMedia(conn: Connection, chunk: Buffer): boolean {
    try {
      conn.socket.sendMedia(chunk);
      this.stats.bytesSent += chunk.length;
      this.lastSentAt = Date.now();
      return true;
    } catch (error) {
      // Socket not open after all: the audio is in the ring and goes out after the reconnect.
      this.opts.logger.debug('speech socket not writable', { error: String(error) });
      return false;
    }
  }

  private keepAlive(): void {
    const conn = this.conn;
    if (!conn?.open || Date.now() - this.lastSentAt < (this.opts.keepAliveMs ?? 4_000)) return;
    try {
      conn.socket.sendKeepAlive({ type: 'KeepAlive' });
      this.lastSentAt = Date.now();
    } catch {
      // a closed socket is handled by its close event
    }
  }

  private ensureConnected(): Promise<void> {
    if ((this.closing && !this.flushing) || this.conn?.open) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    let socket: SttSocket;
    try {
      socket = await this.opts.connector(this.opts.connect);
    } catch (error) {
      this.opts.logger.warn('speech connection failed', {
        error: String(error),
        attempt: this.reconnectAttempt,
      });
      this.scheduleReconnect();
      return;
    }
    if (this.closed || (this.closing && !this.flushing)) {
      socket.close();
      return;
    }
    const conn: Connection = { socket, offsetMs: this.ring.startMs, open: true };
    this.conn = conn;
    this.stats.connects++;
    if (this.stats.connects > 1) this.stats.reconnects++;
    this.reconnectAttempt = 0;
    socket.on('message', (message) => {
      if (this.conn === conn) this.onMessage(conn, message);
    });
    socket.on('close', (event) => this.onClose(conn, event));
    socket.on('error', (error) => {
      this.opts.logger.warn('speech socket error', { error: error.message });
    });
    // Everything not yet covered by a final goes (again) to the new stream.
    let resent = true;
    for (const chunk of this.ring.snapshot()) resent = this.sendMedia(conn, chunk) && resent;
    if (resent) this.sentToMs = this.ring.endMs;
  }

  private onClose(conn: Connection, event: { code: number; reason: string }): void {
    conn.open = false;
    conn.closeCode ??= event.code;
    if (this.closing) {
      this.closeWaiter?.();
      return;
    }
    if (this.conn !== conn) return;
    this.opts.logger.warn('speech socket closed; reconnecting', {
      code: event.code,
      reason: event.reason,
      resendMs: Math.round(this.ring.endMs - this.ring.startMs),
    });
    this.conn = undefined;
    this.scheduleReconnect();
  }

  /** The wait after `tries` failed connects: doubling from reconnectDelayMs, capped, no jitter. */
  private reconnectDelay(tries: number): number {
    return backoffDelay(tries, {
      baseMs: this.opts.reconnectDelayMs ?? 100,
      maxDelayMs: this.opts.maxReconnectDelayMs ?? 5_000,
      jitter: 'none',
    });
  }

  private scheduleReconnect(): void {
    if (this.closing || this.reconnectTimer) return;
    this.reconnectAttempt++;
    const delay = this.reconnectDelay(this.reconnectAttempt);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.ensureConnected();
    }, delay);
  }

  private onMessage(conn: Connection, message: unknown): void {
    if (this.closed || typeof message !== 'object' || message === null) return;
    this.lastHeardAt = Date.now();
    const m = message as Record<string, unknown>;
    if (m.type === 'Results') {
      const result = toResult(m, conn.offsetMs);
      if (result) {
        this.stats.results++;
        this.opts.onResult(result);
      }
    } else if (m.type === 'UtteranceEnd' && typeof m.last_word_end === 'number') {
      this.opts.onUtteranceEnd?.(conn.offsetMs + m.last_word_end * 1000);
    }
  }
}

function toResult(m: Record<string, unknown>, offsetMs: number): SttResult | undefined {
  const channel = m.channel as { alternatives?: unknown[] } | undefined;
  const alt = channel?.alternatives?.[0] as
    | { transcript?: string; confidence?: number; words?: Record<string, unknown>[] }
    | undefined;
  if (!alt || typeof m.start !== 'number' || typeof m.duration !== 'number') return undefined;
  const words: SttWord[] = (alt.words ?? []).flatMap((w) =>
    typeof w.start === 'number' && typeof w.end === 'number'
      ? [
          {
            word: String(w.punctuated_word ?? w.word ?? ''),
            startMs: offsetMs + w.start * 1000,
            endMs: offsetMs + w.end * 1000,
            confidence: typeof w.confidence === 'number' ? w.confidence : 0,
            speaker: typeof w.speaker === 'number' ? w.speaker : undefined,
          },
        ]
      : [],
  );
  return {
    isFinal: m.is_final === true,
    speechFinal: m.speech_final === true,
    fromFinalize: m.from_finalize === true,
    text: (alt.transcript ?? '').trim(),
    confidence: typeof alt.confidence === 'number' ? alt.confidence : 0,
    startMs: offsetMs + m.start * 1000,
    endMs: offsetMs + (m.start + m.duration) * 1000,
    words,
  };
}
