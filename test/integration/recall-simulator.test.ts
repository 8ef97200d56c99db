/**
 * The real Recall client (core/recall/client.ts) against the Recall simulator, with a small `ws`
 * server in the test standing in for Parley's audio gateway as the realtime endpoint. Runs the
 * 29.5 s fixture at 20× speed. Waits on events and conditions, never on fixed sleeps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { WebSocketServer } from 'ws';
import { NotFoundError } from '../../core/errors';
import { createRecallClient, type RecallClient } from '../../core/recall/client';
import { RecallApiError } from '../../core/recall/errors';
import { silentMp3 } from '../../core/recall/mp3';
import { parseRecallMessage, type RecallMessage } from '../../core/recall/realtime-schema';
import { verifySvixSignature } from '../../core/recall/webhook-signature';
import { type RecallSimulator, startRecallSimulator } from '../../local/recall-simulator';

// ---------------------------------------------------------------------------------------------
// Fixture and helpers
// ---------------------------------------------------------------------------------------------

const ROOT = resolve(__dirname, '../..');
const FIXTURE_DIR = existsSync(join(ROOT, 'fixtures', 'meeting-librivox.wav'))
  ? join(ROOT, 'fixtures')
  : join(ROOT, '..', 'shared', 'fixtures');
const fixture = {
  wavPath: join(FIXTURE_DIR, 'meeting-librivox.wav'),
  scriptPath: join(FIXTURE_DIR, 'meeting-librivox.json'),
};

/** The WAV's data chunk, found independently of the simulator's own WAV reader. */
function wavPcm(path: string): Buffer {
  const bytes = readFileSync(path);
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const size = bytes.readUInt32LE(offset + 4);
    if (bytes.toString('ascii', offset, offset + 4) === 'data')
      return bytes.subarray(offset + 8, offset + 8 + size);
    offset += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
}
const PCM = wavPcm(fixture.wavPath);
const SCRIPT = JSON.parse(readFileSync(fixture.scriptPath, 'utf8')) as {
  segments: Array<{ speaker: string; participantId: number }>;
};

const SPEED = 20;
const FRAME_MS = 20;
const API_KEY = 'sim-api-key';
const WEBHOOK_SECRET = `whsec_${Buffer.from('parley-test-webhook-secret').toString('base64')}`;
const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveTick) => setTimeout(resolveTick, 5));
  }
}

function nextEvent<K extends 'left' | 'connected' | 'endpoint_failed' | 'output_audio'>(
  sim: RecallSimulator,
  name: K,
  botId: () => string | undefined,
  extra: (info: { botId: string; [key: string]: unknown }) => boolean = () => true,
): Promise<{ botId: string; [key: string]: unknown }> {
  return new Promise((resolveEvent) => {
    const listener = (info: { botId: string; [key: string]: unknown }) => {
      if (info.botId === botId() && extra(info)) {
        sim.events.off(name, listener as never);
        resolveEvent(info);
      }
    };
    sim.events.on(name, listener as never);
  });
}

interface Connection {
  url: string;
  messages: RecallMessage[];
  closeCode: number | null;
}

