/**
 * Publishes pipeline events to the transcript FIFO queue: MessageGroupId = meetingId, a
 * deduplication id per event, SendMessageBatch under a small time window, at most one batch
 * in flight per meeting (so order within a meeting holds), retries with backoff on
 * throttling and transient errors. `flush()` resolves once everything queued is sent.
 *
 * Finals and status events are never dropped for a transient error: they are held and retried
 * (backoff capped at 2 s) until SQS takes them. Only an interim (superseded by its final anyway)
 * is given up after `maxAttempts`. While more than `highWaterMark` events are held the
 * publisher reports backpressure (`onBackpressure(true)`), and the audio gateway stops reading
 * Recall's sockets and taking new meetings until it clears.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { backoffDelay, sleep } from '../backoff';
import { deduplicationId, eventGroup, type PipelineEvent } from './events';

const MAX_BATCH_ENTRIES = 10;
/** Kept well under SQS's batch payload limit. */
const MAX_BATCH_BYTES = 240 * 1024;

interface Pending {
  group: string;
  entry: Omit<SendMessageBatchRequestEntry, 'Id'>;
  bytes: number;
  attempts: number;
  /** An interim: may be given up after maxAttempts. */
  droppable: boolean;
}

export interface PublisherOptions {
  sqs: SQSClient;
  queueUrl: string;
  logger: Logger;
  /**
   * While a batch is in flight, how long an event may wait for others to share its batch
   * (default 2 ms). An event published while nothing is in flight goes at once (after the
   * events published in the same turn of the event loop): at live rates batches are mostly
   * single events, and each ms is added latency (docs/benchmarks.md, "Pipeline overhead").
   */
  windowMs?: number;
  maxInFlight?: number;
  /** Attempts after which an interim is given up (finals and status events never are). */
  maxAttempts?: number;
  /** Events held (queued or in flight) above which backpressure is reported (default 5,000). */
  highWaterMark?: number;
  /** Called with true when held events pass highWaterMark, false when they fall to half of it. */
  onBackpressure?: (on: boolean) => void;
}

export class EventPublisher {
  private pending: Pending[] = [];
  private readonly busyGroups = new Set<string>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private idleWaiters: (() => void)[] = [];
  private backpressure = false;
  readonly stats = { published: 0, batches: 0, retries: 0, droppedInterims: 0, rejected: 0 };

  constructor(private readonly opts: PublisherOptions) {}

  publish(event: PipelineEvent): void {
    const body = JSON.stringify(event);
    const group = eventGroup(event);
    this.pending.push({
      group,
      bytes: Buffer.byteLength(body),
      attempts: 0,
      droppable: event.type === 'transcript' && !event.segment.isFinal,
      entry: {
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: deduplicationId(event),
      },
    });
    if (this.pending.length >= MAX_BATCH_ENTRIES) this.pump();
    else if (this.inFlight === 0) this.immediate ??= setImmediate(() => this.pump());
    else this.timer ??= setTimeout(() => this.pump(), this.opts.windowMs ?? 2);
    this.checkBackpressure();
  }

  /** Whether more than highWaterMark events are held now. */
  get backlogged(): boolean {
    return this.backpressure;
  }

  private checkBackpressure(): void {
    const high = this.opts.highWaterMark ?? 5_000;
    const held = this.queued;
    if (!this.backpressure && held > high) {
      this.backpressure = true;
      this.opts.logger.error('event queue backlogged: holding events and applying backpressure', { held });
      this.opts.onBackpressure?.(true);
    } else if (this.backpressure && held <= high / 2) {
      this.backpressure = false;
      this.opts.logger.info('event queue backlog cleared', { held });
      this.opts.onBackpressure?.(false);
    }
  }

  get queued(): number {
    return this.pending.length + this.inFlight;
  }

  /** Resolves when nothing is queued or in flight. */
  flush(): Promise<void> {
    this.pump();
    if (this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    while (this.inFlight < (this.opts.maxInFlight ?? 16)) {
      const batch = this.takeBatch();
      if (batch.length === 0) break;
      void this.send(batch);
    }
    if (this.queued === 0) this.notifyIdle();
  }

  /** Up to 10 entries, oldest first, never from a group that has a batch in flight. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const blocked = new Set(this.busyGroups);
    let bytes = 0;
    const rest: Pending[] = [];
    for (const p of this.pending) {
      const fits = batch.length < MAX_BATCH_ENTRIES && bytes + p.bytes <= MAX_BATCH_BYTES;
      if (!blocked.has(p.group) && fits) {
        batch.push(p);
        bytes += p.bytes;
      } else {
        blocked.add(p.group); // later events of this group wait behind this one
        rest.push(p);
      }
    }
    this.pending = rest;
    for (const p of batch) this.busyGroups.add(p.group);
    return batch;
  }

  private async send(batch: Pending[]): Promise<void> {
    this.inFlight += batch.length;
    let retry: Pending[] = [];
    try {
      const out = await this.opts.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.opts.queueUrl,
          Entries: batch.map((p, i) => ({ Id: String(i), ...p.entry })),
        }),
      );
      this.stats.batches++;
      for (const failed of out.Failed ?? []) {
        const p = batch[Number(failed.Id)];
        if (!p) continue;
        if (failed.SenderFault) {
          // The message itself is invalid: no retry can succeed. A bug, so loud.
          this.stats.rejected++;
          this.opts.logger.error('event rejected by SQS', {
            code: failed.Code,
            message: failed.Message,
            group: p.group,
          });
        } else {
          retry.push(p);
        }
      }
      this.stats.published += batch.length - (out.Failed?.length ?? 0);
    } catch (error) {
      this.opts.logger.warn('SendMessageBatch failed; retrying', {
        error: String(error),
        entries: batch.length,
      });
      retry = batch;
    }
    retry = retry.filter((p) => {
      p.attempts++;
      if (!p.droppable || p.attempts < (this.opts.maxAttempts ?? 8)) return true;
      this.stats.droppedInterims++;
      this.opts.logger.warn('interim given up after retries', { group: p.group, attempts: p.attempts });
      return false;
    });
    if (retry.length > 0) {
      this.stats.retries += retry.length;
      const attempts = Math.max(...retry.map((p) => p.attempts));
      await sleep(backoffDelay(attempts + 1));
      this.pending = [...retry, ...this.pending];
    }
    for (const p of batch) this.busyGroups.delete(p.group);
    this.inFlight -= batch.length;
    this.pump();
    this.checkBackpressure();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
