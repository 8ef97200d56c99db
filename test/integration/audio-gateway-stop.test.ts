/**
 * A stopping audio gateway is bounded: a speech engine that never answers CloseStream and an
 * event queue that never takes the last events cannot hold its stop (nor a local stack's) for
 * ever. Local emulators (dynalite, local-aws-sqs), a Deepgram-protocol peer, real sockets.
 */
import WebSocket from 'ws';
import { AudioGateway } from '../../core/audio/audio-gateway';
import { createDeepgramConnector } from '../../core/audio/deepgram-connector';
import { destroyClients } from '../../core/clients/lifecycle';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { newMeetingRecord } from '../../core/meetings/service';
import { EventPublisher } from '../../core/pipeline/publisher';
import { createLocalClients, type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { type MessageContext, mixedAudioMessage } from '../../local/recall-simulator/messages';
import { type FakeDeepgram, numberedFrame, startFakeDeepgram } from '../helpers/fake-deepgram';
import { waitFor } from '../helpers/live';

const logger = createLogger('test');
const CTX: MessageContext = {
  botId: 'bot-stop',
  botMetadata: {},
  recordingId: 'rec-stop',
  realtimeEndpointId: 're-stop',
  audioMixedId: 'am-stop',
  audioSeparateId: 'as-stop',
  participantEventsId: 'pe-stop',
  meetingStartEpochMs: Date.now(),
};

let emulators: RunningEmulators;
let clients: ReturnType<typeof createLocalClients>;
let fake: FakeDeepgram;

beforeAll(async () => {
  emulators = await startEmulators({ logger });
  Object.assign(process.env, emulators.env);
  clients = createLocalClients(emulators.endpoints);
  fake = await startFakeDeepgram({ finalEveryMs: 0, hangOnClose: true });
});
afterAll(async () => {
  await fake?.stop();
  clients?.destroy();
  destroyClients();
  await emulators?.stop();
});

it('gives up a stuck speech flush and a stuck event flush at their bounds, logs each, and closes Recall', async () => {
  const repo = new MeetingRepository();
  const { meeting, token } = newMeetingRecord({ ownerId: 'alice', title: 'stop', meetingUrl: 'local://x' });
  await repo.create(meeting);
  // A queue that does not exist: SQS refuses every send, so the publisher holds its events for ever.
  const publisher = new EventPublisher({
    sqs: clients.sqs,
    queueUrl: (emulators.env.TRANSCRIPT_QUEUE_URL as string).replace(/[^/]+$/, 'missing.fifo'),
    logger,
  });
  const gateway = new AudioGateway({
    repo,
    connector: createDeepgramConnector({ apiKey: 'test-key', wsUrl: fake.wsUrl }),
    publish: (e) => publisher.publish(e),
    flush: () => publisher.flush(),
    logger,
    // Far beyond the test's timeout: only the stop's own bounds can end these waits.
    sttOptions: { closeTimeoutMs: 600_000, closeIdleMs: 600_000 },
    stopBounds: { sessionsMs: 1_000, flushMs: 1_000 },
  });
  const { url } = await gateway.listen();
  const recall = new WebSocket(`${url}/recall/${meeting.meetingId}?token=${encodeURIComponent(token)}`);
  await new Promise((resolve, reject) => {
    recall.once('open', resolve);
    recall.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => recall.once('close', (code) => resolve(code)));
  for (let n = 1; n <= 10; n++) recall.send(JSON.stringify(mixedAudioMessage(CTX, n * 20, numberedFrame(n))));
  await waitFor('the engine to hear the audio', () => (fake.connections[0]?.heard.length ?? 0) >= 10);
  const error = jest.spyOn(logger, 'error');

  await gateway.shutdown('test stop');

  expect(fake.connections[0]!.closeStreamReceived).toBe(true);
  expect(error).toHaveBeenCalledWith(
    'stop step did not finish in time; going on without it',
    expect.objectContaining({ step: 'ending sessions', unfinished: [meeting.meetingId] }),
  );
  expect(error).toHaveBeenCalledWith(
    'stop step did not finish in time; going on without it',
    expect.objectContaining({ step: 'publishing the last events and storing recordings' }),
  );
  expect(publisher.queued).toBeGreaterThan(0);
  expect(await closed).toBeGreaterThan(0);
  error.mockRestore();
  await gateway.kill();
});
