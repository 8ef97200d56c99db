/**
 * The audio gateway's interim coalescing with the meeting's keywords (core/pipeline/
 * interim-coalescer.ts): inside the window, an interim reaches the transcript queue only when it
 * holds a keyword occurrence new to its line (then as a line: its alert goes out now), with the
 * keywords the gateway's command poll read from the meetings table — also after a `configure`
 * changed them. Local emulators (dynalite,
 * local-aws-sqs), a Deepgram-protocol peer, the real gateway, publisher and queue.
 */
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import WebSocket from 'ws';
import { AudioGateway } from '../../core/audio/audio-gateway';
import { createDeepgramConnector } from '../../core/audio/deepgram-connector';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { newMeetingRecord } from '../../core/meetings/service';
import { type PipelineEvent, PipelineEventSchema, type TranscriptEvent } from '../../core/pipeline/events';
import { InterimCoalescer } from '../../core/pipeline/interim-coalescer';
import { EventPublisher } from '../../core/pipeline/publisher';
import { createLocalClients } from '../../local/aws-emulators';
import { useEmulators } from '../helpers/emulators';
import { type FakeDeepgram, startFakeDeepgram } from '../helpers/fake-deepgram';
import { waitFor } from '../helpers/live';
import { finalSegment, transcriptEvent } from '../helpers/meetings';

const logger = createLogger('test');

const emulators = useEmulators({ logger });
let clients: ReturnType<typeof createLocalClients>;
let fake: FakeDeepgram;

beforeAll(async () => {
  clients = createLocalClients(emulators().endpoints);
  fake = await startFakeDeepgram();
});
afterAll(async () => {
  await fake?.stop();
  clients?.destroy();
});

/** Revision `revision` of line `seq`, an interim saying `text`. */
function interim(meetingId: string, seq: number, revision: number, text: string): TranscriptEvent {
  return transcriptEvent(meetingId, { ...finalSegment(meetingId, seq, text), revision, isFinal: false });
}

it('shows an interim inside the window that raises an alert and queues no other, with the keywords the gateway last read', async () => {
  // Prepare: a meeting with one keyword, its Recall socket on a real gateway (so the gateway
  // polls it), and the gateway's coalescer in front of a publisher to a fresh FIFO queue.
  const repo = new MeetingRepository();
  const { meeting, token } = newMeetingRecord({
    ownerId: 'alice',
    title: 'keywords',
    meetingUrl: 'local://x',
    keywords: ['budget'],
  });
  await repo.create(meeting);
  const name = `interim-keywords-${Date.now()}.fifo`;
  const { QueueUrl } = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
    }),
  );
  const publisher = new EventPublisher({ sqs: clients.sqs, queueUrl: QueueUrl as string, logger });
  let gateway: AudioGateway | undefined;
  // A window far longer than the test: every interim after a line's first is skipped.
  const coalescer = new InterimCoalescer(
    (e) => publisher.publish(e),
    600_000,
    Date.now,
    (meetingId) => gateway?.keywordsOf(meetingId),
  );
  gateway = new AudioGateway({
    repo,
    connector: createDeepgramConnector({ apiKey: 'test-key', wsUrl: fake.wsUrl }),
    publish: (e) => coalescer.handle(e),
    flush: () => publisher.flush(),
    logger,
    commandPollMs: 100,
  });
  const { url } = await gateway.listen();
  const recall = new WebSocket(`${url}/recall/${meeting.meetingId}?token=${encodeURIComponent(token)}`);
  await new Promise((resolve, reject) => {
    recall.once('open', resolve);
    recall.once('error', reject);
  });
  const id = meeting.meetingId;
  try {
    await waitFor('the gateway to serve the meeting', () => gateway?.keywordsOf(id) !== undefined);
    expect(gateway.keywordsOf(id)).toEqual(['budget']);
    expect(gateway.keywordsOf('another-meeting')).toBeUndefined();

    // Act: a line whose interims grow; then the keywords change (configure) and it grows more.
    for (const [revision, text] of [
      'the', // shown: the line's first
      'the budget', // "budget" #0 is new: shown with its alert
      'the budget is', // nothing new: not queued
      'the budget is the deal', // "deal" is not a keyword yet: not queued
    ].entries()) {
      coalescer.handle(interim(id, 1, revision, text));
    }
    await repo.configure(id, { keywords: ['budget', 'deal'] });
    await waitFor('the gateway’s poll to read the new keywords', () =>
      (gateway?.keywordsOf(id) ?? []).includes('deal'),
    );
    coalescer.handle(interim(id, 1, 4, 'the budget is the deal now')); // "deal" #0 now new: shown
    await publisher.flush();

    // Assess: what reached the queue, in order.
    const received: PipelineEvent[] = [];
    await waitFor('the queued interims', async () => {
      const out = await clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      for (const m of out.Messages ?? []) {
        received.push(PipelineEventSchema.parse(JSON.parse(m.Body ?? '')));
        // Taken: a FIFO group gives its next messages only once these are deleted.
        await clients.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
      return received.filter((e) => e.type === 'transcript').length >= 3;
    });
    const interims = received.flatMap((e) =>
      e.type === 'transcript' ? [`${e.segment.revision}${e.display ? `:${e.display}` : ''}`] : [],
    );
    expect(interims).toEqual(['0', '1', '4']);
    // …each with the keywords the gateway judged it by: the fan-out raises its alerts from them.
    expect(received.flatMap((e) => (e.type === 'transcript' ? [e.keywords] : []))).toEqual([
      ['budget'],
      ['budget'],
      ['budget', 'deal'],
    ]);
    expect(coalescer.stats).toMatchObject({
      interims: 5,
      shown: 3,
      shownWithAlert: 2,
      skipped: 2,
      unqueued: 2,
    });
  } finally {
    coalescer.flush(); // its pending refresh: no timer outlives the test
    recall.close();
    await gateway.shutdown('test end');
  }
}, 60_000);
