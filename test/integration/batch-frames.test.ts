/**
 * Batched frames (docs/protocol.md "Batched frames") over the real parts: dynalite, the API
 * Gateway emulator and its management API, the subscribe route and the fan-out. A client that
 * subscribed with `batch: true` gets a final and the alert it confirms in one frame, and its
 * replay packed; a client that did not gets exactly what it always got, one message a frame.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import WebSocket from 'ws';
import { destroyClients } from '../../core/clients/lifecycle';
import type { Meeting } from '../../core/meetings/model';
import { MeetingRepository } from '../../core/meetings/repository';
import { TranscriptFanout } from '../../core/pipeline/transcript-fanout';
import { ParleyClient } from '../../core/realtime/client';
import { SubscribeSchema } from '../../core/realtime/client-messages';
import { ConnectionFanout } from '../../core/realtime/connection-fanout';
import { ConnectionRepository } from '../../core/realtime/connection-repository';
import type { ServerMessage } from '../../core/realtime/protocol';
import { subscribe } from '../../core/realtime/routes';
import { SegmentRepository } from '../../core/transcript/segment-repository';
import { type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { startWsGateway, type WsGateway } from '../../local/ws-gateway';
import { finalSegment, liveMeeting } from '../helpers/meetings';

jest.setTimeout(60_000);

const logger = new Logger({ serviceName: 'batch-frames-test', logLevel: 'SILENT' });
const OWNER = 'owner-1';
const STORED = 40;

let emulators: RunningEmulators;
let gateway: WsGateway;
let meetings: MeetingRepository;
let segments: SegmentRepository;
let connections: ConnectionRepository;
let fanout: ConnectionFanout;
const sockets: WebSocket[] = [];

function meeting(meetingId: string): Meeting {
  return liveMeeting(meetingId, { ownerId: OWNER, seqCounter: STORED });
}

const final = finalSegment;

/** A viewer's raw frames, each parsed, in arrival order. */
class Viewer {
  readonly frames: ServerMessage[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.frames.push(JSON.parse(data.toString('utf8')) as ServerMessage);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Every message received, batches unpacked. */
  messages(): ServerMessage[] {
    return this.frames.flatMap((f) => (f.type === 'batch' ? f.messages : [f]));
  }

  async until(done: (v: Viewer) => boolean): Promise<void> {
    while (!done(this)) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

async function viewer(): Promise<Viewer> {
  const socket = new WebSocket(gateway.url);
  sockets.push(socket);
  const v = new Viewer(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return v;
}

beforeAll(async () => {
  emulators = await startEmulators();
  Object.assign(process.env, emulators.env);
  meetings = new MeetingRepository();
  segments = new SegmentRepository();
  connections = new ConnectionRepository();
  gateway = await startWsGateway({
    port: 0,
    stage: 'test',
    logger,
    routes: {
      $connect: async () => ({ statusCode: 200 }),
      subscribe: async (event) => {
        const msg = SubscribeSchema.parse(JSON.parse(event.body ?? '{}'));
        const ctx = { connectionId: event.requestContext.connectionId, userId: OWNER };
        await subscribe({ meetings, segments, connections, fanout }, ctx, msg);
        return { statusCode: 200 };
      },
    },
  });
  fanout = new ConnectionFanout(gateway.managementEndpoint, connections, logger);
});

afterAll(async () => {
  for (const s of sockets) s.terminate();
  await gateway?.stop();
  destroyClients();
  await emulators?.stop();
});

describe('batched frames', () => {
  it('posts a final and the alert it confirms as one frame to a batch subscriber and as two to a legacy one', async () => {
    const meetingId = 'batch-live';
    await meetings.create(meeting(meetingId));
    const legacy = await viewer();
    const batched = await viewer();
    legacy.socket.send(JSON.stringify({ action: 'subscribe', meetingId }));
    batched.socket.send(JSON.stringify({ action: 'subscribe', meetingId, batch: true }));
    const replayed = (v: Viewer) => v.messages().some((m) => m.type === 'replay_complete');
    await Promise.all([legacy.until(replayed), batched.until(replayed)]);
    const before = { legacy: legacy.frames.length, batched: batched.frames.length };

    const transcripts = new TranscriptFanout({ meetings, segments, connections, fanout, logger });
    await transcripts.handle({
      v: 1,
      type: 'transcript',
      meetingId,
      segment: final(meetingId, 1, 'the budget is approved'),
    });
    const got = (v: Viewer) => v.messages().some((m) => m.type === 'keyword_alert');
    await Promise.all([legacy.until(got), batched.until(got)]);

    const legacyNew = legacy.frames.slice(before.legacy);
    const batchedNew = batched.frames.slice(before.batched);
    expect(legacyNew.map((f) => f.type)).toEqual(['transcript', 'keyword_alert']);
    expect(batchedNew).toHaveLength(1);
    const [frame] = batchedNew;
    expect(frame?.type).toBe('batch');
    expect(frame?.type === 'batch' && frame.messages).toEqual(legacyNew);
  });

  it('posts a single message unwrapped, even to a batch subscriber', async () => {
    const meetingId = 'batch-single';
    await meetings.create(meeting(meetingId));
    const batched = await viewer();
    batched.socket.send(JSON.stringify({ action: 'subscribe', meetingId, batch: true }));
    await batched.until((v) => v.messages().some((m) => m.type === 'replay_complete'));
    const before = batched.frames.length;

    const transcripts = new TranscriptFanout({ meetings, segments, connections, fanout, logger });
    await transcripts.handle({
      v: 1,
      type: 'transcript',
      meetingId,
      segment: final(meetingId, 1, 'no keyword'),
    });
    await batched.until((v) => v.frames.length > before);

    expect(batched.frames.slice(before).map((f) => f.type)).toEqual(['transcript']);
  });

  it('packs a replay into frames within 32 KB for a batch subscriber, in order, and frames it one by one for a legacy one', async () => {
    const meetingId = 'batch-replay';
    await meetings.create(meeting(meetingId));
    for (let seq = 1; seq <= STORED; seq++) {
      // ~1 KB lines: 40 of them need two 32 KB frames.
      await segments.putFinal(meetingId, final(meetingId, seq, `line ${seq} ${'words '.repeat(160)}`));
    }
    const legacy = await viewer();
    const batched = await viewer();
    legacy.socket.send(JSON.stringify({ action: 'subscribe', meetingId }));
    batched.socket.send(JSON.stringify({ action: 'subscribe', meetingId, batch: true }));
    const replayed = (v: Viewer) => v.messages().some((m) => m.type === 'replay_complete');
    await Promise.all([legacy.until(replayed), batched.until(replayed)]);

    // subscribed + 40 finals + replay_complete.
    expect(legacy.frames).toHaveLength(STORED + 2);
    expect(batched.messages()).toEqual(legacy.frames);
    expect(batched.frames.length).toBeGreaterThanOrEqual(2);
    expect(batched.frames.length).toBeLessThanOrEqual(3);
    for (const f of batched.frames) {
      expect(Buffer.byteLength(JSON.stringify(f))).toBeLessThanOrEqual(32 * 1024);
    }
  });

  it('gives the reference client the same events from batched frames as from single ones', async () => {
    const meetingId = 'batch-client';
    await meetings.create(meeting(meetingId));
    await segments.putFinal(meetingId, final(meetingId, 1, 'first line'));
    const client = new ParleyClient({
      url: gateway.url,
      token: () => 'unused',
      WebSocketImpl: WebSocket as never,
    });
    const finals: number[] = [];
    const alerts: string[] = [];
    client.on('final', ({ segment }) => finals.push(segment.seq));
    client.on('keyword_alert', (a) => alerts.push(`${a.state}:${a.keyword}`));
    const subscribed = new Promise<void>((resolve) => client.on('subscribed', () => resolve()));
    client.subscribe(meetingId);
    client.connect();
    try {
      await subscribed;
      while (finals.length < 1) await new Promise((resolve) => setTimeout(resolve, 20));
      const transcripts = new TranscriptFanout({ meetings, segments, connections, fanout, logger });
      await transcripts.handle({
        v: 1,
        type: 'transcript',
        meetingId,
        segment: final(meetingId, 2, 'the budget again'),
      });
      while (alerts.length < 1) await new Promise((resolve) => setTimeout(resolve, 20));

      expect(finals).toEqual([1, 2]);
      expect(alerts).toEqual(['confirmed:budget']);
    } finally {
      client.close();
    }
  });
});