/** A realtime endpoint: checks the token at upgrade (or refuses every upgrade) and parses frames. */
async function startEndpoint(options: { token: string; refuse?: boolean }) {
  const upgrades: string[] = [];
  const connections: Connection[] = [];
  const rejects: string[] = [];
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    upgrades.push(req.url ?? '');
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    if (options.refuse || token !== options.token) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection: Connection = { url: req.url ?? '', messages: [], closeCode: null };
      connections.push(connection);
      ws.on('message', (data, isBinary) => {
        const result = parseRecallMessage(isBinary ? '' : data.toString());
        if (result.ok) connection.messages.push(result.message);
        else rejects.push(`${result.reason}: ${result.detail}`);
      });
      ws.on('close', (code) => {
        connection.closeCode = code;
      });
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const port = (server.address() as AddressInfo).port;
  const audio = () =>
    connections
      .flatMap((c) => c.messages)
      .filter((m) => m.kind === 'audio' && m.event === 'audio_mixed_raw.data');
  return {
    url: `ws://127.0.0.1:${port}/recall?token=${options.token}`,
    upgrades,
    connections,
    rejects,
    audio,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}

/** Every audio frame carries the fixture bytes at its own timestamp: nothing rewound or shifted. */
function expectFramesMatchFixture(messages: RecallMessage[]): void {
  for (const message of messages) {
    if (message.kind !== 'audio') continue;
    const offset = Math.round(message.timestamp.relative * 32_000);
    expect(offset % 2).toBe(0);
    expect(message.pcm.equals(PCM.subarray(offset, offset + message.pcm.length))).toBe(true);
  }
}

function participantEvents(messages: RecallMessage[]): string[] {
  return messages.flatMap((m) =>
    m.kind === 'participant_event'
      ? [`${m.event.replace('participant_events.', '')}:${m.participant.name}`]
      : [],
  );
}

/** Receives the simulator's status webhooks. */
async function startWebhookReceiver() {
  const received: Array<{ body: string; headers: Record<string, string | undefined> }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        body: Buffer.concat(chunks).toString('utf8'),
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/recall-webhook`,
    received,
    close: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('Recall simulator with the Recall client', () => {
  let sim: RecallSimulator;
  let client: RecallClient;
  let webhooks: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    webhooks = await startWebhookReceiver();
    sim = await startRecallSimulator({
      apiKey: API_KEY,
      fixture,
      speed: SPEED,
      frameMs: FRAME_MS,
      reconnect: { attempts: 5, intervalMs: 100 },
      webhookUrl: webhooks.url,
      webhookSecret: WEBHOOK_SECRET,
      logger: silent,
    });
    client = createRecallClient({ baseUrl: sim.url, apiKey: API_KEY, retryBaseMs: 10, logger: silent });
  });

  afterAll(async () => {
    await sim.stop();
    await webhooks.close();
  });

  it('streams the whole fixture in the v1.11 format to the endpoint URL exactly as given', async () => {
    // Prepare
    const token = 'tok-A1b2_C3.d4~e5';
    const endpoint = await startEndpoint({ token });
    let botId: string | undefined;
    const left = nextEvent(sim, 'left', () => botId);
    const started = Date.now();

    // Act
    const bot = await client.createBot({
      meetingUrl: 'local://sample',
      botName: 'Parley',
      realtimeEndpointUrl: endpoint.url,
      separateAudio: true,
      metadata: { meetingId: 'meeting-1' },
    });
    botId = bot.id;
    await left;
    await waitFor('the endpoint to see the close', () => endpoint.connections[0]?.closeCode !== null);
    const elapsedMs = Date.now() - started;

    // Assess
    expect(endpoint.upgrades).toEqual([`/recall?token=${token}`]);
    expect(endpoint.rejects).toEqual([]);
    const messages = endpoint.connections[0]!.messages;
    const mixed = messages.filter((m) => m.kind === 'audio' && m.event === 'audio_mixed_raw.data');
    const separate = messages.filter((m) => m.kind === 'audio' && m.event === 'audio_separate_raw.data');
    expect(Buffer.concat(mixed.map((m) => (m.kind === 'audio' ? m.pcm : Buffer.alloc(0)))).equals(PCM)).toBe(
      true,
    );
    expect(separate.reduce((sum, m) => sum + (m.kind === 'audio' ? m.pcm.length : 0), 0)).toBe(PCM.length);
    expect(mixed[1]!.timestamp.relative - mixed[0]!.timestamp.relative).toBeCloseTo(FRAME_MS / 1000, 6);
    expect(mixed.every((m) => m.kind === 'audio' && m.pcm.length <= (FRAME_MS * 32_000) / 1000)).toBe(true);
    expectFramesMatchFixture(messages);

    const expectedEvents = [
      'join:Alice',
      'join:Bob',
      ...SCRIPT.segments.flatMap((s) => [`speech_on:${s.speaker}`, `speech_off:${s.speaker}`]),
      'leave:Alice',
      'leave:Bob',
    ];
    expect(participantEvents(messages)).toEqual(expectedEvents);
    const relatives = messages.map((m) => m.timestamp.relative);
    expect([...relatives].sort((a, b) => a - b)).toEqual(relatives);

    // separate audio goes to whoever holds the floor
    const bobFrame = separate.find((m) => m.timestamp.relative === 10);
    expect(bobFrame?.participant?.name).toBe('Bob');
    expect(messages.every((m) => m.resources.bot?.id === bot.id)).toBe(true);
    expect(messages[0]!.resources.bot?.metadata).toEqual({ meetingId: 'meeting-1' });

    // paced by the meeting clock: 29.5 s of audio at 20× cannot arrive in under ~1.48 s
    expect(elapsedMs).toBeGreaterThanOrEqual(Math.floor(PCM.length / 32 / SPEED));
    expect(endpoint.connections[0]!.closeCode).toBe(1000);

    const final = await client.getBot(bot.id);
    expect(final.status_changes.map((s) => s.code)).toEqual([
      'joining_call',
      'in_call_not_recording',
      'in_call_recording',
      'call_ended',
      'recording_done',
      'done',
    ]);

    // Svix-signed status webhooks, in order
    await waitFor('the done webhook', () =>
      webhooks.received.some((w) => w.body.includes('"done"') && w.body.includes(bot.id)),
    );
    const mine = webhooks.received.filter((w) => w.body.includes(bot.id));
    for (const webhook of mine) {
      expect(verifySvixSignature(WEBHOOK_SECRET, webhook.headers, webhook.body)).toBe(true);
      expect(webhook.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    }
    expect(mine.map((w) => JSON.parse(w.body).data.status.code)).toEqual(
      final.status_changes.map((s) => s.code),
    );
    expect(JSON.parse(mine[0]!.body)).toMatchObject({ event: 'bot.status_change', data: { bot_id: bot.id } });
    await endpoint.close();
  });

  it('sends nothing while paused, continues on resume, plays output audio and stops on leave', async () => {
    // Prepare
    const endpoint = await startEndpoint({ token: 'pause-token' });
    const bot = await client.createBot({
      meetingUrl: 'local://sample',
      botName: 'Parley',
      realtimeEndpointUrl: endpoint.url,
      automaticAudioOutput: true,
    });
    await waitFor('some audio', () => endpoint.audio().length >= 20);

    // Act: pause
    await client.pauseRecording(bot.id);
    const sentAtPause = sim.bot(bot.id)!.framesSent;
    const skippedAtPause = sim.bot(bot.id)!.itemsSkipped;
    await waitFor(
      'half a second of meeting time to pass while paused',
      () => sim.bot(bot.id)!.itemsSkipped >= skippedAtPause + 25,
    );
    await waitFor('in-flight frames to land', () => endpoint.audio().length >= sentAtPause);

    // Assess: nothing was sent during the pause
    expect(sim.bot(bot.id)!.framesSent).toBe(sentAtPause);
    expect(endpoint.audio()).toHaveLength(sentAtPause);
    expect(sim.bot(bot.id)!.paused).toBe(true);
    const lastBeforePause = endpoint.audio().at(-1)!.timestamp.relative;

    // Act: resume
    await client.resumeRecording(bot.id);
    await waitFor('audio after resume', () => endpoint.audio().length > sentAtPause);

    // Assess: the stream continues at the meeting's current time (the paused part is lost, not replayed)
    const firstAfterResume = endpoint.audio()[sentAtPause]!.timestamp.relative;
    expect(firstAfterResume).toBeGreaterThan(lastBeforePause + 0.4);
    expectFramesMatchFixture(endpoint.connections[0]!.messages);

    // Act: speak
    const mp3 = silentMp3(200);
    const played = nextEvent(sim, 'output_audio', () => bot.id);
    await client.outputAudio(bot.id, mp3);
    expect(((await played).mp3 as Buffer).equals(mp3)).toBe(true);

    // Act: leave
    const left = nextEvent(sim, 'left', () => bot.id);
    await client.leaveCall(bot.id);
    await left;
    await waitFor('the socket to close', () => endpoint.connections[0]!.closeCode !== null);

    // Assess: closed normally, and every frame sent before leaving arrived, none after
    expect(endpoint.connections[0]!.closeCode).toBe(1000);
    expect(endpoint.audio()).toHaveLength(sim.bot(bot.id)!.framesSent);
    const codes = (await client.getBot(bot.id)).status_changes.map((s) => s.code);
    expect(codes).toEqual([
      'joining_call',
      'in_call_not_recording',
      'in_call_recording',
      'in_call_not_recording',
      'in_call_recording',
      'call_ended',
      'recording_done',
      'done',
    ]);
    const notInCall = await client.pauseRecording(bot.id).catch((error: unknown) => error);
    expect(notInCall).toBeInstanceOf(RecallApiError);
    expect((notInCall as RecallApiError).code).toBe('RECALL_BOT_NOT_IN_CALL');
    await endpoint.close();
  });

  it('gives bots created after setSpeed() that speed, keeps the others at theirs, and refuses a bad speed', async () => {
    const endpoint = await startEndpoint({ token: 'speed-token' });
    const create = () =>
      client.createBot({
        meetingUrl: 'local://sample',
        botName: 'Parley',
        realtimeEndpointUrl: endpoint.url,
      });
    const before = await create();
    sim.setSpeed(SPEED * 2);
    try {
      const after = await create();
      expect(sim.bot(before.id)?.speed).toBe(SPEED);
      expect(sim.bot(after.id)?.speed).toBe(SPEED * 2);
      for (const bad of [0, -1, Number.NaN, 1001]) expect(() => sim.setSpeed(bad)).toThrow(TypeError);
      for (const id of [before.id, after.id]) await client.leaveCall(id);
    } finally {
      sim.setSpeed(SPEED);
    }
  });

  it('reconnects after a dropped socket and continues without rewinding', async () => {
    // Prepare
    const token = 'drop-token';
    const endpoint = await startEndpoint({ token });
    let botId: string | undefined;
    const left = nextEvent(sim, 'left', () => botId);
    const reconnected = nextEvent(
      sim,
      'connected',
      () => botId,
      (info) => info.reconnected === true,
    );
    const bot = await client.createBot({
      meetingUrl: 'local://sample',
      botName: 'Parley',
      realtimeEndpointUrl: endpoint.url,
    });
    botId = bot.id;
    await waitFor('some audio', () => endpoint.audio().length >= 50);

    // Act
    expect(sim.dropConnection(bot.id)).toBe(true);
    await reconnected;
    await left;
    await waitFor('the second socket to close', () => endpoint.connections[1]?.closeCode != null);

    // Assess
    expect(endpoint.upgrades).toEqual([`/recall?token=${token}`, `/recall?token=${token}`]);
    expect(endpoint.connections[0]!.closeCode).toBe(1006);
    const first = endpoint.connections[0]!.messages.filter((m) => m.kind === 'audio');
    const second = endpoint.connections[1]!.messages.filter((m) => m.kind === 'audio');
    expect(second.length).toBeGreaterThan(0);
    expect(second[0]!.timestamp.relative).toBeGreaterThan(first.at(-1)!.timestamp.relative);
    const relatives = [...first, ...second].map((m) => m.timestamp.relative);
    expect(new Set(relatives).size).toBe(relatives.length);
    expect([...relatives].sort((a, b) => a - b)).toEqual(relatives);
    expectFramesMatchFixture([...first, ...second]);
    // the stream ran to the end of the meeting
    expect(participantEvents(endpoint.connections[1]!.messages).slice(-2)).toEqual([
      'leave:Alice',
      'leave:Bob',
    ]);
    const view = sim.bot(bot.id)!;
    expect(view.endpoints[0]).toMatchObject({ connections: 2, state: 'closed' });
    expect(view.itemsSkipped).toBeGreaterThan(0);
    // The bot's record of the audio it sent: what each connection received, as runs of samples
    // (the first connection's last frames may have been written into the dropped socket).
    const runs = (messages: RecallMessage[]) => {
      const out: [number, number][] = [];
      for (const m of messages) {
        if (m.kind !== 'audio') continue;
        const start = Math.round(m.timestamp.relative * 16_000);
        const last = out[out.length - 1];
        if (last && last[1] === start) last[1] += m.pcm.length / 2;
        else out.push([start, start + m.pcm.length / 2]);
      }
      return out;
    };
    const sent = view.endpoints[0]!.audioSent;
    expect(sent.every((s) => !s.outputAudioMixed)).toBe(true);
    expect(sent.filter((s) => s.connection === 2).map((s) => [s.startSample, s.endSample])).toEqual(
      runs(second),
    );
    const sentFirst = sent.filter((s) => s.connection === 1);
    const [received] = runs(first);
    expect(runs(first)).toHaveLength(1);
    expect(sentFirst).toHaveLength(1);
    expect(sentFirst[0]!.startSample).toBe(received![0]);
    expect(sentFirst[0]!.endSample).toBeGreaterThanOrEqual(received![1]);
    await endpoint.close();
  });

  it('answers a bad API key with 401, an unknown bot with 404 and a bad body with 400', async () => {
    const wrongKey = createRecallClient({ baseUrl: sim.url, apiKey: 'not-the-key', logger: silent });
    const unauthorized = (await wrongKey
      .getBot('00000000-0000-4000-8000-000000000000')
      .catch((e: unknown) => e)) as RecallApiError;
    expect(unauthorized).toBeInstanceOf(RecallApiError);
    expect(unauthorized.code).toBe('RECALL_UNAUTHORIZED');
    expect(unauthorized.httpStatus).toBe(401);
    expect(unauthorized.message).not.toContain('not-the-key');

    const noHeader = await fetch(`${sim.url}/api/v1/bot/`, { method: 'POST', body: '{}' });
    expect(noHeader.status).toBe(401);
    expect(await noHeader.json()).toEqual({ detail: 'Authentication credentials were not provided.' });

    await expect(client.getBot('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError);

    const badBody = await fetch(`${sim.url}/api/v1/bot/`, {
      method: 'POST',
      headers: { Authorization: `Token ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        meeting_url: 'local://sample',
        recording_config: { realtime_endpoints: [{ type: 'websocket', url: 'https://gw/x', events: [] }] },
      }),
    });
    expect(badBody.status).toBe(400);
    expect(await badBody.json()).toEqual({
      recording_config: {
        realtime_endpoints: [{ url: ['Websocket realtime endpoint URL must start with ws:// or wss://.'] }],
      },
    });
  });
});

