/**
 * Local stand-in for Recall.ai: the REST subset Parley calls, answered the way Recall answers
 * (paths, status codes, DRF-style error bodies, Idempotency-Key replay, Output Audio rate limit),
 * and bots that stream a recorded meeting to their realtime websocket endpoints in the v1.11
 * format. What it lacks compared with Recall is listed in docs/local-mode-recall.md.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../core/logger';
import type { RecallLogger } from '../../core/recall/client';
import { listen, sendJson } from '../http-util';
import { recordingName } from '../recordings';
import { loadMeetingFixture, type MeetingFixture } from './fixture';
import { type FieldErrors, validateCreateBot, validateOutputAudio } from './request-validation';
import { SimulatedBot } from './simulated-bot';
import { buildTimeline } from './timeline';
import type { RecallSimulator, RecallSimulatorEventMap, RecallSimulatorOptions } from './types';
import { WebhookSender } from './webhook-sender';

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  speed: 1,
  frameMs: 20,
  joinDelayMs: 1_000,
} as const;

/** Recall's documented realtime endpoint retry policy. */
export const RECALL_RECONNECT_POLICY = { attempts: 30, intervalMs: 3_000 } as const;

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const IDEMPOTENCY_TTL_MS = 60 * 60 * 1000;
/** Output Audio: 300 requests per minute per workspace. */
const OUTPUT_AUDIO_LIMIT = { requests: 300, windowMs: 60_000 } as const;

const BOT_ACTIONS = ['leave_call', 'pause_recording', 'resume_recording', 'output_audio'] as const;
type BotAction = (typeof BOT_ACTIONS)[number];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

function checkOptions(options: RecallSimulatorOptions) {
  const settings = {
    host: options.host ?? DEFAULTS.host,
    port: options.port ?? DEFAULTS.port,
    speed: options.speed ?? DEFAULTS.speed,
    frameMs: options.frameMs ?? DEFAULTS.frameMs,
    joinDelayMs: options.joinDelayMs ?? DEFAULTS.joinDelayMs,
  };
  const reconnect = {
    attempts: options.reconnect?.attempts ?? RECALL_RECONNECT_POLICY.attempts,
    intervalMs: options.reconnect?.intervalMs ?? RECALL_RECONNECT_POLICY.intervalMs,
  };
  if (!options.fixture?.wavPath || !options.fixture?.scriptPath) {
    throw new TypeError('fixture.wavPath and fixture.scriptPath are required');
  }
  checkSpeed(settings.speed);
  if (!Number.isInteger(settings.frameMs) || settings.frameMs < 10 || settings.frameMs > 100) {
    throw new TypeError(`frameMs must be an integer from 10 to 100, got ${settings.frameMs}`);
  }
  if (!Number.isInteger(reconnect.attempts) || reconnect.attempts < 0) {
    throw new TypeError(`reconnect.attempts must be a non-negative integer, got ${reconnect.attempts}`);
  }
  if (!Number.isFinite(reconnect.intervalMs) || reconnect.intervalMs < 0) {
    throw new TypeError(`reconnect.intervalMs must be a non-negative number, got ${reconnect.intervalMs}`);
  }
  if (!Number.isFinite(settings.joinDelayMs) || settings.joinDelayMs < 0) {
    throw new TypeError(`joinDelayMs must be a non-negative number, got ${settings.joinDelayMs}`);
  }
  if ((options.webhookUrl === undefined) !== (options.webhookSecret === undefined)) {
    throw new TypeError('webhookUrl and webhookSecret go together: set both or neither');
  }
  if (options.apiKey !== undefined && options.apiKey.trim() === '') {
    throw new TypeError('apiKey must not be empty (omit it to accept any key)');
  }
  return { ...settings, reconnect };
}

function checkSpeed(speed: unknown): asserts speed is number {
  if (typeof speed !== 'number' || !(speed > 0) || speed > 1000) {
    throw new TypeError(`speed must be a number in (0, 1000], got ${speed}`);
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Stop buffering but drain the rest, so the 413 can still be written.
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, { detail: 'Request body is too large.' }, { Connection: 'close' }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, { detail: `JSON parse error - ${(error as Error).message}` });
  }
}

function badRequest(errors: FieldErrors): HttpError {
  return new HttpError(400, errors);
}

