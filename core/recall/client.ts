/**
 * Typed client for the Recall.ai REST API v1.11: the calls Parley makes on a bot.
 *
 * - Auth: `Authorization: Token <key>` (https://docs.recall.ai/docs/authentication).
 * - Every attempt has its own timeout (AbortSignal).
 * - Retries with exponential backoff and jitter on 429 (honouring Retry-After), 5xx (incl. 507
 *   "out of ad-hoc bots"), timeouts and network failures; never on other 4xx
 *   (https://docs.recall.ai/reference/errors). Every POST carries one Idempotency-Key for all of
 *   its attempts, so a retried create never makes a second bot
 *   (https://docs.recall.ai/reference/idempotency); a 409 on a retry means "your earlier attempt
 *   is still running" and is retried too.
 * - Failures become typed errors (./errors.ts) with messages free of secrets.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { retry } from '../backoff';
import { ValidationError } from '../errors';
import { RecallApiError, recallBotNotFound } from './errors';
import { looksLikeMp3, silentMp3 } from './mp3';
import type { RecallRealtimeEventName } from './realtime-schema';
import {
  type CreateBotRequest,
  RECALL_MAX_OUTPUT_AUDIO_B64_CHARS,
  type RecallBot,
  recallBotSchema,
} from './rest-schema';

export type RecallLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface RecallClientOptions {
  /** Regional base URL (see RECALL_REGIONS) or the local simulator's URL. */
  baseUrl: string;
  apiKey: string;
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 3. */
  maxRetries?: number;
  /** First backoff step; doubles per retry. Default 500 ms. */
  retryBaseMs?: number;
  /** Backoff cap. Default 8 s. */
  retryMaxMs?: number;
  /** Longest Retry-After the client waits; longer ones fail at once. Default 30 s. */
  maxRetryAfterMs?: number;
  fetch?: typeof globalThis.fetch;
  logger?: RecallLogger;
  /** Test seams. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface CreateBotInput {
  meetingUrl: string;
  botName: string;
  /** ws:// or wss:// URL of Parley's audio gateway, with the per-bot token in the query string. */
  realtimeEndpointUrl: string;
  /** Also stream one audio track per participant (`audio_separate_raw`). */
  separateAudio?: boolean;
  /**
   * Let the bot speak later (Output Audio needs `automatic_audio_output` at creation).
   * `true` plays half a second of silence on joining; pass an MP3 to play that instead.
   */
  automaticAudioOutput?: boolean | { mp3: Buffer };
  /** Recall bot metadata (string values), echoed in every realtime message. */
  metadata?: Record<string, string>;
}

export interface RecallCallOptions {
  signal?: AbortSignal;
}

export interface RecallClient {
  readonly baseUrl: string;
  createBot(input: CreateBotInput, options?: RecallCallOptions): Promise<RecallBot>;
  getBot(botId: string, options?: RecallCallOptions): Promise<RecallBot>;
  /** Irreversible: the bot leaves and cannot rejoin. */
  leaveCall(botId: string, options?: RecallCallOptions): Promise<void>;
  pauseRecording(botId: string, options?: RecallCallOptions): Promise<void>;
  resumeRecording(botId: string, options?: RecallCallOptions): Promise<void>;
  /** Plays an MP3 in the call. The bot must have been created with automaticAudioOutput. */
  outputAudio(botId: string, mp3: Buffer, options?: RecallCallOptions): Promise<void>;
}

/** Realtime events Parley subscribes to. */
export const PARLEY_PARTICIPANT_EVENTS = [
  'participant_events.join',
  'participant_events.leave',
  'participant_events.update',
  'participant_events.speech_on',
  'participant_events.speech_off',
] as const satisfies readonly RecallRealtimeEventName[];

const DEFAULTS = {
  timeoutMs: 10_000,
  maxRetries: 3,
  retryBaseMs: 500,
  retryMaxMs: 8_000,
  maxRetryAfterMs: 30_000,
} as const;

const BOT_ID = /^[A-Za-z0-9-]{1,64}$/;
const MAX_ERROR_DETAIL_CHARS = 300;

