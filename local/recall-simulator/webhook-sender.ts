/**
 * Bot status webhooks as Recall sends them through Svix
 * (https://docs.recall.ai/docs/bot-status-change-events): `bot.status_change` JSON, signed with
 * the workspace secret (core/recall/webhook-signature.ts), delivered in order, 15 s timeout.
 * Svix retries for a day; the simulator retries once after 5 s and then gives up (logged).
 */
import { randomUUID } from 'node:crypto';
import { retry } from '../../core/backoff';
import type { RecallLogger } from '../../core/recall/client';
import type { RecallStatusChange } from '../../core/recall/rest-schema';
import { svixHeaders } from '../../core/recall/webhook-signature';

const TIMEOUT_MS = 15_000;
const RETRY_DELAY_MS = 5_000;
const ATTEMPTS = 2;

export interface StatusWebhookBody {
  event: 'bot.status_change';
  data: {
    bot_id: string;
    status: {
      code: string;
      created_at: string;
      sub_code: string | null;
      message: string | null;
      recording_id?: string;
    };
  };
}

export class WebhookSender {
  private chain: Promise<void> = Promise.resolve();
  /** Aborts deliveries in flight and the wait between attempts. */
  private readonly stopping = new AbortController();
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly logger: RecallLogger,
  ) {}

  statusChange(botId: string, status: RecallStatusChange, recordingId: string | null): void {
    const body: StatusWebhookBody = {
      event: 'bot.status_change',
      data: {
        bot_id: botId,
        status: {
          code: status.code,
          created_at: status.created_at,
          sub_code: status.sub_code ?? null,
          message: status.message ?? null,
          ...(recordingId ? { recording_id: recordingId } : {}),
        },
      },
    };
    const text = JSON.stringify(body);
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    this.chain = this.chain.then(() => this.deliver(id, text, botId, status.code));
  }

  /** Waits for queued deliveries (tests). */
  idle(): Promise<void> {
    return this.chain;
  }

  stop(): void {
    this.stopped = true;
    this.stopping.abort();
  }

  /** Up to ATTEMPTS posts, RETRY_DELAY_MS apart; every failure is logged, the last one ends it. */
  private async deliver(id: string, body: string, botId: string, code: string): Promise<void> {
    if (this.stopped) return;
    const post = async (attempt: number) => {
      let status: number | undefined;
      try {
        // Signed per attempt: a fresh timestamp, the same message id (as Svix does).
        const headers = svixHeaders(this.secret, id, Math.floor(Date.now() / 1000), body);
        const response = await fetch(this.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...headers },
          body,
          signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(TIMEOUT_MS)]),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return;
        status = response.status;
      } catch (error) {
        if (!this.stopped) {
          this.logger.warn('Recall simulator: status webhook failed', {
            botId,
            code,
            attempt,
            error: (error as Error).message,
          });
        }
        throw error;
      }
      this.logger.warn('Recall simulator: status webhook refused', { botId, code, status, attempt });
      throw new Error(`status webhook refused with HTTP ${status}`);
    };
    await retry(post, {
      maxAttempts: ATTEMPTS,
      baseMs: RETRY_DELAY_MS,
      maxDelayMs: RETRY_DELAY_MS,
      jitter: 'none',
      signal: this.stopping.signal,
    }).catch(() => undefined); // each failure is logged above; Svix would go on for a day
  }
}
