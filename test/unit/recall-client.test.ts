import { NotFoundError, ValidationError } from '../../core/errors';
import {
  buildCreateBotRequest,
  createRecallClient,
  parseRetryAfter,
  type RecallClientOptions,
} from '../../core/recall/client';
import { RecallApiError } from '../../core/recall/errors';
import { looksLikeMp3, silentMp3 } from '../../core/recall/mp3';
import { RECALL_REGIONS, recallBaseUrl } from '../../core/recall/regions';

const API_KEY = 'sk-test-0123456789abcdef';
const BOT_ID = '8ef3d462-bdcd-44dc-9d5a-af244449a209';
const bot = {
  id: BOT_ID,
  status_changes: [{ code: 'joining_call', message: null, sub_code: null, created_at: 'x' }],
};

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch that answers from a script of responses (or throws the given errors). */
function scriptedFetch(script: Array<Response | Error | (() => Promise<Response>)>) {
  const calls: Call[] = [];
  const fetch = jest.fn(async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const next = script.shift();
    if (next === undefined) throw new Error('no more scripted responses');
    if (next instanceof Error) throw next;
    if (typeof next === 'function') return next();
    return next;
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function client(script: Parameters<typeof scriptedFetch>[0], options: Partial<RecallClientOptions> = {}) {
  const { fetch, calls } = scriptedFetch(script);
  const delays: number[] = [];
  const recall = createRecallClient({
    baseUrl: 'https://us-east-1.recall.ai/',
    apiKey: API_KEY,
    fetch,
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...options,
  });
  return { recall, calls, delays };
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('buildCreateBotRequest', () => {
  it('builds the v1.11 body with mixed audio, a websocket endpoint and participant events', () => {
    const body = buildCreateBotRequest({
      meetingUrl: 'https://meet.google.com/abc-defg-hij',
      botName: 'Parley',
      realtimeEndpointUrl: 'wss://gw.example.com/recall?token=t0k',
    });
    expect(body).toEqual({
      meeting_url: 'https://meet.google.com/abc-defg-hij',
      bot_name: 'Parley',
      recording_config: {
        audio_mixed_raw: {},
        realtime_endpoints: [
          {
            type: 'websocket',
            url: 'wss://gw.example.com/recall?token=t0k',
            events: [
              'audio_mixed_raw.data',
              'participant_events.join',
              'participant_events.leave',
              'participant_events.update',
              'participant_events.speech_on',
              'participant_events.speech_off',
            ],
          },
        ],
      },
    });
  });

  it('adds separate audio, automatic audio output and metadata when asked', () => {
    const body = buildCreateBotRequest({
      meetingUrl: 'local://sample',
      botName: 'Parley',
      realtimeEndpointUrl: 'ws://127.0.0.1:1/recall',
      separateAudio: true,
      automaticAudioOutput: true,
      metadata: { meetingId: 'm-1' },
    });
    expect(body.recording_config.audio_separate_raw).toEqual({});
    expect(body.recording_config.realtime_endpoints[0]!.events).toContain('audio_separate_raw.data');
    expect(body.automatic_audio_output?.in_call_recording.data.kind).toBe('mp3');
    const mp3 = Buffer.from(body.automatic_audio_output!.in_call_recording.data.b64_data, 'base64');
    expect(looksLikeMp3(mp3)).toBe(true);
    expect(body.metadata).toEqual({ meetingId: 'm-1' });
  });

  it.each(['https://gw.example.com/recall', 'not a url', ''])('refuses a realtime endpoint URL %p', (url) => {
    expect(() =>
      buildCreateBotRequest({ meetingUrl: 'local://x', botName: 'P', realtimeEndpointUrl: url }),
    ).toThrow(ValidationError);
  });

  it('refuses an automatic audio output that is not MP3', () => {
    expect(() =>
      buildCreateBotRequest({
        meetingUrl: 'local://x',
        botName: 'P',
        realtimeEndpointUrl: 'ws://h/x',
        automaticAudioOutput: { mp3: Buffer.from('RIFF....WAVEfmt ') },
      }),
    ).toThrow(/MP3/);
  });
});

describe('createRecallClient', () => {
  it('sends the token header, JSON body and an Idempotency-Key to the regional path', async () => {
    const { recall, calls } = client([json(201, bot)]);
    const created = await recall.createBot({
      meetingUrl: 'local://sample',
      botName: 'Parley',
      realtimeEndpointUrl: 'ws://127.0.0.1:9/recall?token=abc',
    });
    expect(created.id).toBe(BOT_ID);
    expect(calls[0]!.url).toBe('https://us-east-1.recall.ai/api/v1/bot/');
    const headers = calls[0]!.init.headers as Record<string, string>;
    expect(headers.Authorization).toBe(`Token ${API_KEY}`);
    expect(headers['Content-Type']).toBe('application/json');
    expect(headers['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(String(calls[0]!.init.body)).meeting_url).toBe('local://sample');
  });

  it('calls the bot action paths with POST and no body', async () => {
    const { recall, calls } = client([
      json(200, bot),
      json(200, {}),
      json(200, {}),
      json(200, {}),
      json(200, bot),
    ]);
    await recall.leaveCall(BOT_ID);
    await recall.pauseRecording(BOT_ID);
    await recall.resumeRecording(BOT_ID);
    await recall.outputAudio(BOT_ID, silentMp3(100));
    await recall.getBot(BOT_ID);
    expect(calls.map((c) => `${c.init.method} ${c.url.replace('https://us-east-1.recall.ai', '')}`)).toEqual([
      `POST /api/v1/bot/${BOT_ID}/leave_call/`,
      `POST /api/v1/bot/${BOT_ID}/pause_recording/`,
      `POST /api/v1/bot/${BOT_ID}/resume_recording/`,
      `POST /api/v1/bot/${BOT_ID}/output_audio/`,
      `GET /api/v1/bot/${BOT_ID}/`,
    ]);
    expect(calls[0]!.init.body).toBeUndefined();
    const audioBody = JSON.parse(String(calls[3]!.init.body));
    expect(audioBody.kind).toBe('mp3');
    expect(Buffer.from(audioBody.b64_data, 'base64').equals(silentMp3(100))).toBe(true);
  });

  it('retries 503 with growing backoff and keeps one Idempotency-Key across attempts', async () => {
    const { recall, calls, delays } = client([json(503, {}), json(502, {}), json(201, bot)], {
      retryBaseMs: 100,
    });
    await recall.createBot({ meetingUrl: 'local://x', botName: 'P', realtimeEndpointUrl: 'ws://h/x' });
    expect(calls).toHaveLength(3);
    // equal jitter with random() = 0.5: 3/4 of each exponential step
    expect(delays).toEqual([75, 150]);
    const keys = calls.map((c) => (c.init.headers as Record<string, string>)['Idempotency-Key']);
    expect(new Set(keys).size).toBe(1);
  });

  it('honours Retry-After on 429', async () => {
    const { recall, delays } = client([
      json(429, { detail: 'slow down' }, { 'Retry-After': '2' }),
      json(200, bot),
    ]);
    await recall.getBot(BOT_ID);
    expect(delays).toEqual([2000]);
  });

  it('gives up on a Retry-After longer than it is willing to wait', async () => {
    const { recall, calls } = client([json(429, {}, { 'Retry-After': '120' })], { maxRetryAfterMs: 30_000 });
    const error = await caught(recall.getBot(BOT_ID));
    expect(error).toBeInstanceOf(RecallApiError);
    expect((error as RecallApiError).code).toBe('RECALL_RATE_LIMITED');
    expect(calls).toHaveLength(1);
  });

  it('reports RECALL_UNAVAILABLE after the last retry of a 5xx', async () => {
    const { recall, calls } = client([json(500, {}), json(500, {}), json(504, {})], { maxRetries: 2 });
    const error = (await caught(recall.getBot(BOT_ID))) as RecallApiError;
    expect(error.code).toBe('RECALL_UNAVAILABLE');
    expect(error.httpStatus).toBe(504);
    expect(error.status).toBe(502);
    expect(calls).toHaveLength(3);
  });

  it.each([400, 401, 402, 403, 405, 422])('never retries HTTP %i', async (status) => {
    const { recall, calls } = client([json(status, { detail: 'no' }), json(200, bot)]);
    await expect(recall.getBot(BOT_ID)).rejects.toBeInstanceOf(RecallApiError);
    expect(calls).toHaveLength(1);
  });

  it('maps 400 field errors to RECALL_BAD_REQUEST with a readable message', async () => {
    const { recall } = client([
      json(400, {
        recording_config: { realtime_endpoints: [{ url: ['Must start with ws:// or wss://.'] }] },
      }),
    ]);
    const error = (await caught(
      recall.createBot({ meetingUrl: 'local://x', botName: 'P', realtimeEndpointUrl: 'ws://h/x' }),
    )) as RecallApiError;
    expect(error.code).toBe('RECALL_BAD_REQUEST');
    expect(error.message).toContain(
      'recording_config.realtime_endpoints[0].url: Must start with ws:// or wss://.',
    );
  });

  it('maps 401 to RECALL_UNAUTHORIZED without leaking the key', async () => {
    const { recall } = client([json(401, { detail: `Invalid token ${API_KEY}` })]);
    const error = (await caught(recall.getBot(BOT_ID))) as RecallApiError;
    expect(error.code).toBe('RECALL_UNAUTHORIZED');
    expect(error.message).toMatch(/API key/);
    expect(error.message).not.toContain(API_KEY);
  });

  it('redacts tokens Recall echoes back in an error', async () => {
    const { recall } = client([json(400, { detail: 'Cannot reach wss://gw/recall?token=s3cr3t&x=1' })]);
    const error = await caught(recall.getBot(BOT_ID));
    expect(error.message).not.toContain('s3cr3t');
    expect(error.message).toContain('token=[redacted]');
  });

  it('maps 404 to NotFoundError', async () => {
    const { recall } = client([json(404, { detail: 'Not found.' })]);
    const error = await caught(recall.getBot(BOT_ID));
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe('RECALL_BOT_NOT_FOUND');
  });

  it('maps cannot_command_completed_bot to RECALL_BOT_NOT_IN_CALL', async () => {
    const { recall } = client([
      json(400, { code: 'cannot_command_completed_bot', detail: 'Cannot send a command' }),
    ]);
    const error = (await caught(recall.leaveCall(BOT_ID))) as RecallApiError;
    expect(error.code).toBe('RECALL_BOT_NOT_IN_CALL');
    expect(error.recallCode).toBe('cannot_command_completed_bot');
    expect(error.message).toMatch(/no longer in the call/);
  });

  it('retries a 409 that answers its own earlier attempt, but not a first-attempt 409', async () => {
    const retried = client([json(503, {}), json(409, {}), json(201, bot)]);
    await retried.recall.createBot({
      meetingUrl: 'local://x',
      botName: 'P',
      realtimeEndpointUrl: 'ws://h/x',
    });
    expect(retried.calls).toHaveLength(3);

    const first = client([json(409, {})]);
    const error = (await caught(first.recall.pauseRecording(BOT_ID))) as RecallApiError;
    expect(error.code).toBe('RECALL_CONFLICT');
    expect(first.calls).toHaveLength(1);
  });

  it('retries network failures and then reports RECALL_UNAVAILABLE', async () => {
    const { recall, calls } = client([new TypeError('fetch failed'), new TypeError('fetch failed')], {
      maxRetries: 1,
    });
    const error = (await caught(recall.getBot(BOT_ID))) as RecallApiError;
    expect(error.code).toBe('RECALL_UNAVAILABLE');
    expect(error.httpStatus).toBeNull();
    expect(error.message).toMatch(/could not reach Recall/);
    expect(calls).toHaveLength(2);
  });

  it('times out a hanging attempt with its AbortSignal and retries', async () => {
    const hang = () =>
      new Promise<Response>((_resolve, reject) => {
        const signal = calls.at(-1)!.init.signal!;
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    const { recall, calls } = client([hang, json(200, bot)], { timeoutMs: 20 });
    const result = await recall.getBot(BOT_ID);
    expect(result.id).toBe(BOT_ID);
    expect(calls).toHaveLength(2);
  });

  it('reports a timeout on the last attempt as RECALL_UNAVAILABLE', async () => {
    const hang = () =>
      new Promise<Response>((_resolve, reject) => {
        const signal = calls.at(-1)!.init.signal!;
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    const { recall, calls } = client([hang], { timeoutMs: 20, maxRetries: 0 });
    const error = (await caught(recall.getBot(BOT_ID))) as RecallApiError;
    expect(error.code).toBe('RECALL_UNAVAILABLE');
    expect(error.message).toMatch(/timed out after 20 ms/);
  });

  it('stops retrying when the caller aborts', async () => {
    const controller = new AbortController();
    const { recall, calls } = createAbortingClient(controller);
    await expect(recall.getBot(BOT_ID, { signal: controller.signal })).rejects.toThrow(/caller gave up/);
    expect(calls).toHaveLength(1);
  });

  it('refuses a response that is not a bot', async () => {
    const { recall } = client([json(200, { hello: 'world' })]);
    const error = (await caught(recall.getBot(BOT_ID))) as RecallApiError;
    expect(error.code).toBe('RECALL_ERROR');
  });

  it('validates bot ids and MP3 input before calling Recall', async () => {
    const { recall, calls } = client([]);
    await expect(recall.getBot('../../admin')).rejects.toBeInstanceOf(ValidationError);
    await expect(recall.outputAudio(BOT_ID, Buffer.from('not audio at all'))).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(calls).toHaveLength(0);
  });

  it.each([
    [{ baseUrl: 'ftp://x' }, /baseUrl/],
    [{ apiKey: ' ' }, /apiKey/],
    [{ timeoutMs: 0 }, /timeoutMs/],
    [{ maxRetries: -1 }, /maxRetries/],
    [{ retryBaseMs: 1000, retryMaxMs: 10 }, /retryMaxMs/],
  ])('rejects bad options %p', (bad, message) => {
    expect(() => createRecallClient({ baseUrl: 'https://x', apiKey: 'k', ...bad })).toThrow(message);
  });
});

function createAbortingClient(controller: AbortController) {
  const calls: Call[] = [];
  const recall = createRecallClient({
    baseUrl: 'https://us-west-2.recall.ai',
    apiKey: API_KEY,
    fetch: (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return json(503, {});
    }) as unknown as typeof globalThis.fetch,
    sleep: async () => {
      controller.abort(new Error('caller gave up'));
      throw controller.signal.reason;
    },
  });
  return { recall, calls };
}

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    ).toBe(5000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('Recall regions', () => {
  it('maps every region to its regional host', () => {
    expect(RECALL_REGIONS).toEqual({
      'us-east-1': 'https://us-east-1.recall.ai',
      'us-west-2': 'https://us-west-2.recall.ai',
      'eu-central-1': 'https://eu-central-1.recall.ai',
      'ap-northeast-1': 'https://ap-northeast-1.recall.ai',
    });
    expect(recallBaseUrl('eu-central-1')).toBe('https://eu-central-1.recall.ai');
    expect(() => recallBaseUrl('us-east-2')).toThrow(/us-east-1, us-west-2/);
  });
});
