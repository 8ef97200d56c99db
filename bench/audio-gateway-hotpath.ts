/**
 * Per-frame cost of each step of the audio gateway's hot path, in one process, no network
 * except the last rows (a loopback ws pair). Companion of bench/audio-gateway.ts: that one says
 * how many streams fit; this one says where a frame's CPU goes.
 *
 *   npx tsx bench/audio-gateway-hotpath.ts [--frames 20000] [--runs 7]
 *
 * Reports the best (least disturbed) of --runs runs per step, in µs per 20 ms frame, and what
 * that step costs at 500 streams (25,000 frames/s) as a share of one core.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import * as path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { WebSocket, WebSocketServer } from 'ws';
import { createDeepgramConnector, type SttConnector, type SttSocket } from '../core/audio/deepgram-connector';
import { MeetingSession, type SessionInput } from '../core/audio/meeting-session';
import { RecordingArchiver } from '../core/audio/recording-archiver';
import { decodeStrictBase64 } from '../core/recall/base64';
import { RecallFrameReader } from '../core/recall/frame-reader';
import {
  audioMixedRawEventSchema,
  parseRecallMessage,
  parseRecallMessageWithSchema,
} from '../core/recall/realtime-schema';
import { mixedAudioMessage } from '../local/recall-simulator/messages';
import { leanDecodeStrictBase64 } from './audio-gateway-experiments';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

const FRAMES = arg('--frames', 20_000);
const RUNS = arg('--runs', 7);
const FRAMES_PER_SECOND_AT_500 = 500 * 50;

const wav = readFileSync(path.join(__dirname, '..', 'fixtures', 'meeting-librivox.wav'));
const pcm = wav.subarray(44 + 640 * 500, 44 + 640 * 501); // 20 ms of speech from the fixture
const ctx = {
  botId: 'bot-1',
  botMetadata: { parleyMeetingId: 'bench-1' },
  recordingId: 'rec-1',
  realtimeEndpointId: 'rte-1',
  audioMixedId: 'mix-1',
  audioSeparateId: 'sep-1',
  participantEventsId: 'pe-1',
  meetingStartEpochMs: Date.now(),
};
/** A few distinct frames so nothing is cached by identity. */
const texts = Array.from({ length: 64 }, (_, i) => JSON.stringify(mixedAudioMessage(ctx, i * 20, pcm)));
const raws = texts.map((t) => Buffer.from(t));
const jsons = texts.map((t) => JSON.parse(t) as { data: { data: { buffer: string } } });
const b64s = jsons.map((j) => j.data.data.buffer);

interface Step {
  name: string;
  usPerFrame: number;
}
const steps: Step[] = [];

let sink = 0; // keeps results alive so nothing is optimised away

async function measure(name: string, fn: (i: number) => unknown, frames = FRAMES): Promise<void> {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < frames; i++) {
      const out = fn(i);
      if (out === undefined) sink++;
    }
    const ns = Number(process.hrtime.bigint() - start);
    best = Math.min(best, ns / frames / 1000);
    await new Promise((r) => setTimeout(r, 20)); // let sockets drain between runs
  }
  steps.push({ name, usPerFrame: best });
}

/** Compares the candidate with decodeStrictBase64 on valid, corrupted and random strings; throws on a difference. */
function fuzzBase64(count: number): number {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n.';
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < count; i++) {
    let text: string;
    const kind = i % 4;
    const bytes = Buffer.alloc(rand(12));
    for (let b = 0; b < bytes.length; b++) bytes[b] = rand(256);
    text = bytes.toString('base64');
    if (kind === 1 && text.length > 0) {
      const at = rand(text.length); // one character replaced
      text = text.slice(0, at) + alphabet[rand(alphabet.length)] + text.slice(at + 1);
    } else if (kind === 2) {
      text = text.replace(/=+$/, ''); // padding dropped, or padding bits set
      if (rand(2) === 0 && text.length > 0) text = `${text.slice(0, -1)}${alphabet[rand(64)]}`;
    } else if (kind === 3) {
      text = Array.from({ length: rand(13) }, () => alphabet[rand(alphabet.length)]).join('');
    }
    const a = decodeStrictBase64(text);
    const b = leanDecodeStrictBase64(text);
    if ((a === undefined) !== (b === undefined) || (a && b && !a.equals(b))) {
      throw new Error(`lean-base64 differs from decodeStrictBase64 on ${JSON.stringify(text)}`);
    }
  }
  return count;
}

