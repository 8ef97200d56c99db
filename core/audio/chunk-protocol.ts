/**
 * The browser microphone's chunk protocol (docs/protocol.md, "Microphone ingest"): binary
 * audio chunks from the browser, JSON text control messages both ways, limits and close codes.
 * Plain data and pure functions only, shared by the gateway (core/audio/browser-ingress.ts) and
 * the browser client (core/audio/mic-client.ts), so it must not import Node-only modules.
 *
 * A chunk is one binary frame:
 *   byte 0        kind = 1 (audio)
 *   bytes 1..4    seq, uint32 big-endian, 1, 2, 3 … per stream session
 *   bytes 5..     PCM, signed 16-bit little-endian, mono, 16 kHz (an even, non-zero length)
 * The stream session id is fixed per socket (query string `session=`), so a chunk's identity is
 * (session, seq).
 */

export const CHUNK_KIND_AUDIO = 1;
export const CHUNK_HEADER_BYTES = 5;
export const MIC_SAMPLE_RATE = 16_000;

/** The limits the gateway enforces (also sent to the client in `ready`). */
export const MIC_LIMITS = {
  /** Largest PCM payload of one chunk: 1 s of audio. Bigger frames close the socket with 1009. */
  maxChunkBytes: 32_000,
  /** Audio may arrive faster than real time (a backlog after a reconnect) up to this factor… */
  maxRateFactor: 4,
  /** …after a burst of this much audio, in ms (token bucket). Beyond: close 4429. */
  burstMs: 60_000,
  /** Longest stream session (ms of audio); one more chunk closes with 4413. */
  maxSessionMs: 4 * 3600 * 1000,
  /** Audio accepted but not yet durable above which the gateway asks the client to hold… */
  holdAtMs: 45_000,
  /** …and below which it asks the client to resume. */
  resumeAtMs: 20_000,
  /** Accepted-but-not-durable audio past which a client that ignores `hold` is closed (4429). */
  maxPendingMs: 120_000,
} as const;

export type MicLimits = { -readonly [K in keyof typeof MIC_LIMITS]: number };

/**
 * Close codes of the `/browser/{meetingId}` socket. Browsers cannot read the HTTP status of a
 * refused upgrade, so every refusal after the path check is an accepted upgrade closed with one
 * of these. `retry` says whether the reference client reconnects (with backoff) after it.
 */
export const MIC_CLOSE_CODES = {
  /** The meeting ended (stop command, or it was already over): do not reconnect. */
  MEETING_ENDED: { code: 1000, retry: false },
  /** A frame larger than the limit (ws closes with 1009 itself). */
  TOO_LARGE: { code: 1009, retry: false },
  /** This gateway task is stopping: reconnect (to another task). */
  RESTARTING: { code: 1012, retry: true },
  /** A frame the protocol does not allow (bad header, odd PCM length, unknown message). */
  BAD_FRAME: { code: 4400, retry: false },
  /** Missing, invalid or expired token (also when it expires mid-stream): reconnect with a fresh one. */
  UNAUTHORIZED: { code: 4401, retry: true },
  /** The token is valid but the user does not own the meeting. */
  FORBIDDEN: { code: 4403, retry: false },
  /** No such meeting, or it is not a microphone meeting. */
  NOT_FOUND: { code: 4404, retry: false },
  /** Another stream session is live on this meeting (another tab): one stream at a time. */
  CONFLICT: { code: 4409, retry: false },
  /** The stream session reached its longest allowed length. */
  SESSION_TOO_LONG: { code: 4413, retry: false },
  /** Audio arrived faster than the rate limit, or the client ignored `hold`. */
  RATE_LIMITED: { code: 4429, retry: true },
  /** The gateway cannot serve the stream now (meeting store down, at capacity): retry later. */
  UNAVAILABLE: { code: 4503, retry: true },
  /** A newer socket of the same stream session replaced this one. */
  REPLACED: { code: 4000, retry: false },
} as const;

export type MicCloseName = keyof typeof MIC_CLOSE_CODES;

export function closeNameOf(code: number): MicCloseName | undefined {
  for (const [name, spec] of Object.entries(MIC_CLOSE_CODES)) {
    if (spec.code === code) return name as MicCloseName;
  }
  return undefined;
}

