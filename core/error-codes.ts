/**
 * The one closed set of error codes Parley sends to clients: REST bodies
 * (`{ "error": { "code" } }`), WebSocket `error` messages and the audio gateway use these
 * names and no others. docs/protocol.md and docs/rest-api.md list exactly this set (a unit
 * test checks it). `toClientError` is the one mapping from a thrown error to what a client
 * sees: internal codes and unexpected errors become INTERNAL_ERROR with a generic message,
 * and their detail goes to the logs only.
 */

import { ParleyError } from './errors';

export interface ErrorCodeInfo {
  /** HTTP status on REST; WebSocket replies carry the code only. */
  readonly status: number;
  readonly description: string;
}

export const ERROR_CODES = {
  BAD_JSON: {
    status: 400,
    description: 'The body or frame is not valid JSON (a frame must be a JSON object)',
  },
  INVALID_REQUEST: {
    status: 400,
    description: 'A REST body, query or path field is missing or invalid; `field` names it',
  },
  INVALID_MESSAGE: {
    status: 400,
    description: 'A field of a WebSocket message is missing or invalid; the message names it',
  },
  UNKNOWN_ACTION: { status: 400, description: 'The WebSocket `action` is missing or not one Parley knows' },
  INVALID_CURSOR: { status: 400, description: 'The paging cursor was not issued for this listing' },
  UNAUTHORIZED: { status: 401, description: 'Missing, invalid or expired token' },
  INVALID_SIGNATURE: { status: 401, description: 'The webhook signature is missing, wrong or too old' },
  FORBIDDEN: { status: 403, description: 'You may read this meeting but only its owner may do this' },
  NOT_FOUND: { status: 404, description: 'No such route or resource' },
  MEETING_NOT_FOUND: { status: 404, description: 'No such meeting, or it is not shared with you' },
  JOB_NOT_FOUND: { status: 404, description: 'No such job, or it is not yours' },
  RECALL_BOT_NOT_FOUND: { status: 404, description: 'Recall has no such bot in this region' },
  RECORDING_NOT_FOUND: {
    status: 404,
    description: 'The meeting has no recording (nothing was archived, or it expired)',
  },
  RECORDING_NOT_READY: {
    status: 409,
    description: 'The meeting is not over yet: its recording is assembled when it ends',
  },
  CONFLICT: { status: 409, description: 'The request conflicts with the current state' },
  INVALID_STATE: { status: 409, description: 'The meeting is not in a state that allows this' },
  MEETING_NOT_OVER: {
    status: 409,
    description: 'The meeting is still running: stop it and wait until it has ended, then delete it',
  },
  TOO_MANY_SHARES: { status: 409, description: 'The meeting is shared with as many users as allowed' },
  SPEECH_UNAVAILABLE: {
    status: 409,
    description: 'Speaking answers needs OpenAI text-to-speech, which is not configured',
  },
  BOT_NOT_IN_CALL: {
    status: 409,
    description: 'The meeting bot is not in the call (not joined yet, or already left)',
  },
  CONCURRENT_UPDATE: {
    status: 409,
    description: 'The meeting changed while it was being updated; try again',
  },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'The body is larger than the route accepts' },
  MESSAGE_TOO_LARGE: {
    status: 413,
    description: 'The WebSocket frame is larger than Parley accepts (16 KiB)',
  },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'The body must be application/json' },
  INTERNAL_ERROR: {
    status: 500,
    description: 'Something went wrong on our side (details are logged, never returned)',
  },
  UPSTREAM_ERROR: { status: 502, description: 'The meeting bot service refused a command; try again' },
  RECALL_BAD_REQUEST: { status: 502, description: 'Recall refused the request as invalid' },
  RECALL_UNAUTHORIZED: { status: 502, description: "Recall rejected Parley's API key" },
  RECALL_BOT_NOT_IN_CALL: {
    status: 502,
    description: 'The Recall bot has not joined yet or has already left',
  },
  RECALL_CONFLICT: { status: 502, description: 'Recall reported a conflict that retrying did not resolve' },
  RECALL_RATE_LIMITED: { status: 502, description: 'Recall is rate limiting Parley; try again later' },
  RECALL_UNAVAILABLE: { status: 502, description: 'Recall failed, timed out or could not be reached' },
  RECALL_ERROR: { status: 502, description: 'The meeting bot service (Recall.ai) failed' },
  AI_BAD_RESPONSE: { status: 502, description: 'The AI model returned an answer Parley cannot read' },
  AI_UNAVAILABLE: { status: 502, description: 'The AI service failed or timed out' },
  AI_REFUSED: { status: 502, description: 'The AI model refused to answer' },
  SPEECH_FAILED: {
    status: 502,
    description: 'Local text-to-speech (espeak-ng, ffmpeg) failed or is not installed',
  },
  UNAVAILABLE: { status: 503, description: 'A dependency is unreachable or a feature is not configured' },
  // File transcription jobs (core/jobs): REST answers and job `error` events.
  UPLOAD_INCOMPLETE: {
    status: 409,
    description: "The job's upload has not finished (a part or the object is missing)",
  },
  FILE_TOO_LARGE: { status: 413, description: 'The file is larger than 4 GiB' },
  MEDIA_TOO_LONG: { status: 413, description: 'The recording is longer than 4 hours' },
  UNSUPPORTED_MEDIA: { status: 415, description: 'The file is not audio or video Parley can read' },
  NO_AUDIO_TRACK: { status: 422, description: 'The file (a video) has no audio track' },
  EMPTY_MEDIA: { status: 422, description: 'The uploaded file is empty' },
  UPLOAD_MISMATCH: { status: 422, description: "The uploaded file's size differs from the declared size" },
  DECODE_FAILED: {
    status: 422,
    description: 'The file is truncated or corrupt; the transcript before the damage is kept',
  },
  TRANSCRIPTION_FAILED: { status: 502, description: 'The speech service failed repeatedly on this file' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

/** Codes of errors that are Parley's own fault: logged, never sent (clients get INTERNAL_ERROR). */
export const INTERNAL_ERROR_CODES = ['CONFIG_INVALID', 'JWKS_UNAVAILABLE', 'SPOOL_FAILED'] as const;
export type InternalErrorCode = (typeof INTERNAL_ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export interface ClientError {
  code: ErrorCode;
  status: number;
  message: string;
  field?: string;
  /** True when the client sees a generic INTERNAL_ERROR: log the original at error level. */
  internal: boolean;
}

export const INTERNAL_ERROR_MESSAGE = 'Something went wrong on our side; try again';

/**
 * What a client may see of a thrown error. Typed errors (`code` in the set) keep their code,
 * status and message (written for the caller); anything else is INTERNAL_ERROR.
 */
export function toClientError(error: unknown): ClientError {
  if (error instanceof ParleyError && isErrorCode(error.code)) {
    const field = (error as { field?: unknown }).field;
    return {
      code: error.code,
      status: error.status,
      message: error.message,
      ...(typeof field === 'string' ? { field } : {}),
      internal: false,
    };
  }
  return { code: 'INTERNAL_ERROR', status: 500, message: INTERNAL_ERROR_MESSAGE, internal: true };
}
