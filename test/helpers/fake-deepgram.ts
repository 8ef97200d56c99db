/**
 * A small stand-in for Deepgram's live `/v1/listen` WebSocket, speaking its wire protocol
 * (binary audio in; `Results`, `Metadata` and the close handshake out; `KeepAlive`, `Finalize`
 * and `CloseStream` understood), whose "recognizer" reads words out of the audio itself: the
 * test sends 20 ms frames whose samples all hold the frame's number `n`, and the engine hears
 * the word `f<n>` there. So a test can tell exactly which audio reached the engine, on which
 * connection, and at which time of that connection's stream — no speech model involved.
 *
 * The engine finalizes every `finalEveryMs` of audio it has heard on a connection (like an
 * endpoint), on `Finalize`, and on `CloseStream` (then sends Metadata and closes 1000).
 * `resultDelayMs` makes it lag (each result takes that long after the previous one); `hangOnClose`
 * makes it answer neither Finalize nor CloseStream.
 */
import type { AddressInfo } from 'node:net';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { BYTES_PER_MS } from '../../core/audio/pcm';

export const FRAME_MS = 20;
const FRAME_BYTES = FRAME_MS * BYTES_PER_MS;

/** A 20 ms frame whose samples all hold `n` (1 … 32767): the engine hears the word `f<n>`. */
export function numberedFrame(n: number): Buffer {
  const frame = Buffer.alloc(FRAME_BYTES);
  for (let i = 0; i < FRAME_BYTES; i += 2) frame.writeInt16LE(n, i);
  return frame;
}

export interface FakeDeepgramOptions {
  /** A final covers this much audio (default 200 ms); 0: finals only on Finalize / CloseStream. */
  finalEveryMs?: number;
  /** Each result is sent this long after the audio it covers arrived (a lagging engine). */
  resultDelayMs?: number;
  /** Finalize and CloseStream are never answered (a stuck engine). */
  hangOnClose?: boolean;
  /** The first connection drops (no close frame) when it receives Finalize, before answering it. */
  dropFirstOnFinalize?: boolean;
}

export interface FakeConnection {
  socket: WebSocket;
  /** Frame numbers heard on this connection, in order. */
  heard: number[];
  closeStreamReceived: boolean;
}

export interface FakeDeepgram {
  wsUrl: string;
  connections: FakeConnection[];
  options: FakeDeepgramOptions;
  /** Destroys every connection without a close frame (a network drop). */
  dropConnections(): void;
  /** While true, new sockets are refused (HTTP 503 at the upgrade): an outage that outlasts a drop. */
  refuseNew: boolean;
  stop(): Promise<void>;
}

export async function startFakeDeepgram(options: FakeDeepgramOptions = {}): Promise<FakeDeepgram> {
  let fake: FakeDeepgram | undefined;
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    path: '/v1/listen',
    verifyClient: (_info, done) => (fake?.refuseNew ? done(false, 503) : done(true)),
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const connections: FakeConnection[] = [];
  fake = {
    refuseNew: false,
    wsUrl: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    connections,
    options,
    dropConnections: () => {
      for (const c of connections) c.socket.terminate();
    },
    stop: async () => {
      for (const c of connections) c.socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  wss.on('connection', (socket) => {
    const conn: FakeConnection = { socket, heard: [], closeStreamReceived: false };
    connections.push(conn);
    let pending = Buffer.alloc(0);
    /** Index in `heard` of the first frame not yet covered by a final. */
    let finalFrom = 0;
    let closing = false;
    // A lagging engine works through its backlog one result at a time.
    let busyUntil = 0;
    const later = (fn: () => void) => {
      const delay = fake.options.resultDelayMs ?? 0;
      if (delay === 0) return fn();
      busyUntil = Math.max(Date.now(), busyUntil) + delay;
      setTimeout(fn, busyUntil - Date.now());
    };
    const send = (message: object) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    };
    const finalUpTo = (end: number, fromFinalize: boolean) => {
      const start = finalFrom;
      if (end <= start) return;
      finalFrom = end;
      const frames = conn.heard.slice(start, end);
      later(() => send(results(frames, start, true, fromFinalize)));
    };
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (closing) return;
      if (!isBinary) {
        const { type } = JSON.parse(data.toString()) as { type: string };
        if (type === 'Finalize' && fake.options.dropFirstOnFinalize && connections[0] === conn) {
          closing = true;
          socket.terminate();
          return;
        }
        if (type === 'Finalize' && !fake.options.hangOnClose) finalUpTo(conn.heard.length, true);
        if (type === 'CloseStream') {
          closing = true;
          conn.closeStreamReceived = true;
          if (fake.options.hangOnClose) return;
          finalUpTo(conn.heard.length, false);
          later(() => {
            send({ type: 'Metadata', request_id: 'fake', duration: (conn.heard.length * FRAME_MS) / 1000 });
            socket.close(1000);
          });
        }
        return;
      }
      pending = Buffer.concat([pending, data as Buffer]);
      while (pending.length >= FRAME_BYTES) {
        conn.heard.push(pending.readInt16LE(0));
        pending = pending.subarray(FRAME_BYTES);
      }
      const every = (fake.options.finalEveryMs ?? 200) / FRAME_MS;
      if (every > 0) {
        while (conn.heard.length - finalFrom >= every) finalUpTo(finalFrom + every, false);
      }
    });
  });
  return fake;
}

/** A Results message for frames heard at indexes `first`… of the connection (its own time). */
function results(frames: number[], first: number, isFinal: boolean, fromFinalize: boolean) {
  const words = frames.map((n, i) => ({
    word: `f${n}`,
    start: ((first + i) * FRAME_MS) / 1000,
    end: ((first + i + 1) * FRAME_MS) / 1000,
    confidence: 0.99,
  }));
  return {
    type: 'Results',
    channel_index: [0, 1],
    start: (first * FRAME_MS) / 1000,
    duration: (frames.length * FRAME_MS) / 1000,
    is_final: isFinal,
    speech_final: isFinal && !fromFinalize,
    from_finalize: fromFinalize,
    channel: { alternatives: [{ transcript: words.map((w) => w.word).join(' '), confidence: 0.99, words }] },
  };
}
