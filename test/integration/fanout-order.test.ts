/**
 * The fan-out runs independent DynamoDB calls at once (core/pipeline/transcript-fanout.ts): a
 * final's keywords while it is stored, its alerts and subscribers together after, and its one
 * delivered mark (the meeting's lastSeq, advanceLastSeq) after every post. Over the real parts
 * (dynalite, the API Gateway emulator's management API, a subscribed WebSocket), each call
 * traced: the order rules still hold, what is stored and posted is unchanged, a failed record
 * leaves no call running when it fails, and redelivery, a failed step, finals out of order and
 * two invocations at once neither lose a final nor leave the meeting's lastSeq behind.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import WebSocket from 'ws';
import { destroyClients } from '../../core/clients/lifecycle';
import { MeetingRepository } from '../../core/meetings/repository';
import type { TranscriptEvent } from '../../core/pipeline/events';
import { INTERIM_AUDIENCE_MS, InterimAudience } from '../../core/pipeline/interim-audience';
import { TranscriptFanout, type TranscriptFanoutDeps } from '../../core/pipeline/transcript-fanout';
import { AlertRepository } from '../../core/realtime/alert-repository';
import { ConnectionFanout } from '../../core/realtime/connection-fanout';
import {
  ConnectionRepository,
  meetingTopic,
  type Subscriber,
} from '../../core/realtime/connection-repository';
import { KeywordAlerts } from '../../core/realtime/keyword-alerts';
import type { ServerMessage } from '../../core/realtime/protocol';
import { SegmentRepository } from '../../core/transcript/segment-repository';
import { type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { startWsGateway, type WsGateway } from '../../local/ws-gateway';
import { finalSegment, liveMeeting } from '../helpers/meetings';

const logger = new Logger({ serviceName: 'fanout-order-test', logLevel: 'SILENT' });
const OWNER = 'owner-1';

let emulators: RunningEmulators;
let gateway: WsGateway;
let connections: ConnectionRepository;
const sockets: WebSocket[] = [];
/** `start:<call>` and `end:<call>` in the order they happened. */
let trace: string[] = [];
/** Calls that reject (once each) instead of running. */
const failing = new Set<string>();

/** `target` with `methods` traced (and failed on demand); the real method does the work. */
function traced<T extends object>(name: string, target: T, methods: (keyof T & string)[]): T {
  const out = Object.create(target) as T;
  for (const method of methods) {
    const real = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
    const call = `${name}.${method}`;
    (out as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      trace.push(`start:${call}`);
      try {
        if (failing.delete(call)) throw new Error(`injected failure of ${call}`);
        return await real(...args);
      } finally {
        trace.push(`end:${call}`);
      }
    };
  }
  return out;
}

const at = (entry: string) => {
  const i = trace.indexOf(entry);
  if (i < 0) throw new Error(`${entry} not in trace: ${trace.join(', ')}`);
  return i;
};

function finalEvent(meetingId: string, seq: number, text: string): TranscriptEvent {
  return { v: 1, type: 'transcript', meetingId, segment: finalSegment(meetingId, seq, text) };
}

