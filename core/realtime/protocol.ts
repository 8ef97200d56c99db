/**
 * The client protocol of the realtime API (JSON text frames over API Gateway WebSockets).
 * Client messages are validated by ./client-messages.ts; server messages are built here. docs/protocol.md lists
 * every message and error code.
 */
import type { $ZodError } from 'zod/v4/core';
import type { BriefingDelta, RollingBriefing } from '../briefing/rolling-model';
import { ERROR_CODES, type ErrorCode } from '../error-codes';
import type { MeetingStatus } from '../meetings/model';
import type { JobMessage, Segment } from '../pipeline/events';

export type AlertState = 'provisional' | 'confirmed' | 'withdrawn';

/** Every `code` an `error` message may carry: the one set of core/error-codes.ts. */
export { ERROR_CODES, type ErrorCode } from '../error-codes';

/** Largest client frame the routes accept (API Gateway itself allows 128 KB). */
export const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;

/**
 * The route keys of the WebSocket API (`action` of a client message). Their schemas are in
 * ./client-messages.ts (the routes that validate a message load it; `$connect`,
 * `$disconnect` and `$default` do not).
 */
export const ROUTE_ACTIONS = [
  'subscribe',
  'unsubscribe',
  'command',
  'subscribe_job',
  'get_state',
  'ping',
] as const;
export type RouteAction = (typeof ROUTE_ACTIONS)[number];
export type { CommandMessage, SubscribeMessage } from './client-messages';

// ----- server → client -----

export type ServerMessage =
  | { type: 'subscribed'; meetingId: string; status: MeetingStatus; lastSeq: number }
  | { type: 'replay_complete'; meetingId: string; lastSeq: number; count: number }
  | { type: 'unsubscribed'; meetingId: string }
  | { type: 'transcript'; meetingId: string; transcript: Omit<Segment, 'revision'> & { revision?: number } }
  | {
      type: 'keyword_alert';
      meetingId: string;
      keyword: string;
      segmentId: string;
      seq: number;
      text: string;
      timestamp: string;
      /** One id per occurrence (`<segmentId>:<keyword>:<occurrence>`), shared by all its states. */
      alertId: string;
      /** Which occurrence of the keyword in the line (0 = first). */
      occurrence: number;
      /**
       * `provisional`: raised from an interim; its final `confirmed` or `withdrawn` it. An
       * occurrence first seen in its final arrives `confirmed` only (docs/protocol.md).
       */
      state: AlertState;
    }
  | {
      /** The rolling briefing changed (docs/protocol.md "Rolling briefing"). */
      type: 'briefing_update';
      meetingId: string;
      briefing: RollingBriefing;
      /** What is new since the previous update (everything, in the first). */
      added: BriefingDelta;
    }
  | { type: 'status'; meetingId: string; status: MeetingStatus; timestamp: string }
  /** Interims with a seq below `beforeSeq` that are not final never will be: drop them. */
  | { type: 'interim_dropped'; meetingId: string; beforeSeq: number }
  | { type: 'command_ack'; meetingId: string; command: string; status: MeetingStatus; requestId?: string }
  | { type: 'state'; meetingId?: string; jobId?: string; state: Record<string, unknown> }
  | { type: 'job_subscribed'; jobId: string }
  | {
      type: 'progress_update' | 'stage_change' | 'time_estimate' | 'complete';
      jobId: string;
      payload: Record<string, unknown>;
    }
  | {
      /** A file job failed (`code` from JOB_ERROR_CODES in core/jobs/model.ts). */
      type: 'error';
      jobId: string;
      code: string;
      message: string;
      timestamp: string;
      payload: Record<string, unknown>;
      action?: never;
      requestId?: never;
    }
  /**
   * Several messages in one frame, to a client that subscribed with `batch: true`: handle them
   * in order, as if each had come alone (docs/protocol.md "Batched frames").
   */
  | { type: 'batch'; messages: ServerMessage[] }
  /** From API Gateway itself (a MOCK route): when it received the ping, ms since the epoch. */
  | { type: 'pong'; serverTime: number }
  | {
      type: 'error';
      code: ErrorCode;
      message: string;
      timestamp: string;
      action?: string;
      requestId?: string;
    };

export function errorMessage(
  code: ErrorCode,
  message: string = ERROR_CODES[code].description,
  extra: { action?: string; requestId?: string } = {},
): ServerMessage {
  return { type: 'error', code, message, timestamp: new Date().toISOString(), ...extra };
}

/** Human-readable summary of a zod failure: the first few fields and what is wrong with them. */
export function describeZodError(error: $ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const field = issue.path.join('.') || '(message)';
      return issue.code === 'unrecognized_keys'
        ? `unknown field(s) ${issue.keys.join(', ')}`
        : `${field}: ${issue.message}`;
    })
    .join('; ');
}

/** The client message of one file-job message (docs/protocol.md "File jobs"). */
export function jobServerMessage(jobId: string, m: JobMessage): ServerMessage {
  if (m.type === 'error') {
    const code = typeof m.payload.code === 'string' ? m.payload.code : 'INTERNAL_ERROR';
    const message = typeof m.payload.message === 'string' ? m.payload.message : 'The job failed';
    const timestamp =
      typeof m.payload.timestamp === 'string' ? m.payload.timestamp : new Date().toISOString();
    return { type: 'error', jobId, code, message, timestamp, payload: m.payload };
  }
  return { type: m.type, jobId, payload: m.payload };
}
