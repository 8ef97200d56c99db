/**
 * The reference client of the microphone chunk protocol (docs/protocol.md), for the browser
 * (the web app feeds it 16 kHz mono s16 PCM from an AudioWorklet) and for Node (tests, bench).
 *
 * Every chunk is stored in a ChunkJournal (IndexedDB in the browser) before it is sent and
 * deleted only when the gateway acknowledges it, so a dropped socket, a reloaded page or a
 * crashed tab resumes without loss: `start()` reopens the same stream session, the gateway's
 * `ready.lastSeq` says what it holds, and only the rest is sent. While the gateway says `hold`
 * (or the socket is down) chunks accumulate in the journal — bounded by `maxBufferedMs`, beyond
 * which `push` throws MicBufferFullError so the UI can stop recording visibly.
 *
 * No Node-only imports: it runs in browsers unchanged (pass `WebSocket` and an IndexedDB journal).
 */
import { backoffDelay } from '../backoff';
import {
  closeNameOf,
  encodeChunk,
  MIC_CLOSE_CODES,
  MIC_LIMITS,
  MIC_SAMPLE_RATE,
  type MicLimits,
  type MicServerMessage,
  micSubprotocols,
} from './chunk-protocol';

export interface StoredChunk {
  seq: number;
  pcm: Uint8Array;
}

/** Where unacknowledged chunks and the stream's identity survive a reload. */
export interface ChunkJournal {
  /** The meeting's open stream session (undefined: start a new one). */
  session(meetingId: string): Promise<{ sessionId: string; nextSeq: number } | undefined>;
  setSession(meetingId: string, value: { sessionId: string; nextSeq: number }): Promise<void>;
  put(meetingId: string, chunk: StoredChunk): Promise<void>;
  /**
   * `put` and `setSession` at once (one transaction), so a reload never finds a chunk without the
   * next seq after it, or the reverse — either would reuse a seq for different audio. Journals
   * without it get the two calls in that order.
   */
  putWithSession?(
    meetingId: string,
    chunk: StoredChunk,
    session: { sessionId: string; nextSeq: number },
  ): Promise<void>;
  /** Chunks with seq > `afterSeq`, in seq order. */
  after(meetingId: string, afterSeq: number): Promise<StoredChunk[]>;
  /** Forget chunks with seq ≤ `seq`. */
  ackUpTo(meetingId: string, seq: number): Promise<void>;
  /** Forget the meeting's stream entirely (it ended). */
  clear(meetingId: string): Promise<void>;
}

/** The browser WebSocket API subset used (the `ws` package's WebSocket matches it too). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

export class MicBufferFullError extends Error {
  constructor(bufferedMs: number) {
    super(`The microphone buffer is full (${Math.round(bufferedMs)} ms not yet stored): recording stopped`);
    this.name = 'MicBufferFullError';
  }
}

export type MicClientState =
  | 'idle'
  | 'connecting'
  | 'streaming'
  | 'held'
  | 'reconnecting'
  | 'ended'
  | 'failed';

export interface MicClientStatus {
  state: MicClientState;
  /** Audio not yet acknowledged (in the journal), in ms: what the UI shows as "buffered". */
  bufferedMs: number;
  lastAckedSeq: number;
  /** While `held`: which part of the gateway lags (the `hold` message's reason). */
  holdReason?: 'archive' | 'speech';
  /** The last close code and its name (MIC_CLOSE_CODES), if any. */
  lastClose?: { code: number; name: string | undefined; reason: string };
}

export interface MicClientOptions {
  /** `streamUrl` from `POST /meetings` (`wss://…/browser/{meetingId}`). */
  streamUrl: string;
  meetingId: string;
  /** A current user token (called before every connection and to renew it). */
  token: () => Promise<string> | string;
  journal: ChunkJournal;
  connect: WebSocketFactory;
  /** Audio per chunk (default 250 ms = 8,000 bytes). */
  chunkMs?: number;
  /** Most unacknowledged audio kept before `push` refuses (default 10 min). */
  maxBufferedMs?: number;
  /** Reconnect backoff: base and cap (ms). */
  backoff?: { baseMs?: number; maxMs?: number };
  onStatus?: (status: MicClientStatus) => void;
  /** Every chunk once it is journaled (before it is sent): a tap for tests and level meters. */
  onChunk?: (chunk: StoredChunk) => void;
  /** A 16-byte random source (default crypto.getRandomValues). */
  randomBytes?: (n: number) => Uint8Array;
}

const OPEN = 1;

export class MicClient {
  private ws: WebSocketLike | undefined;
  private sessionId = '';
  private nextSeq = 1;
  private lastAcked = 0;
  /** Highest seq the server holds (from `ready`) or that was sent on this socket. */
  private sentUpTo = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private unackedBytes = 0;
  private state: MicClientState = 'idle';
  private held = false;
  private holdReason: MicClientStatus['holdReason'];
  private attempt = 0;
  private pumping = false;
  private ready = false;
  private limits: MicLimits = { ...MIC_LIMITS };
  private bucketMs: number = MIC_LIMITS.burstMs;
  private bucketAt = Date.now();
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private lastClose: MicClientStatus['lastClose'];
  private ackWaiters: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private chain: Promise<void> = Promise.resolve();
  private flushWanted = false;
  private readonly chunkBytes: number;

