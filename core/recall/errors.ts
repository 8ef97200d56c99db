/**
 * Errors raised by the Recall REST client. All extend the shared typed errors in core/errors.ts,
 * so REST handlers map them like any other Parley error. Messages are meant for a person and
 * never carry the API key or realtime endpoint tokens.
 */
import { NotFoundError, UpstreamError } from '../errors';

export const RECALL_ERROR_CODES = [
  /** Recall refused the request as invalid (HTTP 400, 402, 403 WAF, 405, 413, 422 …). */
  'RECALL_BAD_REQUEST',
  /** Recall rejected the API key (HTTP 401): wrong key, or a key from another region. */
  'RECALL_UNAUTHORIZED',
  /** The bot does not exist in this region (HTTP 404); raised as a NotFoundError. */
  'RECALL_BOT_NOT_FOUND',
  /** The bot has not joined yet or has already left (400 cannot_command_*_bot). */
  'RECALL_BOT_NOT_IN_CALL',
  /** HTTP 409 that retrying did not resolve. */
  'RECALL_CONFLICT',
  /** HTTP 429 after every retry, or a Retry-After longer than the client waits. */
  'RECALL_RATE_LIMITED',
  /** HTTP 5xx after every retry, a timeout, or a network failure. */
  'RECALL_UNAVAILABLE',
  /** Anything else: an unexpected status or a response Parley cannot read. */
  'RECALL_ERROR',
] as const;
export type RecallErrorCode = (typeof RECALL_ERROR_CODES)[number];

export class RecallApiError extends UpstreamError {
  /** HTTP status Recall answered with; null for timeouts and network failures. */
  readonly httpStatus: number | null;
  /** Recall's own error code from the body (`cannot_command_completed_bot` …), when present. */
  readonly recallCode: string | null;
  constructor(
    code: Exclude<RecallErrorCode, 'RECALL_BOT_NOT_FOUND'>,
    message: string,
    details: { httpStatus?: number | null; recallCode?: string | null; cause?: unknown } = {},
  ) {
    super(code, message, { cause: details.cause });
    this.name = 'RecallApiError';
    this.httpStatus = details.httpStatus ?? null;
    this.recallCode = details.recallCode ?? null;
  }
}

export function recallBotNotFound(botId: string): NotFoundError {
  return new NotFoundError(`Recall has no bot ${botId} in this region`, 'RECALL_BOT_NOT_FOUND');
}
