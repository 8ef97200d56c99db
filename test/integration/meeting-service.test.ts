/**
 * Creating a meeting when its bot cannot be created, against dynalite and a Recall stand-in
 * that answers 500 on the real REST wire: the meeting must end `failed`, never stay `joining`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { destroyClients } from '../../core/clients/lifecycle';
import { UpstreamError } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { applyLifecycleCommand } from '../../core/meetings/commands';
import { MeetingRepository } from '../../core/meetings/repository';
import { createMeeting, newMeetingRecord } from '../../core/meetings/service';
import { createRecallClient } from '../../core/recall/client';
import { type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { startRecallSimulator } from '../../local/recall-simulator';
import { SAMPLE_FIXTURE } from '../../local/stack';

let emulators: RunningEmulators;
let recallDown: Server;
let recallUrl: string;

beforeAll(async () => {
  emulators = await startEmulators();
  Object.assign(process.env, emulators.env);
  recallDown = createServer((req, res) => {
    req.resume();
    res.writeHead(500, { 'content-type': 'application/json' }).end('{"detail":"down"}');
  });
  await new Promise<void>((resolve) => recallDown.listen(0, '127.0.0.1', resolve));
  recallUrl = `http://127.0.0.1:${(recallDown.address() as AddressInfo).port}`;
});

afterAll(async () => {
  destroyClients();
  await new Promise((resolve) => recallDown?.close(resolve));
  await emulators?.stop();
});

function deps(logger = createLogger('test')) {
  return {
    repo: new MeetingRepository(),
    recall: createRecallClient({ baseUrl: recallUrl, apiKey: 'k', maxRetries: 0, logger }),
    audioGatewayUrl: 'ws://127.0.0.1:1',
    logger,
  };
}

const input = {
  ownerId: 'alice',
  title: 't',
  meetingUrl: 'https://zoom.us/j/1',
  keywords: [],
  language: 'en',
};

describe('createMeeting when the bot cannot be created', () => {
  it('marks the meeting failed even when the first status writes fail', async () => {
    // Prepare: more failures than the SDK's own attempts, fewer than the service's retries.
    const { repo } = deps();
    const before = new Set((await repo.listByOwner('alice')).items.map((m) => m.meetingId));
    await emulators.failDynamo('UpdateItem', 7);

    // Act
    const error = await createMeeting(input, deps()).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UpstreamError);
    const created = (await repo.listByOwner('alice')).items.filter((m) => !before.has(m.meetingId));
    expect(created.map((m) => m.status)).toEqual(['failed']);
  });

  it('logs an error naming the meeting when it cannot be marked failed at all', async () => {
    const logger = createLogger('test');
    const logged = jest.spyOn(logger, 'error');
    await emulators.failDynamo('UpdateItem', 1_000);

    const error = await createMeeting(input, deps(logger)).catch((e: unknown) => e);
    await emulators.failDynamo('UpdateItem', 0);

    expect(error).toBeInstanceOf(UpstreamError);
    expect(logged).toHaveBeenCalledWith(
      'could not mark the meeting failed; it stays joining',
      expect.objectContaining({ meetingId: expect.any(String) }),
    );
  });
});

describe('stopping a meeting whose bot has already left the call', () => {
  it('stops without an error, records the stop, and refuses a pause with UPSTREAM_ERROR', async () => {
    const logger = createLogger('test');
    const sim = await startRecallSimulator({
      apiKey: 'k',
      fixture: { wavPath: SAMPLE_FIXTURE.wavPath, scriptPath: SAMPLE_FIXTURE.scriptPath },
      speed: 1,
      logger,
    });
    try {
      const recall = createRecallClient({ baseUrl: sim.url, apiKey: 'k', maxRetries: 0, logger });
      const repo = new MeetingRepository();
      const { meeting } = newMeetingRecord({ ownerId: 'alice', title: 't', meetingUrl: 'local://sample' });
      await repo.create({ ...meeting, status: 'live' });
      const bot = await recall.createBot({
        meetingUrl: 'local://sample',
        botName: 'P',
        realtimeEndpointUrl: 'ws://127.0.0.1:1/recall/m?token=t',
      });
      await repo.setBot(meeting.meetingId, bot.id);
      // The call ends before the owner's stop reaches Recall.
      await recall.leaveCall(bot.id);
      const live = { ...meeting, status: 'live' as const, botId: bot.id };
      const commandDeps = {
        meetings: repo,
        recall: async () => recall,
        publish: async () => undefined,
        logger,
      };

      const status = await applyLifecycleCommand(live, 'stop', commandDeps);

      expect(status).toBe('disconnecting');
      expect((await repo.get(meeting.meetingId))?.commandLog).toEqual(['stop']);
      const refused = await applyLifecycleCommand(live, 'pause', commandDeps).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(UpstreamError);
      expect((refused as UpstreamError).code).toBe('UPSTREAM_ERROR');
    } finally {
      await sim.stop();
    }
  });
});