/** A subscribed viewer: its messages in arrival order. */
async function viewer(
  meetingId: string,
): Promise<{ messages: ServerMessage[]; until(n: number): Promise<void> }> {
  const socket = new WebSocket(gateway.url);
  sockets.push(socket);
  const messages: ServerMessage[] = [];
  let wake: () => void = () => undefined;
  socket.on('message', (data: Buffer) => {
    messages.push(JSON.parse(data.toString('utf8')) as ServerMessage);
    wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ action: 'subscribe', meetingId }));
  // Route responses are discarded (as on AWS): wait for the subscription itself.
  while ((await connections.subscribers(meetingTopic(meetingId))).length === 0)
    await new Promise((resolve) => setTimeout(resolve, 10));
  return {
    messages,
    async until(n) {
      while (messages.length < n) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
}

function fanoutFor(deps: Partial<TranscriptFanoutDeps> = {}): TranscriptFanout {
  const meetings = new MeetingRepository();
  const segments = new SegmentRepository();
  const alerts = new AlertRepository();
  return new TranscriptFanout({
    meetings: traced('meetings', meetings, ['get', 'advanceLastSeq', 'deliveredThrough']),
    segments: traced('segments', segments, ['putFinal']),
    connections: traced('connections', connections, ['subscribers']),
    fanout: traced('fanout', new ConnectionFanout(gateway.managementEndpoint, connections, logger), [
      'broadcast',
    ]),
    alerts: new KeywordAlerts(traced('alerts', alerts, ['raise', 'forSeq'])),
    logger,
    ...deps,
  });
}

beforeAll(async () => {
  emulators = await startEmulators();
  Object.assign(process.env, emulators.env);
  connections = new ConnectionRepository();
  gateway = await startWsGateway({
    port: 0,
    stage: 'test',
    logger,
    routes: {
      $connect: async () => ({ statusCode: 200 }),
      subscribe: async (event) => {
        const { meetingId } = JSON.parse(event.body ?? '{}') as { meetingId: string };
        const connectionId = event.requestContext.connectionId;
        await connections.subscribe(meetingTopic(meetingId), connectionId, OWNER);
        return { statusCode: 200 };
      },
    },
  });
});

afterAll(async () => {
  for (const s of sockets) s.terminate();
  await gateway?.stop();
  destroyClients();
  await emulators?.stop();
});

beforeEach(() => {
  trace = [];
  failing.clear();
});

describe('the fan-out with its DynamoDB calls at once', () => {
  it('stores a final before reading its subscribers and alerts, posts after both, and marks it after posting', async () => {
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('order-1', { ownerId: OWNER, seqCounter: 10 }));
    const client = await viewer('order-1');
    await fanoutFor().handle(finalEvent('order-1', 1, 'the budget is set'));
    await client.until(2);

    // What was posted: the line, then its confirmed alert (as before the calls ran at once).
    expect(client.messages.map((m) => m.type)).toEqual(['transcript', 'keyword_alert']);
    // The order rules: store → (subscribers, alerts) → post → advanceLastSeq.
    const stored = at('end:segments.putFinal');
    expect(at('start:connections.subscribers')).toBeGreaterThan(stored);
    expect(at('start:alerts.forSeq')).toBeGreaterThan(stored);
    const firstPost = at('start:fanout.broadcast');
    expect(firstPost).toBeGreaterThan(at('end:connections.subscribers'));
    expect(firstPost).toBeGreaterThan(at('end:alerts.forSeq'));
    const lastPostEnd = trace.lastIndexOf('end:fanout.broadcast');
    expect(at('start:meetings.advanceLastSeq')).toBeGreaterThan(lastPostEnd);
    // A first delivery asks nothing about delivery: the store said it is new.
    expect(trace).not.toContain('start:meetings.deliveredThrough');
    // What was stored: the final as it came, and the delivered mark on the meeting item.
    const segment = await new SegmentRepository().list('order-1');
    expect(segment.items).toEqual([expect.objectContaining({ seq: 1, text: 'the budget is set' })]);
    expect(segment.items[0]).not.toHaveProperty('deliveredAt');
    const meeting = await meetings.get('order-1');
    expect(meeting?.lastSeq).toBe(1);
    expect(meeting?.lastFinalEndMs).toBe(1_900);
  });

  it('skips a redelivered final that was delivered: no read of subscribers, no post', async () => {
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('order-2', { ownerId: OWNER, seqCounter: 10 }));
    const client = await viewer('order-2');
    const event = finalEvent('order-2', 1, 'nothing to see');
    await fanoutFor().handle(event);
    await client.until(1);
    trace = [];
    await fanoutFor().handle(event);
    expect(trace).toContain('end:meetings.deliveredThrough');
    expect(trace).not.toContain('start:connections.subscribers');
    expect(trace).not.toContain('start:fanout.broadcast');
    expect(trace).not.toContain('start:meetings.advanceLastSeq');
    expect(client.messages).toHaveLength(1);
  });

  it("posts a final again when its delivered mark failed, and its retry brings the meeting's lastSeq up to it", async () => {
    // Arrange: a viewer; the final's delivered mark (the meeting's lastSeq) fails once, after its post
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('order-3', { ownerId: OWNER, seqCounter: 10 }));
    const client = await viewer('order-3');
    const event = finalEvent('order-3', 1, 'retry me');
    failing.add('meetings.advanceLastSeq');
    await expect(fanoutFor().handle(event)).rejects.toThrow('injected failure of meetings.advanceLastSeq');
    expect((await meetings.get('order-3'))?.lastSeq).toBe(0);

    // Act: SQS redelivers the record
    await fanoutFor().handle(event);

    // Assess: lastSeq and lastFinalEndMs reach the final (they lagged until a later final when
    // the mark was two writes and only the segment's succeeded), and it was posted again
    const meeting = await meetings.get('order-3');
    expect(meeting?.lastSeq).toBe(1);
    expect(meeting?.lastFinalEndMs).toBe(1_900);
    await client.until(2);
    expect(client.messages.map((m) => (m.type === 'transcript' ? m.transcript.seq : m.type))).toEqual([1, 1]);
  });

  it('posts a stored final whose post failed when its record is redelivered, and marks it then', async () => {
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('order-5', { ownerId: OWNER, seqCounter: 10 }));
    const client = await viewer('order-5');
    const event = finalEvent('order-5', 1, 'posted at last');
    failing.add('fanout.broadcast');
    await expect(fanoutFor().handle(event)).rejects.toThrow('injected failure of fanout.broadcast');
    expect(trace).not.toContain('start:meetings.advanceLastSeq');
    expect((await new SegmentRepository().list('order-5')).items).toHaveLength(1);

    await fanoutFor().handle(event);
    await client.until(1);
    expect(client.messages.map((m) => (m.type === 'transcript' ? m.transcript.text : m.type))).toEqual([
      'posted at last',
    ]);
    expect((await meetings.get('order-5'))?.lastSeq).toBe(1);
  });

  it("posts a final that arrives out of order once, without lowering the meeting's lastSeq or lastFinalEndMs", async () => {
    // Arrange: final 5 delivered, then final 3 (a DLQ redrive, or an old task after an expired handover hold)
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('order-6', { ownerId: OWNER, seqCounter: 10 }));
    const client = await viewer('order-6');
    await fanoutFor().handle(finalEvent('order-6', 5, 'five'));
    const late = finalEvent('order-6', 3, 'three');

    // Act: its first delivery, then a redelivery of it
    await fanoutFor().handle(late);
    await client.until(2);
    trace = [];
    await fanoutFor().handle(late);

    // Assess: posted once, stored, and the meeting's marks still at final 5
    expect(trace).not.toContain('start:fanout.broadcast');
    expect(client.messages.map((m) => (m.type === 'transcript' ? m.transcript.seq : m.type))).toEqual([5, 3]);
    expect((await new SegmentRepository().list('order-6')).items.map((s) => s.seq)).toEqual([3, 5]);
    const meeting = await meetings.get('order-6');
    expect(meeting?.lastSeq).toBe(5);
    expect(meeting?.lastFinalEndMs).toBe(5_900);
  });

  it('raises lastFinalEndMs for a final below lastSeq whose audio ends later, so a crash recovery does not re-transcribe it', async () => {
    // Arrange: a handover whose hold ran out. The next task published final 21; the stopping
    // task, taking single seqs, took 31 (above the next task's block 21–30) for its last line,
    // older audio; the next task's following finals (22…) are below lastSeq from then on.
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('order-8', { ownerId: OWNER, seqCounter: 31 }));
    const client = await viewer('order-8');
    await fanoutFor().handle(finalEvent('order-8', 21, 'next task, first line'));
    const oldTaskLast = finalEvent('order-8', 31, 'old task, last line');
    oldTaskLast.segment = { ...oldTaskLast.segment, startMs: 20_000, endMs: 20_800 };
    await fanoutFor().handle(oldTaskLast);

    // Act: the next task's next final, later audio, seq below lastSeq
    await fanoutFor().handle(finalEvent('order-8', 22, 'next task, second line'));

    // Assess: posted, stored; lastSeq stays 31, and lastFinalEndMs (where the stored finals
    // reach: the lost-span recovery's lower bound, core/audio/meeting-session.ts) reaches final 22
    await client.until(3);
    expect(client.messages.map((m) => (m.type === 'transcript' ? m.transcript.seq : m.type))).toEqual([
      21, 31, 22,
    ]);
    const meeting = await meetings.get('order-8');
    expect(meeting?.lastSeq).toBe(31);
    expect(meeting?.lastFinalEndMs).toBe(22_900);
  });

  it("keeps the highest seq and end when two invocations mark a meeting's finals at once, and loses neither final", async () => {
    // Arrange: two finals, and the first one twice (a visibility timeout that ran out mid-record)
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('order-7', { ownerId: OWNER, seqCounter: 10 }));
    const client = await viewer('order-7');

    // Act: three invocations at once
    await Promise.all([
      fanoutFor().handle(finalEvent('order-7', 2, 'two')),
      fanoutFor().handle(finalEvent('order-7', 1, 'one')),
      fanoutFor().handle(finalEvent('order-7', 1, 'one')),
    ]);

    // Assess: both stored, lastSeq and lastFinalEndMs those of final 2, each final posted (a
    // duplicate of final 1 only when its copies overlapped: the client drops a seq it has)
    const meeting = await meetings.get('order-7');
    expect(meeting?.lastSeq).toBe(2);
    expect(meeting?.lastFinalEndMs).toBe(2_900);
    expect((await new SegmentRepository().list('order-7')).items.map((s) => s.seq)).toEqual([1, 2]);
    await client.until(2);
    const seqs = client.messages.flatMap((m) => (m.type === 'transcript' ? [m.transcript.seq] : []));
    expect(new Set(seqs)).toEqual(new Set([1, 2]));
    expect(seqs.length).toBeLessThanOrEqual(3);
  });

  it('fails a final whose store failed without posting or marking anything', async () => {
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('order-4', { ownerId: OWNER, seqCounter: 10 }));
    await viewer('order-4');
    failing.add('segments.putFinal');
    await expect(fanoutFor().handle(finalEvent('order-4', 1, 'lost?'))).rejects.toThrow(
      'injected failure of segments.putFinal',
    );
    expect(trace).not.toContain('start:connections.subscribers');
    expect(trace).not.toContain('start:fanout.broadcast');
    expect(trace).not.toContain('start:meetings.advanceLastSeq');
    // The keywords read that ran alongside the store has settled too.
    expect(trace.filter((e) => e === 'start:meetings.get')).toHaveLength(
      trace.filter((e) => e === 'end:meetings.get').length,
    );
    expect((await meetings.get('order-4'))?.lastSeq).toBe(0);
  });
});