/** Builds the Create Bot body exactly as Recall v1.11 expects it. Pure; exported for tests. */
export function buildCreateBotRequest(input: CreateBotInput): CreateBotRequest {
  if (typeof input.meetingUrl !== 'string' || input.meetingUrl.trim() === '') {
    throw new ValidationError('meetingUrl is required');
  }
  let endpoint: URL;
  try {
    endpoint = new URL(input.realtimeEndpointUrl);
  } catch {
    throw new ValidationError('realtimeEndpointUrl must be a ws:// or wss:// URL');
  }
  if (endpoint.protocol !== 'ws:' && endpoint.protocol !== 'wss:') {
    throw new ValidationError('realtimeEndpointUrl must be a ws:// or wss:// URL');
  }
  const events: RecallRealtimeEventName[] = ['audio_mixed_raw.data'];
  if (input.separateAudio) events.push('audio_separate_raw.data');
  events.push(...PARLEY_PARTICIPANT_EVENTS);

  const body: CreateBotRequest = {
    meeting_url: input.meetingUrl,
    bot_name: input.botName,
    recording_config: {
      // The artifacts must be enabled here: subscribing to their events alone delivers nothing.
      audio_mixed_raw: {},
      ...(input.separateAudio ? { audio_separate_raw: {} } : {}),
      realtime_endpoints: [{ type: 'websocket', url: input.realtimeEndpointUrl, events }],
    },
  };
  if (input.automaticAudioOutput) {
    const mp3 = input.automaticAudioOutput === true ? silentMp3() : input.automaticAudioOutput.mp3;
    body.automatic_audio_output = {
      in_call_recording: { data: { kind: 'mp3', b64_data: encodeMp3(mp3, 'automaticAudioOutput.mp3') } },
    };
  }
  if (input.metadata !== undefined) body.metadata = { ...input.metadata };
  return body;
}

function encodeMp3(mp3: Buffer, what: string): string {
  if (!Buffer.isBuffer(mp3) || mp3.length === 0 || !looksLikeMp3(mp3)) {
    throw new ValidationError(`${what} must be MP3 audio (ID3 tag or MPEG frame header)`);
  }
  const b64 = mp3.toString('base64');
  if (b64.length > RECALL_MAX_OUTPUT_AUDIO_B64_CHARS) {
    throw new ValidationError(
      `${what} is too large for Recall (${mp3.length} bytes; at most ${Math.floor((RECALL_MAX_OUTPUT_AUDIO_B64_CHARS / 4) * 3)})`,
    );
  }
  return b64;
}

/** Retry-After as milliseconds (delta-seconds or HTTP date), or undefined if absent/unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function positiveInt(name: string, value: number, allowZero = false): number {
  if (!Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TypeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}`);
  }
  return value;
}

interface ErrorBody {
  code: string | null;
  detail: string | null;
}

/** Reads Recall's error body: `{ code, detail }`, `{ detail }`, or DRF field errors. */
function readErrorBody(text: string): ErrorBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { code: null, detail: text.trim() === '' ? null : text.trim() };
  }
  if (typeof json !== 'object' || json === null) return { code: null, detail: null };
  const record = json as Record<string, unknown>;
  const code = typeof record.code === 'string' ? record.code : null;
  if (typeof record.detail === 'string') return { code, detail: record.detail };
  if (typeof record.message === 'string') return { code, detail: record.message };
  const fieldErrors = flattenFieldErrors(record, '');
  return { code, detail: fieldErrors.length > 0 ? fieldErrors.slice(0, 3).join('; ') : null };
}

function flattenFieldErrors(value: unknown, path: string): string[] {
  if (typeof value === 'string') return [path ? `${path}: ${value}` : value];
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item === 'string')) {
      return value.length > 0 ? [`${path || '(body)'}: ${value.join(' ')}`] : [];
    }
    return value.flatMap((item, index) => flattenFieldErrors(item, `${path}[${index}]`));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .filter(([key]) => key !== 'code')
      .flatMap(([key, item]) => flattenFieldErrors(item, path ? `${path}.${key}` : key));
  }
  return [];
}

