/**
 * One realtime websocket endpoint of a simulated bot, connecting the way Recall does
 * (https://docs.recall.ai/docs/real-time-websocket-endpoints#retry-policy): to the URL exactly as
 * given; on a failed handshake, a network error or a server-side disconnect it retries up to
 * `attempts` times, `intervalMs` apart, per failure incident, then marks the endpoint `failed`
 * and delivers nothing more. A normal closure (1000) by the endpoint ends delivery without retry.
 */
import WebSocket from 'ws';
import type { RecallLogger } from '../../core/recall/client';

export const ENDPOINT_STATES = [
  'pending',
  'connecting',
  'connected',
  'reconnecting',
  'closed',
  'failed',
] as const;
export type EndpointState = (typeof ENDPOINT_STATES)[number];

export interface ReconnectPolicy {
  /** Retries per failure incident (Recall: 30). */
  attempts: number;
  /** Fixed delay before each retry (Recall: 3 s). */
  intervalMs: number;
}

/**
 * A run of mixed audio written on one connection of an endpoint, in samples of the fixture's
 * 16 kHz timeline (sample = meeting ms × 16): what the bot actually sent, so a test can compare
 * the recording with it. `outputAudioMixed`: the bot's own speech was mixed in (the samples are
 * then not the fixture's).
 */
export interface SentAudioSpan {
  /** 1 for the first successful connection, 2 after the first reconnect, … */
  connection: number;
  startSample: number;
  endSample: number;
  outputAudioMixed: boolean;
}

/** Spans kept per endpoint (the oldest go first); a run only splits at a reconnect, a gap or a mix change. */
const MAX_SENT_SPANS = 1_000;

export interface EndpointCallbacks {
  onOpen(info: { attempt: number; reconnected: boolean }): void;
  onConnectFailed(info: { attempt: number; error: string; willRetry: boolean }): void;
  onDisconnected(info: { code: number; reason: string; willRetry: boolean }): void;
  onFailed(info: { attempts: number }): void;
}

const HANDSHAKE_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 2_000;

export class EndpointConnection {
  readonly id: string;
  readonly url: string;
  readonly events: ReadonlySet<string>;
  private stateValue: EndpointState = 'pending';
  private socket: WebSocket | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Retries made in the current failure incident (reset by every successful open). */
  private retriesUsed = 0;
  private totalAttempts = 0;
  private opens = 0;
  private lastError: string | undefined;
  private readonly sentAudio: SentAudioSpan[] = [];

  constructor(
    id: string,
    url: string,
    events: readonly string[],
    private readonly policy: ReconnectPolicy,
    private readonly callbacks: EndpointCallbacks,
    private readonly logger: RecallLogger,
  ) {
    this.id = id;
    this.url = url;
    this.events = new Set(events);
  }

  get state(): EndpointState {
    return this.stateValue;
  }

  get isOpen(): boolean {
    return this.stateValue === 'connected' && this.socket?.readyState === WebSocket.OPEN;
  }

  get stats() {
    return {
      state: this.stateValue,
      connectAttempts: this.totalAttempts,
      connections: this.opens,
      lastError: this.lastError ?? null,
      audioSent: this.sentAudio.map((span) => ({ ...span })),
    };
  }

  /** First connection. Later ones are made by the retry policy. */
  start(): void {
    if (this.stateValue !== 'pending') return;
    this.connect();
  }

