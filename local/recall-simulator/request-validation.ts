/**
 * Request validation the way Recall's API answers it: 400 with Django REST Framework style
 * field errors (`{ "meeting_url": ["This field is required."] }`, nested for nested fields).
 */
import { decodeStrictBase64 } from '../../core/recall/base64';
import { looksLikeMp3 } from '../../core/recall/mp3';
import { RECALL_REALTIME_EVENTS } from '../../core/recall/realtime-schema';
import { RECALL_MAX_OUTPUT_AUDIO_B64_CHARS } from '../../core/recall/rest-schema';

export type FieldErrors = { [field: string]: string[] | FieldErrors | Array<FieldErrors> };

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

export interface RealtimeEndpointRequest {
  type: 'websocket' | 'webhook' | 'desktop_sdk_callback';
  url: string;
  events: string[];
}

export interface ValidCreateBot {
  meetingUrl: string;
  meeting: { platform: string; meetingId: string };
  /** `local://…`: the simulator joins and streams the fixture. */
  local: boolean;
  botName: string;
  audioMixedRaw: boolean;
  audioSeparateRaw: boolean;
  realtimeEndpoints: RealtimeEndpointRequest[];
  /** recording_config as received (echoed in the bot object). */
  recordingConfig: Record<string, unknown>;
  automaticAudioOutput: { mp3: Buffer; raw: unknown } | null;
  metadata: Record<string, string | null>;
}