export async function startRecallSimulator(options: RecallSimulatorOptions): Promise<RecallSimulator> {
  const settings = checkOptions(options);
  const logger: RecallLogger = options.logger ?? createLogger('recall-simulator');
  const fixture = await loadMeetingFixture(options.fixture);
  const timeline = buildTimeline(fixture, settings.frameMs);
  const events = new EventEmitter<RecallSimulatorEventMap>();
  const webhooks =
    options.webhookUrl && options.webhookSecret
      ? new WebhookSender(options.webhookUrl, options.webhookSecret, logger)
      : undefined;
  const bots = new Map<string, SimulatedBot>();
  const idempotent = new Map<string, { status: number; body: unknown; expiresAt: number }>();
  const outputAudioTimes: number[] = [];
  const apiKeyDigest = options.apiKey === undefined ? undefined : digest(options.apiKey);
  let stopped = false;

  function authenticate(req: IncomingMessage): void {
    if (!apiKeyDigest) return;
    const header = req.headers.authorization;
    const unauthorized = (detail: string) => new HttpError(401, { detail }, { 'WWW-Authenticate': 'Token' });
    if (!header) throw unauthorized('Authentication credentials were not provided.');
    const [keyword, token, ...rest] = header.split(' ');
    if (keyword?.toLowerCase() !== 'token' || !token || rest.length > 0)
      throw unauthorized('Invalid token header.');
    if (!timingSafeEqual(digest(token), apiKeyDigest)) throw unauthorized('Invalid token.');
  }

  function findBot(id: string): SimulatedBot {
    const bot = bots.get(id);
    if (!bot) throw new HttpError(404, { detail: 'Not found.' });
    return bot;
  }

  function requireInCall(bot: SimulatedBot): void {
    if (bot.hasEnded) {
      throw new HttpError(400, {
        code: 'cannot_command_completed_bot',
        detail: 'Cannot send a command to a bot which has completed(is shutting/has shut down/has errored).',
      });
    }
    if (!bot.isInCall) {
      throw new HttpError(400, {
        code: 'cannot_command_unstarted_bot',
        detail: 'Cannot send a command to a bot which has not started(joined the call).',
      });
    }
  }

  function rateLimitOutputAudio(): void {
    const now = Date.now();
    while (outputAudioTimes.length > 0 && outputAudioTimes[0]! <= now - OUTPUT_AUDIO_LIMIT.windowMs) {
      outputAudioTimes.shift();
    }
    if (outputAudioTimes.length >= OUTPUT_AUDIO_LIMIT.requests) {
      const retryAfter = Math.ceil((outputAudioTimes[0]! + OUTPUT_AUDIO_LIMIT.windowMs - now) / 1000);
      throw new HttpError(
        429,
        { detail: `Request was throttled. Expected available in ${retryAfter} seconds.` },
        { 'Retry-After': String(retryAfter) },
      );
    }
    outputAudioTimes.push(now);
  }

  /** `local://recordings/<name>` meetings play that recording instead of the simulator's fixture. */
  async function recordingFor(
    body: unknown,
  ): Promise<{ fixture: MeetingFixture; timeline: typeof timeline } | undefined> {
    const meetingUrl = (body as { meeting_url?: unknown } | null)?.meeting_url;
    const name = typeof meetingUrl === 'string' ? recordingName(meetingUrl) : undefined;
    if (name === undefined) return undefined;
    if (!options.recordings) {
      throw badRequest({ meeting_url: ['This simulator has no recordings to play (no recordings loader).'] });
    }
    try {
      const recorded = await options.recordings(name);
      return { fixture: recorded, timeline: buildTimeline(recorded, settings.frameMs) };
    } catch (error) {
      logger.warn('Recall simulator: recording not playable', { name, error: (error as Error).message });
      throw badRequest({ meeting_url: [(error as Error).message] });
    }
  }

  function createBot(
    body: unknown,
    meeting: { fixture: MeetingFixture; timeline: typeof timeline } = { fixture, timeline },
  ): { status: number; body: unknown } {
    const result = validateCreateBot(body);
    if (!result.ok) throw badRequest(result.errors);
    const bot = new SimulatedBot(result.value, {
      fixture: meeting.fixture,
      timeline: meeting.timeline,
      speed: settings.speed,
      joinDelayMs: settings.joinDelayMs,
      reconnect: settings.reconnect,
      events,
      webhooks,
      logger,
    });
    bots.set(bot.id, bot);
    bot.start();
    logger.info('Recall simulator: bot created', { botId: bot.id, platform: result.value.meeting.platform });
    events.emit('bot_created', bot.view());
    return { status: 201, body: bot.toJSON() };
  }

  function botAction(bot: SimulatedBot, action: BotAction, body: unknown): { status: number; body: unknown } {
    switch (action) {
      case 'leave_call':
        if (bot.hasEnded) requireInCall(bot);
        bot.leave('leave_call', 'bot_received_leave_call');
        return { status: 200, body: bot.toJSON() };
      case 'pause_recording':
        requireInCall(bot);
        bot.pause();
        return { status: 200, body: {} };
      case 'resume_recording':
        requireInCall(bot);
        bot.resume();
        return { status: 200, body: {} };
      case 'output_audio': {
        rateLimitOutputAudio();
        if (!bot.hasAutomaticAudioOutput) {
          throw new HttpError(400, {
            detail: "The bot must be created with 'automatic_audio_output' to use this endpoint.",
          });
        }
        const result = validateOutputAudio(body);
        if (!result.ok) throw badRequest(result.errors);
        requireInCall(bot);
        bot.playOutputAudio(result.value);
        return { status: 200, body: {} };
      }
    }
  }

  async function route(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    const notAllowed = () => new HttpError(405, { detail: `Method "${method}" not allowed.` }, {});

    if (/^\/api\/v1\/bot\/?$/.test(path)) {
      authenticate(req);
      if (method === 'GET') {
        return {
          status: 200,
          body: { next: null, previous: null, results: [...bots.values()].map((bot) => bot.toJSON()) },
        };
      }
      if (method !== 'POST') throw notAllowed();
      const body = parseJsonBody(await readBody(req));
      const recording = await recordingFor(body);
      return replayable(req, method, path, () => createBot(body, recording));
    }
    const botMatch = /^\/api\/v1\/bot\/([^/]+)\/?$/.exec(path);
    if (botMatch) {
      authenticate(req);
      if (method !== 'GET') throw notAllowed();
      return { status: 200, body: findBot(decodeURIComponent(botMatch[1]!)).toJSON() };
    }
    const actionMatch = /^\/api\/v1\/bot\/([^/]+)\/([a-z_]+)\/?$/.exec(path);
    if (actionMatch && BOT_ACTIONS.includes(actionMatch[2] as BotAction)) {
      authenticate(req);
      if (method !== 'POST') throw notAllowed();
      const bot = findBot(decodeURIComponent(actionMatch[1]!));
      const body = parseJsonBody(await readBody(req));
      return replayable(req, method, path, () => botAction(bot, actionMatch[2] as BotAction, body));
    }
    throw new HttpError(404, { detail: 'Not found.' });
  }

  /** Idempotency-Key: a completed request with the same key and path is answered again. */
  function replayable(
    req: IncomingMessage,
    method: string,
    path: string,
    run: () => { status: number; body: unknown },
  ): { status: number; body: unknown } {
    const header = req.headers['idempotency-key'];
    const key = typeof header === 'string' && header !== '' ? `${header}|${method}|${path}` : undefined;
    const now = Date.now();
    for (const [stored, entry] of idempotent) if (entry.expiresAt <= now) idempotent.delete(stored);
    const previous = key ? idempotent.get(key) : undefined;
    if (previous) return { status: previous.status, body: previous.body };
    let result: { status: number; body: unknown };
    try {
      result = run();
    } catch (error) {
      if (key && error instanceof HttpError && error.status < 500 && error.status !== 429) {
        idempotent.set(key, { status: error.status, body: error.body, expiresAt: now + IDEMPOTENCY_TTL_MS });
      }
      throw error;
    }
    if (key) idempotent.set(key, { ...result, expiresAt: now + IDEMPOTENCY_TTL_MS });
    return result;
  }

  const server = createServer((req, res) => {
    route(req).then(
      (result) => sendJson(res, result.status, result.body),
      (error: unknown) => {
        if (error instanceof HttpError) {
          sendJson(res, error.status, error.body, error.headers);
          return;
        }
        logger.error('Recall simulator: request failed', { error: (error as Error)?.message });
        sendJson(res, 500, { detail: 'Internal server error.' });
      },
    );
  });

  await listen(server, settings.port, settings.host);
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl}:${address.port}`;
  logger.info('Recall simulator listening', { url, speed: settings.speed, frameMs: settings.frameMs });

  return {
    url,
    port: address.port,
    events,
    bots: () => [...bots.values()].map((bot) => bot.view()),
    bot: (id) => bots.get(id)?.view(),
    dropConnection: (botId) => bots.get(botId)?.dropConnections() ?? false,
    setSpeed(speed) {
      checkSpeed(speed);
      settings.speed = speed;
      logger.info('Recall simulator: speed of new bots', { speed });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const bot of bots.values()) bot.shutdown();
      webhooks?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
