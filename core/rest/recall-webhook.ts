/**
 * `POST /webhooks/recall`: Recall's bot status webhooks (sent through Svix) become meeting
 * statuses and `status` events to the meeting's subscribers.
 *
 * - The Svix signature over the raw body is checked first (core/recall/webhook-signature.ts,
 *   5-minute replay window); a bad one changes nothing and answers 401.
 * - Both payload styles are read: `{ event: "bot.status_change", data: { bot_id, status: { code } } }`
 *   and the per-status style `{ event: "bot.<code>", data: { bot: { id }, data: { code } } }`.
 * - Codes are an open set: only the ones in RECALL_STATUS_TO_MEETING change anything.
 * - Statuses only move forward (joining → live/paused → disconnecting → ended/failed), with a
 *   conditional write, so a late or redelivered webhook never moves a meeting back.
 * - Unknown bots and events are acknowledged (2xx), so Svix does not retry them for a day.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { ParleyError } from '../errors';
import { changeStatus, statusesBefore } from '../meetings/lifecycle';
import type { MeetingStatus } from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import type { PipelineEvent } from '../pipeline/events';
import { verifySvixSignature } from '../recall/webhook-signature';
import { FieldValidationError, UnavailableError } from './errors';
import { RecallWebhookSchema } from './schemas';

/**
 * Recall status → meeting status. When the bot has left (`call_ended`, `done`) a meeting that
 * was transcribing becomes `disconnecting`: the audio gateway then finalizes the last words
 * and marks it `ended`, so `ended` always comes after the last final. A meeting that never
 * got audio goes straight to `ended` (see `targetFor`).
 */
export const RECALL_STATUS_TO_MEETING: Readonly<Record<string, MeetingStatus>> = {
  joining_call: 'joining',
  in_call_recording: 'live',
  call_ended: 'disconnecting',
  done: 'disconnecting',
  fatal: 'failed',
};

/** `disconnecting` only makes sense for a meeting the audio gateway is transcribing. */
function targetFor(mapped: MeetingStatus, current: MeetingStatus): MeetingStatus {
  return mapped === 'disconnecting' && current === 'joining' ? 'ended' : mapped;
}

export interface RecallWebhookDeps {
  /** The workspace's `whsec_…` secret; undefined when not configured. */
  secret: string | undefined;
  meetings: Pick<MeetingRepository, 'findByBot' | 'setStatusIf'>;
  publish: (event: PipelineEvent) => Promise<void>;
  logger: Pick<Logger, 'info' | 'warn'>;
  nowSeconds?: () => number;
}

export interface WebhookOutcome {
  received: true;
  applied: boolean;
  status?: MeetingStatus;
}

/** Pulls (botId, code) out of either payload style; undefined for other events. */
function statusChangeOf(body: unknown): { botId: string; code: string; subCode?: string | null } | undefined {
  const parsed = RecallWebhookSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(body)';
    throw new FieldValidationError(field, `${field}: ${issue?.message ?? 'invalid'}`);
  }
  const { event, data } = parsed.data;
  if (event === 'bot.status_change') {
    if (!data.bot_id || !data.status) {
      throw new FieldValidationError(
        'data',
        'data: bot.status_change needs data.bot_id and data.status.code',
      );
    }
    return { botId: data.bot_id, code: data.status.code, subCode: data.status.sub_code };
  }
  if (event.startsWith('bot.')) {
    const bot = data.bot as { id?: unknown } | undefined;
    const inner = data.data as { code?: unknown; sub_code?: unknown } | undefined;
    if (typeof bot?.id === 'string' && typeof inner?.code === 'string') {
      return {
        botId: bot.id,
        code: inner.code,
        subCode: typeof inner.sub_code === 'string' ? inner.sub_code : null,
      };
    }
  }
  return undefined;
}

export async function handleRecallWebhook(
  request: { headers: Record<string, string | undefined>; rawBody: string },
  deps: RecallWebhookDeps,
): Promise<WebhookOutcome> {
  if (!deps.secret) {
    throw new UnavailableError('Recall webhooks are not configured (RECALL_WEBHOOK_SECRET)');
  }
  const valid = verifySvixSignature(deps.secret, request.headers, request.rawBody, {
    nowSeconds: deps.nowSeconds?.(),
  });
  if (!valid) {
    deps.logger.warn('Recall webhook refused: bad or stale signature', {
      webhookId: request.headers['webhook-id'] ?? request.headers['svix-id'],
    });
    throw new ParleyError('INVALID_SIGNATURE', 'The webhook signature is missing, invalid or too old', 401);
  }
  let body: unknown;
  try {
    body = JSON.parse(request.rawBody);
  } catch {
    throw new ParleyError('BAD_JSON', 'The body is not valid JSON', 400);
  }
  const change = statusChangeOf(body);
  if (!change) return { received: true, applied: false };
  const mapped = RECALL_STATUS_TO_MEETING[change.code];
  if (!mapped) return { received: true, applied: false };
  const meeting = await deps.meetings.findByBot(change.botId);
  if (!meeting) {
    deps.logger.info('Recall webhook for a bot Parley does not know', {
      botId: change.botId,
      code: change.code,
    });
    return { received: true, applied: false };
  }
  const target = targetFor(mapped, meeting.status);
  const applied = await changeStatus(deps, meeting.meetingId, target, {
    from: statusesBefore(target),
    reason: `recall:${change.code}${change.subCode ? `:${change.subCode}` : ''}`,
  });
  if (!applied) return { received: true, applied: false, status: meeting.status };
  deps.logger.info('meeting status from Recall', {
    meetingId: meeting.meetingId,
    code: change.code,
    status: target,
  });
  return { received: true, applied: true, status: target };
}
