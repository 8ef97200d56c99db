/**
 * Shapes of the Recall REST API v1.11 calls Parley makes (https://docs.recall.ai/reference).
 * Request bodies are typed as Recall expects them; responses are validated loosely (only what
 * Parley reads is required, everything else passes through).
 */
// zod/mini: the `command` WebSocket route calls Recall, so this is on its cold path.
import * as z from 'zod/mini';
import type { RecallRealtimeEventName } from './realtime-schema';

/** Bot status codes Recall documents. The set is open: treat unknown codes as "still going". */
export const RECALL_BOT_STATUS_CODES = [
  'ready',
  'joining_call',
  'in_waiting_room',
  'in_call_not_recording',
  'recording_permission_allowed',
  'recording_permission_denied',
  'in_call_recording',
  'recording_done',
  'call_ended',
  'done',
  'fatal',
  'media_expired',
  'analysis_done',
  'analysis_failed',
] as const;
export type KnownRecallBotStatusCode = (typeof RECALL_BOT_STATUS_CODES)[number];
export type RecallBotStatusCode = KnownRecallBotStatusCode | (string & {});

/** Statuses after which the bot never comes back into the call. */
export const RECALL_TERMINAL_STATUS_CODES = ['call_ended', 'recording_done', 'done', 'fatal'] as const;

export interface RecallRealtimeEndpointConfig {
  type: 'websocket';
  /** ws:// or wss://, used exactly as given (put the per-bot token in the query string). */
  url: string;
  events: RecallRealtimeEventName[];
}

export interface RecallMp3Data {
  kind: 'mp3';
  /** Standard-alphabet base64, 1 to 1,835,008 characters. */
  b64_data: string;
}

/** `POST /api/v1/bot/` body (the subset Parley sends). */
export interface CreateBotRequest {
  meeting_url: string;
  bot_name?: string;
  recording_config: {
    audio_mixed_raw?: Record<string, never>;
    audio_separate_raw?: Record<string, never>;
    realtime_endpoints: RecallRealtimeEndpointConfig[];
  };
  /** Required for Output Audio to work later: https://docs.recall.ai/docs/output-audio-in-meetings */
  automatic_audio_output?: { in_call_recording: { data: RecallMp3Data } };
  metadata?: Record<string, string>;
}

/** `POST /api/v1/bot/{id}/output_audio/` body. */
export type OutputAudioRequest = RecallMp3Data;

/** Longest `b64_data` Recall accepts on Output Audio (documented limit). */
export const RECALL_MAX_OUTPUT_AUDIO_B64_CHARS = 1_835_008;

export const recallStatusChangeSchema = z.looseObject({
  code: z.string().check(z.minLength(1)),
  message: z.nullish(z.string()),
  sub_code: z.nullish(z.string()),
  created_at: z.string(),
});
export type RecallStatusChange = z.output<typeof recallStatusChangeSchema>;

/** The Bot object (Create Bot / Retrieve Bot responses). */
export const recallBotSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  bot_name: z.nullish(z.string()),
  meeting_url: z.optional(z.unknown()),
  status_changes: z._default(z.array(recallStatusChangeSchema), []),
  recordings: z.optional(z.array(z.unknown())),
  metadata: z.pipe(
    z.nullish(z.record(z.string(), z.unknown())),
    z.transform((value: Record<string, unknown> | null | undefined) => value ?? {}),
  ),
});
export type RecallBot = z.output<typeof recallBotSchema>;

/** The bot's latest status code, or null before its first status change. */
export function currentBotStatus(bot: Pick<RecallBot, 'status_changes'>): RecallBotStatusCode | null {
  return bot.status_changes.at(-1)?.code ?? null;
}