describe('Recall simulator endpoint retries', () => {
  it('retries a refused upgrade the configured number of times, then marks the endpoint failed', async () => {
    // Prepare
    const sim = await startRecallSimulator({
      fixture,
      speed: SPEED,
      reconnect: { attempts: 3, intervalMs: 20 },
      logger: silent,
    });
    const client = createRecallClient({ baseUrl: sim.url, apiKey: 'any', logger: silent });
    const endpoint = await startEndpoint({ token: 'refused', refuse: true });
    const failures: boolean[] = [];
    sim.events.on('connect_failed', (info) => failures.push(info.willRetry));
    let botId: string | undefined;
    const failed = nextEvent(sim, 'endpoint_failed', () => botId);

    try {
      // Act
      const bot = await client.createBot({
        meetingUrl: 'local://sample',
        botName: 'P',
        realtimeEndpointUrl: endpoint.url,
      });
      botId = bot.id;
      const info = await failed;

      // Assess: one attempt plus three retries, each to the exact URL
      expect(info.attempts).toBe(4);
      expect(endpoint.upgrades).toEqual(Array(4).fill('/recall?token=refused'));
      expect(failures).toEqual([true, true, true, false]);
      expect(sim.bot(bot.id)!.endpoints[0]).toMatchObject({
        state: 'failed',
        connectAttempts: 4,
        connections: 0,
      });
      expect(sim.bot(bot.id)!.endpoints[0]!.lastError).toMatch(/401/);
      await client.leaveCall(bot.id);
      expect(sim.bot(bot.id)!.status).toBe('done');
    } finally {
      await sim.stop();
      await endpoint.close();
    }
  });
});