export function createRecallClient(options: RecallClientOptions): RecallClient {
  const settings = { ...DEFAULTS, ...stripUndefined(options) };
  let base: URL;
  try {
    base = new URL(settings.baseUrl);
  } catch {
    throw new TypeError('baseUrl must be an http(s) URL');
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new TypeError('baseUrl must be an http(s) URL');
  }
  if (typeof settings.apiKey !== 'string' || settings.apiKey.trim() === '') {
    throw new TypeError('apiKey is required');
  }
  positiveInt('timeoutMs', settings.timeoutMs);
  positiveInt('maxRetries', settings.maxRetries, true);
  positiveInt('retryBaseMs', settings.retryBaseMs, true);
  positiveInt('retryMaxMs', settings.retryMaxMs, true);
  positiveInt('maxRetryAfterMs', settings.maxRetryAfterMs, true);
  if (settings.retryMaxMs < settings.retryBaseMs) {
    throw new TypeError('retryMaxMs must not be smaller than retryBaseMs');
  }
  const baseUrl = base.toString().replace(/\/+$/, '');
  const apiKey = settings.apiKey;
  const doFetch = settings.fetch ?? globalThis.fetch;
  const random = settings.random ?? Math.random;
  const sleep = settings.sleep;
  const logger = settings.logger;

  /** Removes anything secret-looking from text that may end up in an error message or log. */
  function redact(text: string): string {
    return text
      .split(apiKey)
      .join('[redacted]')
      .replace(/([?&](?:token|key|secret|signature|auth)[^=&\s]*=)[^&\s"']+/gi, '$1[redacted]')
      .slice(0, MAX_ERROR_DETAIL_CHARS);
  }

  function describe(method: string, path: string): string {
    return `Recall ${method} ${path.replace(/^\/api\/v1/, '')}`;
  }

  function errorFor(method: string, path: string, status: number, bodyText: string, botId?: string): Error {
    const { code, detail } = readErrorBody(bodyText);
    const what = describe(method, path);
    const said = [code, detail ? redact(detail) : null].filter(Boolean).join(': ');
    const suffix = said ? ` (Recall said: ${said})` : '';
    const details = { httpStatus: status, recallCode: code };
    if (status === 404 && botId !== undefined) return recallBotNotFound(botId);
    if (status === 401) {
      return new RecallApiError(
        'RECALL_UNAUTHORIZED',
        `${what} was refused: the Recall API key is invalid or belongs to another region than ${baseUrl}${suffix}`,
        details,
      );
    }
    if (code === 'cannot_command_completed_bot' || code === 'cannot_command_unstarted_bot') {
      return new RecallApiError(
        'RECALL_BOT_NOT_IN_CALL',
        `${what} failed: the bot is ${code === 'cannot_command_completed_bot' ? 'no longer' : 'not yet'} in the call${suffix}`,
        details,
      );
    }
    if (status === 429) {
      return new RecallApiError(
        'RECALL_RATE_LIMITED',
        `${what} was rate limited by Recall${suffix}`,
        details,
      );
    }
    if (status === 409) {
      return new RecallApiError(
        'RECALL_CONFLICT',
        `${what} conflicted with another request${suffix}`,
        details,
      );
    }
    if (status >= 500) {
      return new RecallApiError(
        'RECALL_UNAVAILABLE',
        `${what} failed: Recall is unavailable (HTTP ${status})${suffix}`,
        details,
      );
    }
    if (status >= 400) {
      return new RecallApiError(
        'RECALL_BAD_REQUEST',
        `${what} was rejected by Recall (HTTP ${status})${suffix}`,
        details,
      );
    }
    return new RecallApiError('RECALL_ERROR', `${what} returned unexpected HTTP ${status}`, details);
  }

  function isRetryableStatus(status: number, attempt: number): boolean {
    if (status === 429 || status >= 500) return true;
    // Same Idempotency-Key as an earlier attempt that may still be running on Recall's side.
    return status === 409 && attempt > 0;
  }

  async function request(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    callOptions: RecallCallOptions | undefined,
    botId?: string,
  ): Promise<string> {
    const headers: Record<string, string> = {
      Authorization: `Token ${apiKey}`,
      Accept: 'application/json',
    };
    if (method === 'POST') {
      headers['Content-Type'] = 'application/json';
      headers['Idempotency-Key'] = randomUUID();
    }
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = `${baseUrl}${path}`;
    const what = describe(method, path);
    const callerSignal = callOptions?.signal;

    // Errors worth another attempt, with what the retry log line says and the wait Recall asked for.
    const transient = new WeakMap<object, { log: Record<string, unknown>; retryAfterMs?: number }>();
    return retry(
      async (attempt) => {
        const timeout = AbortSignal.timeout(settings.timeoutMs);
        const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
        let response: Response;
        let text: string;
        try {
          response = await doFetch(url, { method, headers, body: payload, signal });
          text = await response.text();
        } catch (error) {
          if (callerSignal?.aborted) throw callerSignal.reason;
          const timedOut = timeout.aborted;
          const reason = timedOut ? `timed out after ${settings.timeoutMs} ms` : 'could not reach Recall';
          const failure = new RecallApiError('RECALL_UNAVAILABLE', `${what} failed: ${reason}`, {
            cause: timedOut ? undefined : error,
          });
          transient.set(failure, { log: { reason } });
          throw failure;
        }
        // The body is read only by calls that need it (parseBot): actions ignore theirs.
        if (response.ok) return text;
        const failure = errorFor(method, path, response.status, text, botId);
        if (isRetryableStatus(response.status, attempt - 1)) {
          const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
          transient.set(failure, { log: { status: response.status }, retryAfterMs });
        }
        throw failure;
      },
      {
        maxAttempts: settings.maxRetries + 1,
        baseMs: settings.retryBaseMs,
        maxDelayMs: settings.retryMaxMs,
        // "Equal jitter": at least half the step, so retries never bunch up at zero.
        jitter: 'equal',
        random,
        sleep,
        signal: callerSignal,
        retryable: (error) => {
          const info = typeof error === 'object' && error !== null ? transient.get(error) : undefined;
          return info !== undefined && (info.retryAfterMs ?? 0) <= settings.maxRetryAfterMs;
        },
        delayFor: (error) => transient.get(error as object)?.retryAfterMs,
        onRetry: ({ error, attempt, delayMs }) =>
          logger?.warn('Recall request failed; retrying', {
            request: what,
            ...transient.get(error as object)?.log,
            attempt: attempt - 1,
            delayMs,
          }),
      },
    );
  }

  function botPath(botId: string, action?: string): string {
    if (typeof botId !== 'string' || !BOT_ID.test(botId)) {
      throw new ValidationError('Recall bot id must be 1–64 letters, digits or dashes');
    }
    return `/api/v1/bot/${botId}/${action ? `${action}/` : ''}`;
  }

  function parseBot(text: string, what: string): RecallBot {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new RecallApiError('RECALL_ERROR', `${what} returned a body that is not JSON`, {
        httpStatus: 200,
      });
    }
    const parsed = recallBotSchema.safeParse(value);
    if (!parsed.success) {
      throw new RecallApiError('RECALL_ERROR', `${what} returned a bot Parley cannot read`, {
        httpStatus: 200,
      });
    }
    return parsed.data;
  }

  return {
    baseUrl,
    async createBot(input, callOptions) {
      const body = buildCreateBotRequest(input);
      return parseBot(await request('POST', '/api/v1/bot/', body, callOptions), 'Recall create bot');
    },
    async getBot(botId, callOptions) {
      const path = botPath(botId);
      return parseBot(await request('GET', path, undefined, callOptions, botId), 'Recall get bot');
    },
    async leaveCall(botId, callOptions) {
      await request('POST', botPath(botId, 'leave_call'), undefined, callOptions, botId);
    },
    async pauseRecording(botId, callOptions) {
      await request('POST', botPath(botId, 'pause_recording'), undefined, callOptions, botId);
    },
    async resumeRecording(botId, callOptions) {
      await request('POST', botPath(botId, 'resume_recording'), undefined, callOptions, botId);
    },
    async outputAudio(botId, mp3, callOptions) {
      const path = botPath(botId, 'output_audio');
      const body = { kind: 'mp3', b64_data: encodeMp3(mp3, 'mp3') };
      await request('POST', path, body, callOptions, botId);
    },
  };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