const quietLogger = new Logger({ serviceName: 'audio-gateway-hotpath', logLevel: 'ERROR' });

/** A speech socket that accepts everything and sends nothing. */
const nullConnector: SttConnector = async () =>
  ({
    on: () => undefined,
    sendMedia: (chunk: Buffer) => {
      sink += chunk.length & 1;
    },
    sendKeepAlive: () => undefined,
    sendFinalize: () => undefined,
    sendCloseStream: () => undefined,
    close: () => undefined,
  }) as SttSocket;

const repo = {
  reserveSeqs: async () => 1,
  setStatus: async () => 1,
  setStatusIf: async () => 1,
};

async function main(): Promise<void> {
  const n = texts.length;
  console.error(`hot path: ${FRAMES} frames × best of ${RUNS} runs; frame text ${texts[0]?.length} chars`);

  await measure('Buffer → string (data.toString())', (i) => (raws[i % n] as Buffer).toString());
  await measure('JSON.parse', (i) => JSON.parse(texts[i % n] as string));
  await measure('zod audioMixedRawEventSchema.safeParse', (i) =>
    audioMixedRawEventSchema.safeParse(jsons[i % n]),
  );
  await measure('Buffer.from(base64) (plain decode)', (i) => Buffer.from(b64s[i % n] as string, 'base64'));
  await measure('decodeStrictBase64 (decode + re-encode + compare)', (i) =>
    decodeStrictBase64(b64s[i % n] as string),
  );
  await measure('parseRecallMessageWithSchema (JSON.parse, zod, strict base64)', (i) =>
    parseRecallMessageWithSchema(texts[i % n] as string),
  );
  await measure('parseRecallMessage (JSON.parse, fast path, strict base64)', (i) =>
    parseRecallMessage(texts[i % n] as string),
  );
  const reader = new RecallFrameReader();
  await measure('RecallFrameReader.read (one connection: the frame template, strict base64)', (i) =>
    reader.read(texts[i % n] as string),
  );
  if (reader.stats.parsed !== 1) throw new Error(`frame template missed ${reader.stats.parsed - 1} frames`);
  await measure('candidate: decodeStrictBase64 without the regex (lean-base64)', (i) =>
    leanDecodeStrictBase64(b64s[i % n] as string),
  );
  console.error(`lean-base64 agrees with decodeStrictBase64 on ${fuzzBase64(200_000)} generated inputs`);

  // MeetingSession.handle with a speech socket that does nothing: the session's own logic.
  const session = new MeetingSession({
    meetingId: 'bench-1',
    keywords: [],
    language: 'en',
    connector: nullConnector,
    repo: repo as never,
    publish: () => undefined,
    logger: quietLogger,
    sttOptions: { keepAliveMs: 60_000 },
  });
  await session.start();
  let relativeMs = 0;
  const chunks = jsons.map((j) => Buffer.from(j.data.data.buffer, 'base64'));
  await measure(
    'MeetingSession.handle (clock, ring, stats; null socket)',
    (i) => {
      relativeMs += 20;
      session.handle({ kind: 'audio', pcm: chunks[i % n] as Buffer, relativeMs });
      return 1;
    },
    2_000, // the ring keeps 60 s of audio: stay inside it
  );
  session.abandon();

  // Real sockets on loopback: the cost of handing a 640-byte frame to the kernel.
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer();
  let received = 0;
  server.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', () => {
        received++;
      });
      if ((req.url ?? '').startsWith('/v1/listen')) return;
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const plain = new WebSocket(`ws://127.0.0.1:${port}/plain`, { perMessageDeflate: false });
  await once(plain, 'open');
  await measure('ws client send(640 B binary) (mask + write syscall)', (i) => {
    plain.send(chunks[i % n] as Buffer);
    return 1;
  });
  const connector = createDeepgramConnector({ apiKey: 'bench', wsUrl: `ws://127.0.0.1:${port}` });
  const sdk = await connector({ keyterms: [], language: 'en', tag: 'meeting:bench-1' });
  await measure('@deepgram/sdk sendMedia(640 B) (same, through the SDK)', (i) => {
    sdk.sendMedia(chunks[i % n] as Buffer);
    return 1;
  });

  // The two frame handlers side by side, from the received text frame (a Buffer, as ws hands it
  // over) to the audio written to the speech socket. The receive side before them (ws framing,
  // unmasking, the read syscall) is the same code for both. Few frames per run, drained between
  // runs, so every write reaches the kernel instead of piling up in the socket's buffer.
  const SEND_FRAMES = 1_000;
  await measure(
    'relay handler: toString, JSON.parse, base64 decode, ws send',
    (i) => {
      const message = JSON.parse((raws[i % n] as Buffer).toString()) as {
        data: { data: { buffer: string } };
      };
      plain.send(Buffer.from(message.data.data.buffer, 'base64'));
      return 1;
    },
    SEND_FRAMES,
  );
  const gatewaySession = async () => {
    const session = new MeetingSession({
      meetingId: 'bench-2',
      keywords: [],
      language: 'en',
      connector,
      repo: repo as never,
      publish: () => undefined,
      logger: quietLogger,
      sttOptions: { keepAliveMs: 60_000 },
    });
    await session.start();
    return session;
  };
  const handlerOf = (
    session: MeetingSession,
    forward?: (input: SessionInput) => void,
    parse: (text: string) => ReturnType<typeof parseRecallMessage> = (() => {
      const frameReader = new RecallFrameReader();
      return (text: string) => frameReader.read(text);
    })(),
  ) => {
    let at = 0;
    return (i: number) => {
      const parsed = parse((raws[i % n] as Buffer).toString());
      if (!parsed.ok || parsed.message.kind !== 'audio') throw new Error('frame rejected');
      at += 20;
      const input: SessionInput = { kind: 'audio', pcm: parsed.message.pcm, relativeMs: at };
      if (forward) forward(input);
      else session.handle(input);
      return 1;
    };
  };
  const plainSession = await gatewaySession();
  await measure(
    'gateway handler, full parse instead of the template (parseRecallMessage)',
    handlerOf(plainSession, undefined, parseRecallMessage),
    SEND_FRAMES,
  );
  await measure(
    'gateway handler: toString, frame template, session (clock, ring), SDK send',
    handlerOf(plainSession),
    SEND_FRAMES,
  );
  plainSession.abandon();
  const archiver = new RecordingArchiver({
    store: {
      put: async () => undefined,
      get: async () => Buffer.alloc(0),
      list: async () => [],
      head: async () => undefined,
      delete: async () => undefined,
      presignGet: async () => 'http://bench.invalid/',
    },
    repo: { get: async () => undefined },
    format: 'wav',
    logger: quietLogger,
  });
  const archivedSession = await gatewaySession();
  archiver.follow('bench-2', archivedSession);
  await measure(
    'gateway handler + recording archiver (as the container runs it)',
    handlerOf(archivedSession, (input) => archiver.forward(archivedSession, input, performance.now())),
    SEND_FRAMES,
  );
  archivedSession.abandon();
  archiver.abandonAll();

  await new Promise((r) => setTimeout(r, 500));
  sdk.close();
  plain.close();
  server.closeAllConnections();
  server.close();

  console.log('');
  console.log('| step | µs per frame (best run) | share of one core at 500 streams |');
  console.log('|---|---:|---:|');
  for (const s of steps) {
    console.log(
      `| ${s.name} | ${s.usPerFrame.toFixed(2)} | ${((s.usPerFrame * FRAMES_PER_SECOND_AT_500) / 1e4).toFixed(1)} % |`,
    );
  }
  console.log('');
  console.log(`(frames received by the loopback server: ${received}; ignore: ${sink % 2})`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