  constructor(private readonly opts: MicClientOptions) {
    this.chunkBytes = Math.round(((opts.chunkMs ?? 250) * MIC_SAMPLE_RATE) / 1000) * 2;
  }

  get status(): MicClientStatus {
    return {
      state: this.state,
      bufferedMs: this.unackedBytes / ((MIC_SAMPLE_RATE * 2) / 1000),
      lastAckedSeq: this.lastAcked,
      ...(this.state === 'held' && this.holdReason ? { holdReason: this.holdReason } : {}),
      ...(this.lastClose ? { lastClose: this.lastClose } : {}),
    };
  }

  get session(): string {
    return this.sessionId;
  }

  /** Open (or, after a reload, reopen) the meeting's stream session and connect. */
  async start(): Promise<void> {
    const saved = await this.opts.journal.session(this.opts.meetingId);
    if (saved) {
      this.sessionId = saved.sessionId;
      this.nextSeq = saved.nextSeq;
      const left = await this.opts.journal.after(this.opts.meetingId, 0);
      this.unackedBytes = left.reduce((n, c) => n + c.pcm.byteLength, 0);
      // A journal without putWithSession may hold a chunk past the saved nextSeq: never reuse it.
      this.nextSeq = Math.max(this.nextSeq, (left.at(-1)?.seq ?? 0) + 1);
    } else {
      this.sessionId = hex((this.opts.randomBytes ?? defaultRandom)(16));
      await this.opts.journal.setSession(this.opts.meetingId, { sessionId: this.sessionId, nextSeq: 1 });
    }
    await this.open();
  }

  /** Append captured PCM (s16le mono 16 kHz). Whole chunks are journaled, then sent. */
  push(pcm: Uint8Array): Promise<void> {
    if (pcm.byteLength % 2 !== 0) throw new RangeError('PCM must be whole 16-bit samples');
    const max = this.opts.maxBufferedMs ?? 600_000;
    if (this.status.bufferedMs > max) throw new MicBufferFullError(this.status.bufferedMs);
    this.pending.push(pcm);
    this.pendingBytes += pcm.byteLength;
    return this.serial(async () => {
      while (this.pendingBytes >= this.chunkBytes) await this.cutChunk(this.chunkBytes);
    });
  }

  /**
   * End of recording: journal and send the partial chunk, ask the gateway to store everything
   * now, and resolve once every chunk is acknowledged.
   */
  async flush(): Promise<void> {
    await this.serial(async () => {
      if (this.pendingBytes > 0) await this.cutChunk(this.pendingBytes);
    });
    const last = this.nextSeq - 1;
    if (last <= this.lastAcked) return;
    const acked = new Promise<void>((resolve, reject) =>
      this.ackWaiters.push({ seq: last, resolve, reject }),
    );
    // Sent once everything is on the wire (now, or after a reconnect).
    this.flushWanted = true;
    void this.pump();
    await acked;
  }

  /** Stop streaming (the journal keeps what is not acknowledged, for a later `start`). */
  close(): void {
    this.setState('idle');
    clearTimeout(this.reconnectTimer);
    this.ws?.close(1000, 'client closed');
    this.ws = undefined;
  }