const REQUIRED = 'This field is required.';
const DEFAULT_BOT_NAME = 'Meeting Notetaker';
const MAX_BOT_NAME = 100;
const KNOWN_EVENTS: ReadonlySet<string> = new Set(RECALL_REALTIME_EVENTS);
const ENDPOINT_TYPES = ['websocket', 'webhook', 'desktop_sdk_callback'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function choiceError(value: unknown): string {
  return `"${String(value).slice(0, 100)}" is not a valid choice.`;
}

const PLATFORM_HOSTS: Array<[RegExp, string]> = [
  [/(^|\.)zoom\.us$/, 'zoom'],
  [/^meet\.google\.com$/, 'google_meet'],
  [/(^|\.)teams\.(microsoft|live)\.com$/, 'microsoft_teams'],
  [/(^|\.)webex\.com$/, 'webex'],
  [/(^|\.)slack\.com$/, 'slack_huddles'],
  [/(^|\.)gotomeet(ing)?\.(me|com)$/, 'goto_meeting'],
];

function parseMeetingUrl(value: string): { platform: string; meetingId: string; local: boolean } | undefined {
  if (value.startsWith('local://')) {
    const meetingId = value.slice('local://'.length).replace(/\/+$/, '');
    return meetingId === '' ? undefined : { platform: 'local', meetingId, local: true };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const match = PLATFORM_HOSTS.find(([pattern]) => pattern.test(url.hostname));
  if (!match) return undefined;
  return { platform: match[1], meetingId: url.pathname.replace(/^\/+/, '') || url.hostname, local: false };
}

/** Strict base64 MP3 (shared by automatic_audio_output and Output Audio). */
function validateMp3(data: unknown): { ok: true; mp3: Buffer } | { ok: false; errors: FieldErrors } {
  if (!isObject(data)) return { ok: false, errors: { non_field_errors: ['Expected an object.'] } };
  const errors: FieldErrors = {};
  if (data.kind === undefined) errors.kind = [REQUIRED];
  else if (data.kind !== 'mp3') errors.kind = [choiceError(data.kind)];
  let mp3: Buffer | undefined;
  if (data.b64_data === undefined) errors.b64_data = [REQUIRED];
  else if (typeof data.b64_data !== 'string') errors.b64_data = ['Not a valid string.'];
  else if (data.b64_data.length < 1 || data.b64_data.length > RECALL_MAX_OUTPUT_AUDIO_B64_CHARS) {
    errors.b64_data = [
      `Ensure this field has between 1 and ${RECALL_MAX_OUTPUT_AUDIO_B64_CHARS} characters.`,
    ];
  } else {
    mp3 = decodeStrictBase64(data.b64_data);
    if (mp3 === undefined) errors.b64_data = ['Data must be encoded in standard base64.'];
    else if (!looksLikeMp3(mp3)) errors.b64_data = ['Data is not MP3 audio.'];
  }
  if (Object.keys(errors).length > 0 || mp3 === undefined) return { ok: false, errors };
  return { ok: true, mp3 };
}

export function validateOutputAudio(body: unknown): Validated<Buffer> {
  const result = validateMp3(body);
  return result.ok ? { ok: true, value: result.mp3 } : result;
}

function validateEndpoints(value: unknown): Validated<RealtimeEndpointRequest[]> {
  if (!Array.isArray(value))
    return { ok: false, errors: { non_field_errors: ['Expected a list of items.'] } };
  let failed = false;
  const endpoints: RealtimeEndpointRequest[] = [];
  const itemErrors: FieldErrors[] = value.map((item) => {
    const errors: FieldErrors = {};
    if (!isObject(item)) {
      failed = true;
      return { non_field_errors: ['Expected an object.'] };
    }
    const type = item.type;
    if (type === undefined) errors.type = [REQUIRED];
    else if (!ENDPOINT_TYPES.includes(type as (typeof ENDPOINT_TYPES)[number]))
      errors.type = [choiceError(type)];
    if (item.url === undefined) errors.url = [REQUIRED];
    else if (typeof item.url !== 'string') errors.url = ['Not a valid string.'];
    else {
      let protocol = '';
      try {
        protocol = new URL(item.url).protocol;
      } catch {
        errors.url = ['Enter a valid URL.'];
      }
      if (!errors.url && type === 'websocket' && protocol !== 'ws:' && protocol !== 'wss:') {
        errors.url = ['Websocket realtime endpoint URL must start with ws:// or wss://.'];
      }
      if (!errors.url && type === 'webhook' && protocol !== 'http:' && protocol !== 'https:') {
        errors.url = ['Webhook realtime endpoint URL must start with http:// or https://.'];
      }
    }
    if (item.events === undefined) errors.events = [REQUIRED];
    else if (!Array.isArray(item.events)) errors.events = ['Expected a list of items.'];
    else {
      const bad = item.events.find((event) => typeof event !== 'string' || !KNOWN_EVENTS.has(event));
      if (bad !== undefined) errors.events = [choiceError(bad)];
    }
    if (Object.keys(errors).length > 0) {
      failed = true;
      return errors;
    }
    endpoints.push({
      type: type as RealtimeEndpointRequest['type'],
      url: item.url as string,
      events: [...new Set(item.events as string[])],
    });
    return {};
  });
  return failed
    ? { ok: false, errors: itemErrors as unknown as FieldErrors }
    : { ok: true, value: endpoints };
}

export function validateCreateBot(body: unknown): Validated<ValidCreateBot> {
  if (!isObject(body))
    return { ok: false, errors: { non_field_errors: ['Invalid data. Expected a dictionary.'] } };
  const errors: FieldErrors = {};

  let meeting: ReturnType<typeof parseMeetingUrl>;
  if (body.meeting_url === undefined || body.meeting_url === null || body.meeting_url === '') {
    errors.meeting_url = [REQUIRED];
  } else if (typeof body.meeting_url !== 'string') {
    errors.meeting_url = ['Not a valid string.'];
  } else {
    meeting = parseMeetingUrl(body.meeting_url);
    if (!meeting)
      errors.meeting_url = ['Invalid meeting URL: not a supported meeting platform (or local://<id>).'];
  }

  let botName = DEFAULT_BOT_NAME;
  if (body.bot_name !== undefined && body.bot_name !== null) {
    if (typeof body.bot_name !== 'string' || body.bot_name.trim() === '')
      errors.bot_name = ['Not a valid string.'];
    else if (body.bot_name.length > MAX_BOT_NAME) {
      errors.bot_name = [`Ensure this field has no more than ${MAX_BOT_NAME} characters.`];
    } else botName = body.bot_name;
  }

  let recordingConfig: Record<string, unknown> = {};
  let endpoints: RealtimeEndpointRequest[] = [];
  if (body.recording_config !== undefined && body.recording_config !== null) {
    if (!isObject(body.recording_config)) {
      errors.recording_config = { non_field_errors: ['Invalid data. Expected a dictionary.'] };
    } else {
      recordingConfig = body.recording_config;
      const configErrors: FieldErrors = {};
      for (const artifact of ['audio_mixed_raw', 'audio_separate_raw'] as const) {
        const value = recordingConfig[artifact];
        if (value !== undefined && value !== null && !isObject(value)) {
          configErrors[artifact] = { non_field_errors: ['Invalid data. Expected a dictionary.'] };
        }
      }
      const realtime = recordingConfig.realtime_endpoints;
      if (realtime !== undefined && realtime !== null) {
        const result = validateEndpoints(realtime);
        if (result.ok) endpoints = result.value;
        else configErrors.realtime_endpoints = result.errors;
      }
      if (Object.keys(configErrors).length > 0) errors.recording_config = configErrors;
    }
  }

  let automaticAudioOutput: ValidCreateBot['automaticAudioOutput'] = null;
  const aao = body.automatic_audio_output;
  if (aao !== undefined && aao !== null) {
    if (!isObject(aao) || !isObject(aao.in_call_recording)) {
      errors.automatic_audio_output = { in_call_recording: [REQUIRED] };
    } else {
      const result = validateMp3(aao.in_call_recording.data);
      if (result.ok) automaticAudioOutput = { mp3: result.mp3, raw: aao };
      else errors.automatic_audio_output = { in_call_recording: { data: result.errors } };
    }
  }

  const metadata: Record<string, string | null> = {};
  if (body.metadata !== undefined && body.metadata !== null) {
    if (!isObject(body.metadata)) errors.metadata = ['Expected a dictionary of items.'];
    else {
      for (const [key, value] of Object.entries(body.metadata)) {
        if (value !== null && typeof value !== 'string') {
          errors.metadata = [`Value of "${key.slice(0, 50)}" must be a string or null.`];
          break;
        }
        metadata[key] = value;
      }
    }
  }

  if (Object.keys(errors).length > 0 || !meeting) return { ok: false, errors };
  return {
    ok: true,
    value: {
      meetingUrl: body.meeting_url as string,
      meeting: { platform: meeting.platform, meetingId: meeting.meetingId },
      local: meeting.local,
      botName,
      audioMixedRaw: isObject(recordingConfig.audio_mixed_raw),
      audioSeparateRaw: isObject(recordingConfig.audio_separate_raw),
      realtimeEndpoints: endpoints,
      recordingConfig,
      automaticAudioOutput,
      metadata,
    },
  };
}
