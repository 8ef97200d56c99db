/**
 * Error codes of the REST API and the one error body every route answers with:
 * `{ "error": { "code", "message", "field"? } }`. docs/rest-api.md lists them.
 */
import { ParleyError, ValidationError } from '../errors';

/** Every `error.code` a REST response may carry, with the HTTP status it comes with. */
export const REST_ERROR_CODES = {
  INVALID_REQUEST: {
    status: 400,
    description: 'A field of the body or query is missing or invalid (`field` names it)',
  },
  BAD_JSON: { status: 400, description: 'The body is not valid JSON' },
  INVALID_CURSOR: {
    status: 400,
    description: 'The paging cursor is not one this API issued for this listing',
  },
  UNAUTHORIZED: { status: 401, description: 'Missing, invalid or expired bearer token' },
  INVALID_SIGNATURE: { status: 401, description: 'The webhook signature is missing, wrong or too old' },
  FORBIDDEN: { status: 403, description: 'You may read this meeting but only its owner may do this' },
  NOT_FOUND: { status: 404, description: 'No such route' },
  MEETING_NOT_FOUND: { status: 404, description: 'No such meeting, or it is not shared with you' },
  INVALID_STATE: { status: 409, description: 'The meeting is not in a state that allows this' },
  RECORDING_NOT_FOUND: {
    status: 404,
    description: 'The meeting has no recording (nothing was archived, or it expired)',
  },
  RECORDING_NOT_READY: {
    status: 409,
    description: 'The meeting is not over yet: its recording is assembled when it ends',
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
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'The body must be application/json' },
  INTERNAL_ERROR: {
    status: 500,
    description: 'Something went wrong on our side (details are logged, never returned)',
  },
  UPSTREAM_ERROR: { status: 502, description: 'The meeting bot service refused a command; try again' },
  RECALL_ERROR: { status: 502, description: 'The meeting bot service (Recall.ai) failed' },
  AI_BAD_RESPONSE: { status: 502, description: 'The AI model returned an answer Parley cannot read' },
  AI_UNAVAILABLE: { status: 502, description: 'The AI service failed or timed out' },
  AI_REFUSED: { status: 502, description: 'The AI model refused to answer' },
  UNAVAILABLE: {
    status: 503,
    description: 'A dependency is unreachable (health check) or a feature is not configured',
  },
} as const;
export type RestErrorCode = keyof typeof REST_ERROR_CODES;

/** A 400 that names the offending field (`error.field`). */
export class FieldValidationError extends ValidationError {
  readonly field: string;
  constructor(field: string, message: string, code = 'INVALID_REQUEST') {
    super(message, code);
    this.name = 'FieldValidationError';
    this.field = field;
  }
}

/** A feature or dependency that is not there (503). */
export class UnavailableError extends ParleyError {
  constructor(message: string, code = 'UNAVAILABLE') {
    super(code, message, 503);
    this.name = 'UnavailableError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field !== undefined ? { field } : {}) } };
}