  /** Send a fresh token before the current one expires (the gateway closes 4401 at expiry). */
  async renewToken(): Promise<void> {
    this.sendControl({ type: 'token', token: await this.opts.token() });
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async cutChunk(bytes: number): Promise<void> {
    const chunk = new Uint8Array(bytes);
    let filled = 0;
    while (filled < bytes) {
      const head = this.pending[0] as Uint8Array;
      const take = Math.min(head.byteLength, bytes - filled);
      chunk.set(head.subarray(0, take), filled);
      filled += take;
      if (take === head.byteLength) this.pending.shift();
      else this.pending[0] = head.subarray(take);
    }
    this.pendingBytes -= bytes;
    const seq = this.nextSeq++;
    // Journal first: once it is there, nothing can lose it.
    const session = { sessionId: this.sessionId, nextSeq: this.nextSeq };
    const journal = this.opts.journal;
    if (journal.putWithSession)
      await journal.putWithSession(this.opts.meetingId, { seq, pcm: chunk }, session);
    else {
      await journal.put(this.opts.meetingId, { seq, pcm: chunk });
      await journal.setSession(this.opts.meetingId, session);
    }
    this.opts.onChunk?.({ seq, pcm: chunk });
    this.unackedBytes += bytes;
    this.emit();
    void this.pump();
  }

  private async open(): Promise<void> {
    if (this.state === 'ended' || this.state === 'failed') return;
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    this.ready = false;
    let token: string;
    try {
      token = await this.opts.token();
    } catch {
      return this.scheduleReconnect();
    }
    const url = `${this.opts.streamUrl}?session=${this.sessionId}`;
    const ws = this.opts.connect(url, micSubprotocols(token));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws !== ws || typeof ev.data !== 'string') return;
      let message: MicServerMessage;
      try {
        message = JSON.parse(ev.data) as MicServerMessage;
      } catch {
        return;
      }
      void this.serial(() => this.onServerMessage(message));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.ready = false;
      this.lastClose = { code: ev.code, name: closeNameOf(ev.code), reason: ev.reason };
      this.onClosed(ev.code);
    };
    ws.onerror = () => undefined;
  }

  private onClosed(code: number): void {
    if (this.state === 'idle') return;
    if (code === MIC_CLOSE_CODES.MEETING_ENDED.code) {
      this.setState('ended');
      for (const w of this.ackWaiters.splice(0)) w.reject(new Error('The meeting ended'));
      return;
    }
    const name = closeNameOf(code);
    const retry = name ? MIC_CLOSE_CODES[name].retry : true; // 1006 and other network closes: retry
    if (!retry) {
      this.setState('failed');
      for (const w of this.ackWaiters.splice(0)) w.reject(new Error(`Stream closed: ${name ?? code}`));
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.setState('reconnecting');
    this.attempt++;
    const delay = backoffDelay(this.attempt, {
      baseMs: this.opts.backoff?.baseMs ?? 1_000,
      maxDelayMs: this.opts.backoff?.maxMs ?? 30_000,
      jitter: 'none',
    });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.open(), delay);
  }

  private async onServerMessage(message: MicServerMessage): Promise<void> {
    switch (message.type) {
      case 'ready': {
        if (this.ackWaiters.length > 0) this.flushWanted = true;
        this.attempt = 0;
        this.limits = message.limits;
        this.held = false;
        this.ready = true;
        this.bucketMs = this.limits.burstMs;
        this.bucketAt = Date.now();
        await this.acknowledge(message.lastSeq);
        this.sentUpTo = message.lastSeq;
        if (message.lastSeq >= this.nextSeq) {
          // The gateway holds seqs this browser no longer knows (its journal was lost): continue
          // after them, or new audio would be dropped as resends.
          this.nextSeq = message.lastSeq + 1;
          await this.opts.journal.setSession(this.opts.meetingId, {
            sessionId: this.sessionId,
            nextSeq: this.nextSeq,
          });
        }
        this.setState('streaming');
        void this.pump();
        return;
      }
      case 'ack':
        await this.acknowledge(message.seq);
        return;
      case 'hold':
        this.held = true;
        this.holdReason = message.reason;
        this.setState('held');
        return;
      case 'resume':
        this.held = false;
        this.setState('streaming');
        void this.pump();
        return;
      case 'error':
        if (message.code === 'SEQ_GAP' && message.expected !== undefined) {
          this.sentUpTo = message.expected - 1;
          void this.pump();
        }
        return;
    }
  }

  private async acknowledge(seq: number): Promise<void> {
    if (seq <= this.lastAcked) return;
    const dropped = await this.opts.journal.after(this.opts.meetingId, this.lastAcked);
    for (const c of dropped) if (c.seq <= seq) this.unackedBytes -= c.pcm.byteLength;
    this.lastAcked = seq;
    await this.opts.journal.ackUpTo(this.opts.meetingId, seq);
    for (const w of [...this.ackWaiters]) {
      if (w.seq <= seq) {
        this.ackWaiters.splice(this.ackWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
    this.emit();
  }

  /** Send journaled chunks after `sentUpTo`, in order, within the gateway's rate limit. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const ws = this.ws;
        if (!ws || ws.readyState !== OPEN || !this.ready || this.held) return;
        const next = await this.opts.journal.after(this.opts.meetingId, this.sentUpTo);
        const chunk = next[0];
        if (!chunk) {
          if (this.flushWanted && this.ackWaiters.length > 0) {
            this.flushWanted = false;
            this.sendControl({ type: 'flush' });
          }
          return;
        }
        const ms = chunk.pcm.byteLength / ((MIC_SAMPLE_RATE * 2) / 1000);
        const now = Date.now();
        // Stay under the gateway's rate limit, with a margin for clock differences.
        this.bucketMs = Math.min(
          this.limits.burstMs * 0.9,
          this.bucketMs + (now - this.bucketAt) * this.limits.maxRateFactor * 0.9,
        );
        this.bucketAt = now;
        if (this.bucketMs < ms) {
          await new Promise((r) => setTimeout(r, (ms - this.bucketMs) / this.limits.maxRateFactor + 5));
          continue;
        }
        this.bucketMs -= ms;
        if (this.ws !== ws || ws.readyState !== OPEN) return;
        ws.send(encodeChunk(chunk.seq, chunk.pcm));
        this.sentUpTo = chunk.seq;
      }
    } finally {
      this.pumping = false;
    }
  }

  private sendControl(message: { type: 'flush' } | { type: 'token'; token: string }): void {
    if (this.ws && this.ws.readyState === OPEN && this.ready) this.ws.send(JSON.stringify(message));
  }

  private setState(state: MicClientState): void {
    this.state = state;
    this.emit();
  }

  private emit(): void {
    this.opts.onStatus?.(this.status);
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function defaultRandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}