describe('Recall client retries against a flaky server', () => {
  let server: Server;
  let url: string;
  const script: number[] = [];
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['idempotency-key'] ?? '-'}`);
      const status = script.shift() ?? 500;
      const body =
        status < 300
          ? { id: '11111111-2222-4333-8444-555555555555', status_changes: [] }
          : { detail: status === 400 ? 'meeting_url: Invalid meeting URL.' : 'Service unavailable' };
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    script.length = 0;
    seen.length = 0;
  });

  afterAll(async () => {
    await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  });

  const input = { meetingUrl: 'local://sample', botName: 'P', realtimeEndpointUrl: 'ws://127.0.0.1:1/r' };

  it('retries 503 with the same Idempotency-Key and then succeeds', async () => {
    script.push(503, 503, 201);
    const client = createRecallClient({
      baseUrl: url,
      apiKey: 'k',
      retryBaseMs: 5,
      retryMaxMs: 20,
      logger: silent,
    });
    const bot = await client.createBot(input);
    expect(bot.id).toBe('11111111-2222-4333-8444-555555555555');
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(1);
  });

  it('does not retry a 400', async () => {
    script.push(400, 201);
    const client = createRecallClient({ baseUrl: url, apiKey: 'k', retryBaseMs: 5, logger: silent });
    const error = (await client.createBot(input).catch((e: unknown) => e)) as RecallApiError;
    expect(error.code).toBe('RECALL_BAD_REQUEST');
    expect(error.message).toContain('Invalid meeting URL');
    expect(seen).toHaveLength(1);
  });
});