describe("interims with their meeting's audience of the last second (core/pipeline/interim-audience.ts)", () => {
  function interimEvent(meetingId: string, seq: number, text: string): TranscriptEvent {
    return {
      ...finalEvent(meetingId, seq, text),
      segment: { ...finalSegment(meetingId, seq, text), isFinal: false },
    };
  }
  const reads = () =>
    trace.filter((e) => e === 'start:connections.subscribers' || e === 'start:meetings.get');

  it('reads nothing for an interim within a second of the last read, and a final always reads afresh', async () => {
    // Arrange: a clock the test moves, one viewer
    let now = 1_000_000;
    const audience = new InterimAudience<Subscriber[]>(INTERIM_AUDIENCE_MS, () => now);
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('aud-1', { ownerId: OWNER, seqCounter: 10 }));
    const client = await viewer('aud-1');
    // Act + Assess: the final reads subscribers and keywords, then two interims read nothing
    await fanoutFor({ interimAudience: audience }).handle(finalEvent('aud-1', 1, 'first line'));
    expect(reads()).toEqual(['start:meetings.get', 'start:connections.subscribers']);
    trace = [];
    await fanoutFor({ interimAudience: audience }).handle(interimEvent('aud-1', 2, 'second'));
    now += INTERIM_AUDIENCE_MS - 1;
    await fanoutFor({ interimAudience: audience }).handle(interimEvent('aud-1', 2, 'second line'));
    expect(reads()).toEqual([]);
    // …a second later an interim reads again, and a final always does
    now += 1;
    await fanoutFor({ interimAudience: audience }).handle(interimEvent('aud-1', 2, 'second line is'));
    expect(reads()).toEqual(['start:meetings.get', 'start:connections.subscribers']);
    trace = [];
    await fanoutFor({ interimAudience: audience }).handle(finalEvent('aud-1', 2, 'second line is here'));
    expect(reads()).toEqual(['start:meetings.get', 'start:connections.subscribers']);
    // Every line reached the viewer
    await client.until(5);
    expect(client.messages.map((m) => (m.type === 'transcript' ? m.transcript.text : m.type))).toEqual([
      'first line',
      'second',
      'second line',
      'second line is',
      'second line is here',
    ]);
  });

  it('raises an interim’s alerts from the keywords the gateway sent with it, reading only its subscribers', async () => {
    // Arrange: the table says "budget"; the gateway judged the interim by "budget" and "deal"
    // (as after a `configure` this container has not read yet)
    const now = 3_000_000;
    const audience = new InterimAudience<Subscriber[]>(INTERIM_AUDIENCE_MS, () => now);
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('aud-3', { ownerId: OWNER, seqCounter: 10 }));
    const client = await viewer('aud-3');
    trace = [];
    // Act: an interim with the gateway's keywords, on a cold audience
    await fanoutFor({ interimAudience: audience }).handle({
      ...interimEvent('aud-3', 1, 'the deal and the budget'),
      keywords: ['budget', 'deal'],
    });
    // Assess: no keywords read (the subscribers only), and both alerts went with the line
    expect(reads()).toEqual(['start:connections.subscribers']);
    await client.until(3);
    expect(
      client.messages.map((m) =>
        m.type === 'keyword_alert'
          ? `${m.state}:${m.keyword}`
          : m.type === 'transcript'
            ? m.transcript.text
            : m.type,
      ),
    ).toEqual(['the deal and the budget', 'provisional:deal', 'provisional:budget']);
    // …and the audience kept the gateway's keywords for interims that come without them
    expect(audience.get('aud-3')?.keywords).toEqual(['budget', 'deal']);
  });

  it('gives a viewer who subscribed within the second interims from the next final on, and every final', async () => {
    // Arrange: one viewer, the audience read by a final
    const now = 2_000_000;
    const audience = new InterimAudience<Subscriber[]>(INTERIM_AUDIENCE_MS, () => now);
    const meetings = new MeetingRepository();
    await meetings.create(liveMeeting('aud-2', { ownerId: OWNER, seqCounter: 10 }));
    const first = await viewer('aud-2');
    await fanoutFor({ interimAudience: audience }).handle(finalEvent('aud-2', 1, 'one'));
    // Act: a second viewer subscribes; an interim (cached audience), a final, an interim
    const late = await viewer('aud-2');
    await fanoutFor({ interimAudience: audience }).handle(interimEvent('aud-2', 2, 'tw'));
    await fanoutFor({ interimAudience: audience }).handle(finalEvent('aud-2', 2, 'two'));
    await fanoutFor({ interimAudience: audience }).handle(interimEvent('aud-2', 3, 'thr'));
    // Assess: the first viewer got everything; the late one the final and the interim after it
    await first.until(4);
    await late.until(2);
    const texts = (c: { messages: ServerMessage[] }) =>
      c.messages.map((m) => (m.type === 'transcript' ? m.transcript.text : m.type));
    expect(texts(first)).toEqual(['one', 'tw', 'two', 'thr']);
    expect(texts(late)).toEqual(['two', 'thr']);
  });
});