/** Server → client text messages. */
export type MicServerMessage =
  | {
      type: 'ready';
      sessionId: string;
      /** Highest seq of this session the gateway holds durably (0: none); send from lastSeq + 1. */
      lastSeq: number;
      /** Whether audio is being transcribed and archived now (`paused` audio is acknowledged and dropped). */
      state: 'live' | 'paused';
      limits: MicLimits;
    }
  /** Every chunk of this session with seq ≤ `seq` is durable: the client may forget it. */
  | { type: 'ack'; seq: number }
  /** Stop sending new chunks (keep them) until `resume`; `reason` says which part lags. */
  | { type: 'hold'; reason: 'archive' | 'speech' }
  | { type: 'resume' }
  /** A chunk was refused without closing the socket; `expected` is the seq to send next. */
  | { type: 'error'; code: MicErrorCode; message: string; expected?: number };

/** Client → server text messages. */
export type MicClientMessage =
  /** Make everything received so far durable now and acknowledge it (end of recording, page hide). */
  | { type: 'flush' }
  /** A fresh token for the same user, before the current one expires. */
  | { type: 'token'; token: string };

export const MIC_ERROR_CODES = ['SEQ_GAP', 'TOKEN_REJECTED'] as const;
export type MicErrorCode = (typeof MIC_ERROR_CODES)[number];

/** A stream session id: 32 lowercase hex characters (128 random bits). */
export const SESSION_ID = /^[0-9a-f]{32}$/;

export interface AudioChunk {
  seq: number;
  /** PCM s16le mono 16 kHz; a view into the frame, not a copy. */
  pcm: Uint8Array;
}

export type ChunkDecodeResult = { ok: true; chunk: AudioChunk } | { ok: false; reason: string };

export function encodeChunk(seq: number, pcm: Uint8Array): Uint8Array {
  if (!Number.isInteger(seq) || seq < 1 || seq > 0xffffffff) throw new RangeError(`seq out of range: ${seq}`);
  const frame = new Uint8Array(CHUNK_HEADER_BYTES + pcm.byteLength);
  frame[0] = CHUNK_KIND_AUDIO;
  new DataView(frame.buffer).setUint32(1, seq, false);
  frame.set(pcm, CHUNK_HEADER_BYTES);
  return frame;
}

export function decodeChunk(
  frame: Uint8Array,
  maxChunkBytes: number = MIC_LIMITS.maxChunkBytes,
): ChunkDecodeResult {
  if (frame.byteLength < CHUNK_HEADER_BYTES + 2)
    return { ok: false, reason: 'chunk shorter than its header' };
  if (frame[0] !== CHUNK_KIND_AUDIO) return { ok: false, reason: `unknown chunk kind ${frame[0]}` };
  const seq = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1, false);
  if (seq < 1) return { ok: false, reason: 'seq must start at 1' };
  const pcm = frame.subarray(CHUNK_HEADER_BYTES);
  if (pcm.byteLength % 2 !== 0) return { ok: false, reason: 'PCM length must be even (16-bit samples)' };
  if (pcm.byteLength > maxChunkBytes) return { ok: false, reason: `PCM over ${maxChunkBytes} bytes` };
  return { ok: true, chunk: { seq, pcm } };
}

/** Parses a client text message; undefined when it is not one the protocol allows. */
export function parseClientMessage(text: string): MicClientMessage | undefined {
  if (text.length > 16_384) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.type === 'flush') return { type: 'flush' };
  if (v.type === 'token' && typeof v.token === 'string' && v.token.length > 0 && v.token.length < 16_000) {
    return { type: 'token', token: v.token };
  }
  return undefined;
}

/** Where a browser connects: `{gateway}/browser/{meetingId}?session=…` (token as query or subprotocol). */
export function browserStreamUrl(gatewayUrl: string, meetingId: string, sessionId: string): string {
  const base = gatewayUrl.replace(/\/+$/, '');
  return `${base}/browser/${encodeURIComponent(meetingId)}?session=${sessionId}`;
}

/** The subprotocols a browser offers: the version, then its token (`new WebSocket(url, protocols)`). */
export const MIC_SUBPROTOCOL = 'parley.mic.v1';
export const TOKEN_SUBPROTOCOL_PREFIX = 'parley.token.';
export function micSubprotocols(token: string): string[] {
  return [MIC_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`];
}
