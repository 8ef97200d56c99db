/**
 * The audio gateway's parts under faults, against the local AWS emulators (dynalite,
 * local-aws-sqs) and real sockets: a DynamoDB blip while reserving seqs, SQS unreachable for
 * longer than the retries, simultaneous upgrades at the capacity limit, and two bots streaming
 * one meeting.
 */
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import WebSocket from 'ws';
import { AudioGateway } from '../../core/audio/audio-gateway';
import { createDeepgramConnector } from '../../core/audio/deepgram-connector';
import { destroyClients } from '../../core/clients/lifecycle';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { SEQ_BLOCK, SeqAllocator } from '../../core/meetings/seq-allocator';
import { type PipelineEvent, PipelineEventSchema } from '../../core/pipeline/events';
import { EventPublisher } from '../../core/pipeline/publisher';
import { createLocalClients, type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { mixedAudioMessage } from '../../local/recall-simulator/messages';
import { waitFor } from '../helpers/live';
import { finalEvent, meetingWithToken } from '../helpers/meetings';
import { recallContext } from '../helpers/recall';

const logger = createLogger('test');

const CTX = recallContext('test');

describe('the audio gateway under faults (local emulators)', () => {
  let emulators: RunningEmulators;
  let clients: ReturnType<typeof createLocalClients>;
  const repo = () => new MeetingRepository();

  beforeAll(async () => {
    emulators = await startEmulators({ logger });
    Object.assign(process.env, emulators.env);
    clients = createLocalClients(emulators.endpoints);
  });
  afterAll(async () => {
    clients?.destroy();
    destroyClients();
    await emulators?.stop();
  });

  const newMeeting = () => meetingWithToken('alice', 'faults');

  it('keeps handing out seqs after a DynamoDB blip fails a prefetched reservation', async () => {
    const { meetingId } = await newMeeting();
    const real = repo();
    let calls = 0;
    // Calls 2-6 fail: the prefetch made after the first seq exhausts its five attempts.
    const blip = {
      reserveSeqs: async (id: string, count?: number) => {
        calls++;
        if (calls >= 2 && calls <= 6) {
          throw Object.assign(new Error('ProvisionedThroughputExceededException'), { name: 'Throttled' });
        }
        return real.reserveSeqs(id, count);
      },
      releaseSeq: (id: string, seq: number, from?: number) => real.releaseSeq(id, seq, from),
    };
    const seqs = new SeqAllocator(blip, meetingId, 5, 1); // one seq a reservation: a prefetch after each
    expect(await seqs.next()).toBe(1);
    await waitFor('the prefetch to fail', () => calls >= 6);
    // The failed prefetch is not kept: later seqs keep coming, unique and increasing.
    const later = [await seqs.next(), await seqs.next(), await seqs.next()];
    expect(later).toEqual([2, 3, 4]);
  });

  it('gives back an unused prefetched seq, so the next session continues without a gap', async () => {
    const { meetingId } = await newMeeting();
    const seqs = new SeqAllocator(repo(), meetingId);
    expect([await seqs.next(), await seqs.next()]).toEqual([1, 2]);
    await seqs.release();
    const next = new SeqAllocator(repo(), meetingId);
    expect(await next.next()).toBe(3);
  });

  it('reserves seqs 10 at a time, the next block as the last seq of one goes out', async () => {
    // Prepare: the real repository, its reservations counted.
    const { meetingId } = await newMeeting();
    const real = repo();
    const reservations: number[] = [];
    const counting = {
      reserveSeqs: (id: string, count?: number) => {
        reservations.push(count ?? 1);
        return real.reserveSeqs(id, count);
      },
      releaseSeq: (id: string, seq: number, from?: number) => real.releaseSeq(id, seq, from),
    };
    const seqs = new SeqAllocator(counting, meetingId);

    // Act
    const taken: number[] = [];
    for (let i = 0; i < 25; i++) taken.push(await seqs.next());

    // Assess: 1…25 in order from three writes (the third reserved ahead, at seq 20).
    expect(taken).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(reservations).toEqual([SEQ_BLOCK, SEQ_BLOCK, SEQ_BLOCK]);
    expect((await real.get(meetingId))?.seqCounter).toBe(30);
  });

  it('gives a finishing session’s unused block back and then takes one seq at a time: the next session continues without a gap', async () => {
    // Prepare
    const { meetingId } = await newMeeting();
    const seqs = new SeqAllocator(repo(), meetingId);
    expect([await seqs.next(), await seqs.next(), await seqs.next()]).toEqual([1, 2, 3]);

    // Act: the session finishes (a handover's last finals), then stops.
    await seqs.singles();
    const counterAfterSingles = (await repo().get(meetingId))?.seqCounter;
    const last = [await seqs.next(), await seqs.next()];
    await seqs.release();

    // Assess
    expect(counterAfterSingles).toBe(3);
    expect(last).toEqual([4, 5]);
    expect(await new SeqAllocator(repo(), meetingId).next()).toBe(6);
  });

  it('leaves a finishing session’s block unused when another task reserved after it, taking seqs above that task’s', async () => {
    // Prepare: this task holds 1…10 (used 1, 2); the next task, not held back (its handover mark
    // expired), reserved 11…20.
    const { meetingId } = await newMeeting();
    const old = new SeqAllocator(repo(), meetingId);
    expect([await old.next(), await old.next()]).toEqual([1, 2]);
    const next = new SeqAllocator(repo(), meetingId);
    expect(await next.next()).toBe(11);

    // Act
    await old.singles();
    const late = await old.next();

    // Assess: 3…10 stay a gap (clients may see gaps); nothing below the next task's seqs.
    expect(late).toBe(21);
  });

  it('holds finals and status events while SQS is unreachable for longer than its retries, then delivers them all', async () => {
    const live = emulators.env.TRANSCRIPT_QUEUE_URL as string;
    const name = `held-${Date.now()}.fifo`;
    const missing = live.replace(/[^/]+$/, name);
    const backpressure: boolean[] = [];
    const publisher = new EventPublisher({
      sqs: clients.sqs,
      queueUrl: missing,
      logger,
      maxAttempts: 3,
      highWaterMark: 3,
      onBackpressure: (on) => backpressure.push(on),
    });
    const meetingId = 'held-meeting';
    const interim = finalEvent(meetingId, 4) as Extract<PipelineEvent, { type: 'transcript' }>;
    interim.segment = { ...interim.segment, isFinal: false, revision: 0 };
    const events: PipelineEvent[] = [
      finalEvent(meetingId, 1),
      finalEvent(meetingId, 2),
      { v: 1, type: 'status', meetingId, status: 'live', epoch: 1, at: new Date().toISOString() },
      finalEvent(meetingId, 3),
      interim,
    ];
    for (const e of events) publisher.publish(e);
    expect(backpressure).toEqual([true]);
    // The interim is given up after maxAttempts; the finals and the status are still held after more.
    await waitFor('the interim to be given up', () => publisher.stats.droppedInterims === 1, 30_000);
    await waitFor('more attempts than maxAttempts', () => publisher.stats.retries >= 4 * 4 + 3, 30_000);
    expect(publisher.queued).toBe(4);
    // SQS comes back (the queue now exists): everything held arrives, in order.
    await clients.sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
      }),
    );
    await publisher.flush();
    expect(backpressure).toEqual([true, false]);
    const received: PipelineEvent[] = [];
    await waitFor(
      'the four events in the queue',
      async () => {
        const out = await clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: missing, MaxNumberOfMessages: 10, AttributeNames: ['All'] }),
        );
        for (const m of out.Messages ?? [])
          received.push(PipelineEventSchema.parse(JSON.parse(m.Body ?? '')));
        return received.length >= 4;
      },
      30_000,
    );
    expect(received.map((e) => (e.type === 'transcript' ? e.segment.seq : e.type))).toEqual([
      1,
      2,
      'status',
      3,
    ]);
    expect(publisher.stats.rejected).toBe(0);
  }, 120_000);

  describe('a gateway', () => {
    let gateway: AudioGateway;
    let url: string;
    const sockets: WebSocket[] = [];

    beforeAll(async () => {
      const publisher = new EventPublisher({
        sqs: clients.sqs,
        queueUrl: emulators.env.TRANSCRIPT_QUEUE_URL as string,
        logger,
      });
      gateway = new AudioGateway({
        repo: repo(),
        // No speech server listens here: sessions retry in the background, which these tests ignore.
        connector: createDeepgramConnector({ apiKey: 'test', wsUrl: 'ws://127.0.0.1:9' }),
        publish: (e) => publisher.publish(e),
        flush: () => publisher.flush(),
        logger,
        maxSessions: 2,
        staleConnectionMs: 600,
        recallPingMs: 100,
        reconnectGraceMs: 200,
        sttOptions: { reconnectDelayMs: 60_000 },
      });
      ({ url } = await gateway.listen());
    });
    afterAll(async () => {
      for (const s of sockets) s.terminate();
      await gateway?.kill();
    });

    function connect(meetingId: string, token: string): Promise<WebSocket> {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`${url}/recall/${meetingId}?token=${encodeURIComponent(token)}`);
        sockets.push(ws);
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.once('error', reject);
      });
    }

    it('never exceeds maxSessions when upgrades for new meetings arrive at the same time', async () => {
      const meetings = await Promise.all([1, 2, 3, 4, 5, 6].map(() => newMeeting()));
      const results = await Promise.allSettled(meetings.map((m) => connect(m.meetingId, m.token)));
      const opened = results.filter((r) => r.status === 'fulfilled');
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      expect(opened).toHaveLength(2);
      expect(refused).toEqual(Array(4).fill('Error: HTTP 503'));
      expect(gateway.sessionCount).toBe(2);
      for (const r of opened) (r as PromiseFulfilledResult<WebSocket>).value.close(1000);
      await waitFor('the sessions to end', () => gateway.sessionCount === 0, 30_000);
    });

    it('pings a quiet Recall socket, so proxies that close idle sockets (CloudFront: 10 min) keep it', async () => {
      const { meetingId, token } = await newMeeting();
      const quiet = await connect(meetingId, token);
      let pings = 0;
      quiet.on('ping', () => pings++);
      await waitFor('two pings', () => pings >= 2);
      quiet.close(1000);
      await waitFor('the session to end', () => gateway.session(meetingId) === undefined, 30_000);
    });

    it('refuses a second bot while the first streams, and lets a new connection replace a silent one once', async () => {
      const { meetingId, token } = await newMeeting();
      const first = await connect(meetingId, token);
      let t = 0;
      const frame = () => {
        t += 20;
        return JSON.stringify(mixedAudioMessage(CTX, t, Buffer.alloc(640)));
      };
      const streaming = setInterval(() => first.readyState === WebSocket.OPEN && first.send(frame()), 50);
      try {
        await waitFor('the first frames', () => gateway.stats.acceptedFrames > 0);
        await expect(connect(meetingId, token)).rejects.toThrow('HTTP 409');
        await expect(connect(meetingId, token)).rejects.toThrow('HTTP 409');
      } finally {
        clearInterval(streaming);
      }
      const closed = new Promise<number>((resolve) => first.once('close', (code) => resolve(code)));
      // The first connection falls silent (a dead peer): a new one takes the meeting over.
      const second = await waitFor(
        'a second connection to take the meeting over',
        () => connect(meetingId, token).catch(() => undefined),
        30_000,
      );
      expect(await closed).toBe(4000);
      second.send(frame());
      await expect(connect(meetingId, token)).rejects.toThrow('HTTP 409');
      expect(gateway.sessionCount).toBe(1);
      second.close(1000);
    });
  });
});