  /** Sends one text frame if connected; returns whether it was written. */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    this.socket!.send(text);
    return true;
  }

  /**
   * Sends one mixed-audio frame covering samples [startSample, endSample) if connected, and
   * records it in the endpoint's sent-audio spans; returns whether it was written.
   */
  sendAudio(text: string, startSample: number, endSample: number, outputAudioMixed: boolean): boolean {
    if (!this.send(text)) return false;
    const last = this.sentAudio[this.sentAudio.length - 1];
    if (
      last &&
      last.connection === this.opens &&
      last.endSample === startSample &&
      last.outputAudioMixed === outputAudioMixed
    ) {
      last.endSample = endSample;
    } else {
      this.sentAudio.push({ connection: this.opens, startSample, endSample, outputAudioMixed });
      if (this.sentAudio.length > MAX_SENT_SPANS) this.sentAudio.shift();
    }
    return true;
  }

  /** Test hook: kill the TCP connection without a close frame, as a network failure would. */
  drop(): boolean {
    if (!this.isOpen) return false;
    this.socket!.terminate();
    return true;
  }

  /** Ends delivery for good (call ended, bot left, simulator stopped). Idempotent. */
  close(code = 1000, reason = 'call ended'): void {
    if (this.stateValue === 'closed' || this.stateValue === 'failed') return;
    clearTimeout(this.retryTimer);
    this.stateValue = 'closed';
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    if (socket.readyState === WebSocket.OPEN) {
      socket.close(code, reason);
      // A peer that never answers the close handshake is cut off.
      setTimeout(() => socket.terminate(), CLOSE_TIMEOUT_MS).unref();
    } else {
      socket.terminate();
    }
  }

  private connect(): void {
    this.totalAttempts++;
    const attempt = this.totalAttempts;
    this.stateValue = 'connecting';
    this.lastError = undefined;
    let opened = false;
    const socket = new WebSocket(this.url, {
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      perMessageDeflate: false,
      followRedirects: false,
      maxPayload: 64 * 1024,
    });
    this.socket = socket;

    socket.on('open', () => {
      if (this.socket !== socket) return;
      opened = true;
      const reconnected = this.opens > 0;
      this.opens++;
      this.retriesUsed = 0;
      this.stateValue = 'connected';
      this.logger.info('Recall simulator: realtime endpoint connected', { endpointId: this.id, attempt });
      this.callbacks.onOpen({ attempt, reconnected });
    });
    socket.on('error', (error) => {
      this.lastError = error.message;
    });
    // Recall ignores what the endpoint sends; so does the simulator.
    socket.on('message', () => undefined);
    socket.on('close', (code, reasonBuffer) => {
      if (this.socket !== socket) return; // closed by us on purpose
      this.socket = undefined;
      const reason = reasonBuffer.toString();
      if (opened) {
        if (code === 1000) {
          this.stateValue = 'closed';
          this.logger.info('Recall simulator: realtime endpoint closed the connection', {
            endpointId: this.id,
          });
          this.callbacks.onDisconnected({ code, reason, willRetry: false });
          return;
        }
        this.retriesUsed = 0;
        const willRetry = this.policy.attempts > 0;
        this.logger.warn('Recall simulator: realtime connection lost', {
          endpointId: this.id,
          code,
          willRetry,
        });
        this.callbacks.onDisconnected({ code, reason, willRetry });
        this.scheduleRetryOrFail();
        return;
      }
      const error = this.lastError ?? `connection closed with ${code}`;
      const willRetry = this.retriesUsed < this.policy.attempts;
      this.logger.warn('Recall simulator: realtime endpoint connection failed', {
        endpointId: this.id,
        attempt,
        error,
        willRetry,
      });
      this.callbacks.onConnectFailed({ attempt, error, willRetry });
      this.scheduleRetryOrFail();
    });
  }

  private scheduleRetryOrFail(): void {
    if (this.retriesUsed >= this.policy.attempts) {
      this.fail();
      return;
    }
    this.retriesUsed++;
    this.stateValue = 'reconnecting';
    this.retryTimer = setTimeout(() => this.connect(), this.policy.intervalMs);
  }

  private fail(): void {
    this.stateValue = 'failed';
    this.logger.error('Recall simulator: realtime endpoint marked failed', {
      endpointId: this.id,
      attempts: this.totalAttempts,
    });
    this.callbacks.onFailed({ attempts: this.totalAttempts });
  }
}
