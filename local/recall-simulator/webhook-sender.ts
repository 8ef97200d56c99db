/**
 * Bot status webhooks as Recall sends them through Svix
 * (https://docs.recall.ai/docs/bot-status-change-events): `bot.status_change` JSON, signed with
 * the workspace secret (core/recall/webhook-signature.ts), delivered in order, 15 s timeout.
 * Svix retries for a day; the simulator retries once after 5 s and then gives up (logged).
 */
import { randomUUID } from 'node:crypto';
import type { RecallLogger } from '../../core/recall/client';
import type { RecallStatusChange } from '../../core/recall/rest-schema';
import { svixHeaders } from '../../core/recall/webhook-signature';

const TIMEOUT_MS = 15_000;
const RETRY_DELAY_MS = 5_000;

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
  private readonly controllers = new Set<AbortController>();
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
    for (const controller of this.controllers) controller.abort();
  }

  private async deliver(id: string, body: string, botId: string, code: string): Promise<void> {
    for (let attempt = 1; attempt <= 2 && !this.stopped; attempt++) {
      if (attempt > 1 && !(await this.wait(RETRY_DELAY_MS))) return;
      const controller = new AbortController();
      this.controllers.add(controller);
      const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
      try {
        // Signed per attempt: a fresh timestamp, the same message id (as Svix does).
        const headers = svixHeaders(this.secret, id, Math.floor(Date.now() / 1000), body);
        const response = await fetch(this.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...headers },
          body,
          signal: controller.signal,
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return;
        this.logger.warn('Recall simulator: status webhook refused', {
          botId,
          code,
          status: response.status,
          attempt,
        });
      } catch (error) {
        if (this.stopped) return;
        this.logger.warn('Recall simulator: status webhook failed', {
          botId,
          code,
          attempt,
          error: (error as Error).message,
        });
      } finally {
        clearTimeout(timer);
        this.controllers.delete(controller);
      }
    }
  }

  private wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const controller = new AbortController();
      this.controllers.add(controller);
      const timer = setTimeout(() => {
        this.controllers.delete(controller);
        resolve(true);
      }, ms);
      controller.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        this.controllers.delete(controller);
        resolve(false);
      });
    });
  }
}
